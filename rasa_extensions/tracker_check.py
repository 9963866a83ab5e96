"""A tracker copied from its state, and the self-check that compares trackers with Rasa's replay.

Neutral helpers, patching nothing: the incremental SQL tracker store (`sql_tracker_store.py`)
hands out state copies of the trackers it keeps, and the `tracker_copy` speed-up of
`rasa_speedups/` makes its copies the same way; both compare what they built with Rasa's own
replay when the self-check is on.

`RASA_EXTENSIONS_SELF_CHECK=1` (SELF_CHECK_VARIABLE) makes every tracker the SQL store retrieves
from what it keeps, and, with the `tracker_copy` speed-up installed, every tracker copy and form
temporary tracker, compare itself with Rasa's replay and log an error naming the attribute that
differs (never a value); the end-to-end conversation tests run with it on, with the speed-ups on
and off, and fail on any such line.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from collections import deque
from typing import Any, Dict, List, Optional, Text

from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

logger = logging.getLogger(__name__)

SELF_CHECK_VARIABLE = "RASA_EXTENSIONS_SELF_CHECK"
SELF_CHECK_MESSAGE = "self-check failed"
SELF_CHECK_ON = "self-check on"   # logged once at start-up when the self-check is enabled

# What rasa_speedups leaves on a tracker (tracker_copy): not state.
SPEEDUP_ATTRIBUTES = frozenset({"_followup_action_cleared_without_event"})
_announced = False


def self_check_enabled() -> bool:
    return os.environ.get(SELF_CHECK_VARIABLE, "").strip().lower() in {"1", "true", "yes"}


def announce_self_check(log: logging.Logger = logger) -> bool:
    """Logs SELF_CHECK_ON once per process when the self-check is enabled; True if it logged now."""
    global _announced
    if _announced or not self_check_enabled():
        return False
    _announced = True
    log.info(f"{SELF_CHECK_ON} ({SELF_CHECK_VARIABLE}): copied and retrieved trackers are compared with "
             "Rasa's replay")
    return True


def copy_slot(slot: Slot) -> Slot:
    """`copy.copy(slot)` without the pickle protocol: slots keep all their state in `__dict__`."""
    cls = type(slot)
    clone = cls.__new__(cls)
    clone.__dict__.update(slot.__dict__)
    return clone


def state_copy(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """A tracker with `tracker`'s state and events, built without replaying them.

    Rasa's rule is that a tracker's state "MUST be re-creatable by processing all the events", so
    this is what `tracker.copy()`'s replay gives for a plain DialogueStateTracker without a history
    cap: the same event objects in a new list, copies of the slots, the same latest message and bot
    utterance, a copy of the active loop, and what `init_copy` gives a new tracker (no sender
    source, model or assistant id)."""
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


def differences(ours: DialogueStateTracker, rasas: DialogueStateTracker,
                identical_events: bool = True) -> List[Text]:
    """Names of what differs between two trackers (attribute and slot names, never values).

    A copy holds the very event objects of its original (`identical_events`); trackers read
    apart hold equal events, compared by their dicts (in `current_state`)."""
    found: List[Text] = []
    if set(vars(ours)) - SPEEDUP_ATTRIBUTES != set(vars(rasas)) - SPEEDUP_ATTRIBUTES:
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
