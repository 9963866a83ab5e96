"""A tracker copied from its state, instead of by replaying its whole conversation.

`DialogueStateTracker.copy()` builds an empty tracker and replays every event of the
conversation into it. Rasa 3.6 copies the tracker before every action it runs (the processor's
temporary tracker) and for every form validation, so a 13-message registration replays its
growing history dozens of times (5% of the Rasa server's main thread under load,
docs/benchmark.md). Rasa's own rule is that a tracker's state "MUST be re-creatable by processing
all the events", so the replay's result is the tracker's current state: the same event objects
in a new list, copies of the slots, the same latest message and bot utterance, a copy of the
active loop (which validation edits in place), and what `init_copy` gives a new tracker (no
sender source, model or assistant id).

A form's temporary tracker (`FormAction._temporary_tracker`, made for every validation) is
Rasa's replay of the conversation since its last restart plus the form's new events into a
tracker with the domain's slots; when the conversation has no restart and the tracker holds the
domain's slots, it is the state copy with the new events applied.

Where the replay could give something else, Rasa's replay is used: trackers of other classes
(training trackers), trackers whose history is capped (`max_event_history`: the dropped events
no longer replay), trackers with `AnySlotDict` slots, and a turn's tracker once the processor has
cleared its follow-up action, the one change Rasa makes to a tracker without an event (the
replay brings the follow-up action back, and the action server sees it).

`RASA_EXTENSIONS_SELF_CHECK=1` (`rasa_extensions.tracker_check`) makes every copy compare
itself with Rasa's replay and log an error naming the attribute that differs (never a value); the
end-to-end conversation tests run with it on and fail on any such line. The state copy itself
(`state_copy`) is in rasa_extensions/tracker_check.py, where the incremental SQL tracker store
uses it too.
"""
from __future__ import annotations

from typing import List

from rasa.core.actions.forms import FormAction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet
from rasa.shared.core.trackers import AnySlotDict, DialogueStateTracker

from rasa_extensions.tracker_check import report_differences, self_check_enabled, state_copy

_rasas_copy = DialogueStateTracker.copy
_rasas_temporary_tracker = FormAction._temporary_tracker
_rasas_predict_next_with_tracker = MessageProcessor._predict_next_with_tracker
_FOLLOWUP_CLEARED = "_followup_action_cleared_without_event"


def can_copy_state(tracker: DialogueStateTracker) -> bool:
    """Whether the state copy is, by Rasa's rule, what the replay would give."""
    return (type(tracker) is DialogueStateTracker and tracker._max_event_history is None
            and not isinstance(tracker.slots, AnySlotDict) and _FOLLOWUP_CLEARED not in tracker.__dict__)


def copy(self: DialogueStateTracker) -> DialogueStateTracker:
    if not can_copy_state(self):
        return _rasas_copy(self)
    clone = state_copy(self)
    if self_check_enabled():
        replayed = _rasas_copy(self)
        report_differences("tracker copy", clone, replayed)
        return replayed
    return clone


def predict_next_with_tracker(self: MessageProcessor, tracker: DialogueStateTracker):
    if tracker.followup_action:
        tracker.__dict__[_FOLLOWUP_CLEARED] = True   # Rasa's next line clears it, without an event
    return _rasas_predict_next_with_tracker(self, tracker)


def form_temporary_tracker(self: FormAction, current_tracker: DialogueStateTracker,
                           additional_events: List[Event], domain: Domain) -> DialogueStateTracker:
    if not (can_copy_state(current_tracker) and current_tracker.sender_id and not current_tracker.is_rule_tracker
            and current_tracker.idx_after_latest_restart() == 0
            and current_tracker.slots.keys() == {slot.name for slot in domain.slots}):
        return _rasas_temporary_tracker(self, current_tracker, additional_events, domain)
    # Rasa's events after the conversation's: the requested slot (so it belongs to this form) and
    # the form's execution, then the validation's events.
    new_events = [SlotSet(REQUESTED_SLOT, self.get_slot_to_fill(current_tracker)), ActionExecuted(self.name()),
                  *additional_events]
    temporary = state_copy(current_tracker)
    for event in new_events:
        temporary.update(event)
    if self_check_enabled():
        replayed = DialogueStateTracker.from_events(
            current_tracker.sender_id, current_tracker.events_after_latest_restart() + new_events, slots=domain.slots)
        report_differences("form's temporary tracker", temporary, replayed)
        return replayed
    return temporary


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((DialogueStateTracker, "copy"), (FormAction, "_temporary_tracker"),
            (MessageProcessor, "_predict_next_with_tracker"))


def install() -> None:
    DialogueStateTracker.copy = copy
    FormAction._temporary_tracker = form_temporary_tracker
    MessageProcessor._predict_next_with_tracker = predict_next_with_tracker
