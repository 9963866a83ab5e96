"""A tracker's `current_state()` without `dataclasses.asdict`'s generic walk of the active loop.

Rasa 3.6 serializes the tracker for every custom-action call (`current_state`), and turns the
active loop into a dict with `dataclasses.asdict`, which walks the loop's trigger message (the
whole parse of the message that started the form: intent ranking, entities, response selector)
value by value, asking of each whether it is a dataclass, a named tuple, a list or a dict and
deep-copying the rest: 8% of the Rasa server's main thread under load (docs/benchmark.md), for a
dict of strings and numbers. The same copy is made here by a walk that knows JSON's types and
hands anything else to the standard library's own walk; the rest of `current_state` is Rasa's.
tests/unit/test_tracker_state.py compares both on trackers of every kind of event.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Text

from rasa.shared.core.constants import ACTIVE_LOOP, FOLLOWUP_ACTION
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

_rasas_current_state = DialogueStateTracker.current_state
_ATOMS = frozenset({str, int, float, bool, type(None)})


def plain_copy(value: Any) -> Any:
    """What `dataclasses.asdict` makes of a field's value, for JSON-like values."""
    kind = type(value)
    if kind in _ATOMS:
        return value                     # deepcopy returns these objects themselves
    if kind is dict:
        return {plain_copy(key): plain_copy(item) for key, item in value.items()}
    if kind is list:
        return [plain_copy(item) for item in value]
    return dataclasses._asdict_inner(value, dict)   # tuples, dataclasses, sets, ...: the stdlib's walk


def loop_as_dict(loop: Any) -> Dict[Text, Any]:
    """`dataclasses.asdict(loop)` for the tracker's active loop."""
    return {field.name: plain_copy(getattr(loop, field.name)) for field in dataclasses.fields(loop)}


def current_state(self: DialogueStateTracker,
                  event_verbosity: EventVerbosity = EventVerbosity.NONE) -> Dict[Text, Any]:
    """Returns the current tracker state as an object (Rasa 3.6's, but for the active loop)."""
    events = self._events_for_verbosity(event_verbosity)
    events_as_dict = [e.as_dict() for e in events] if events is not None else None
    latest_event_time = None
    if len(self.events) > 0:
        latest_event_time = self.events[-1].timestamp

    return {
        "sender_id": self.sender_id,
        "slots": self.current_slot_values(),
        "latest_message": self._latest_message_data(),
        "latest_event_time": latest_event_time,
        FOLLOWUP_ACTION: self.followup_action,
        "paused": self.is_paused(),
        "events": events_as_dict,
        "latest_input_channel": self.get_latest_input_channel(),
        ACTIVE_LOOP: loop_as_dict(self.active_loop) if self.active_loop else {},
        "latest_action": self.latest_action,
        "latest_action_name": self.latest_action_name,
    }


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((DialogueStateTracker, "current_state"),)


def install() -> None:
    DialogueStateTracker.current_state = current_state
