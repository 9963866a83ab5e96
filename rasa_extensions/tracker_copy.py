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

`RASA_EXTENSIONS_SELF_CHECK=1` makes every copy compare itself with Rasa's replay and log an
error naming the attribute that differs (never a value); the end-to-end conversation tests run
with it on and fail on any such line.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from collections import deque
from typing import Any, Dict, List, Optional, Text

from rasa.core.actions.forms import FormAction
from rasa.core.processor import MessageProcessor
from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet
from rasa.shared.core.trackers import AnySlotDict, DialogueStateTracker, EventVerbosity

from rasa_extensions.slot_copy import copy_slot

logger = logging.getLogger(__name__)

SELF_CHECK_VARIABLE = "RASA_EXTENSIONS_SELF_CHECK"
SELF_CHECK_MESSAGE = "self-check failed"
SELF_CHECK_ON = "self-check on"   # logged once at start-up when the self-check is enabled

_rasas_copy = DialogueStateTracker.copy
_rasas_temporary_tracker = FormAction._temporary_tracker
_rasas_predict_next_with_tracker = MessageProcessor._predict_next_with_tracker
_FOLLOWUP_CLEARED = "_followup_action_cleared_without_event"


def self_check_enabled() -> bool:
    return os.environ.get(SELF_CHECK_VARIABLE, "").strip().lower() in {"1", "true", "yes"}


def can_copy_state(tracker: DialogueStateTracker) -> bool:
    """Whether the state copy is, by Rasa's rule, what the replay would give."""
    return (type(tracker) is DialogueStateTracker and tracker._max_event_history is None
            and not isinstance(tracker.slots, AnySlotDict) and _FOLLOWUP_CLEARED not in tracker.__dict__)


def state_copy(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """A tracker with `tracker`'s state and events, built without replaying them."""
    clone = DialogueStateTracker.__new__(DialogueStateTracker)
    clone._max_event_history = None
    clone.events = deque(tracker.events)
    clone.sender_id = tracker.sender_id or DEFAULT_SENDER_ID
    clone.slots = {name: copy_slot(slot) for name, slot in tracker.slots.items()}
    clone.sender_source = None
    clone.is_rule_tracker = tracker.is_rule_tracker
    clone._paused = tracker._paused
    clone.followup_action = tracker.followup_action
    clone.latest_action = dict(tracker.latest_action) if tracker.latest_action is not None else None
    clone.latest_message = tracker.latest_message
    clone.latest_bot_utterance = tracker.latest_bot_utterance
    clone.active_loop = dataclasses.replace(tracker.active_loop) if tracker.active_loop else tracker.active_loop
    clone.model_id = None
    clone.assistant_id = None
    return clone


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


def differences(ours: DialogueStateTracker, rasas: DialogueStateTracker,
                identical_events: bool = True) -> List[Text]:
    """Names of what differs between two trackers (attribute and slot names, never values).

    A copy holds the very event objects of its original (`identical_events`); trackers read
    apart hold equal events, compared by their dicts (in `current_state`)."""
    found: List[Text] = []
    if set(vars(ours)) - _MEMO_ATTRIBUTES != set(vars(rasas)) - _MEMO_ATTRIBUTES:
        found.append("attributes")
    if identical_events and (len(ours.events) != len(rasas.events)
                             or any(a is not b for a, b in zip(ours.events, rasas.events))):
        found.append("events")
    for name in ("sender_id", "sender_source", "is_rule_tracker", "_paused", "followup_action",
                 "latest_action", "model_id", "assistant_id", "_max_event_history"):
        if getattr(ours, name) != getattr(rasas, name):
            found.append(name)
    for name in ("latest_message", "latest_bot_utterance"):
        if _event_state(getattr(ours, name)) != _event_state(getattr(rasas, name)):
            found.append(name)
    if _loop_state(ours.active_loop) != _loop_state(rasas.active_loop):
        found.append("active_loop")
    if ours.slots.keys() != rasas.slots.keys():
        found.append("slot names")
    for name, slot in ours.slots.items():
        other = rasas.slots.get(name)
        if other is None or type(slot) is not type(other) or vars(slot) != vars(other):
            found.append(f"slot {name}")
    if _public_state(ours) != _public_state(rasas):
        found.append("current_state")
    return found


def report_differences(what: Text, ours: DialogueStateTracker, rasas: DialogueStateTracker,
                       identical_events: bool = True) -> bool:
    """Logs an error when the trackers differ; True when they are the same."""
    found = differences(ours, rasas, identical_events)
    if found:
        logger.error(f"{SELF_CHECK_MESSAGE}: {what} differs from Rasa's in {', '.join(found)}")
    return not found


_MEMO_ATTRIBUTES = frozenset({"_applied_events_memo", "_past_states_memo", _FOLLOWUP_CLEARED})


def _event_state(event: Any) -> Optional[Dict[Text, Any]]:
    if event is None:
        return None
    state = event.as_dict()
    state.pop("timestamp", None)   # a fresh empty message or utterance is stamped when it is made
    return state


def _loop_state(loop: Any) -> Optional[Dict[Text, Any]]:
    return dataclasses.asdict(loop) if loop else None


def _public_state(tracker: DialogueStateTracker) -> Dict[Text, Any]:
    state = tracker.current_state(EventVerbosity.ALL)
    state.pop("latest_message", None)   # compared above, without the empty message's timestamp
    return state


def install() -> None:
    DialogueStateTracker.copy = copy
    FormAction._temporary_tracker = form_temporary_tracker
    MessageProcessor._predict_next_with_tracker = predict_next_with_tracker
