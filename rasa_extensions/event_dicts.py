"""The tracker state a custom-action call carries, with each event's dict made once.

Every custom-action call sends the tracker's state with all its events (`current_state(ALL)`),
and Rasa 3.6 calls `as_dict()` on every event of the conversation at every call, one to three
calls per message: 9% of the Rasa server's main thread under load (docs/benchmark.md), for
events that have not changed since the previous call. An event's dict is built from its
attributes (nested values such as a message's parse data by reference), so it stays right as
long as no attribute of the event is re-bound; Rasa re-binds some (a new event's timestamp and
metadata when it joins a tracker). So the dict is remembered per event object together with a
shallow copy of the event's attributes, and made again whenever they differ. Entries go when
their event is garbage-collected. The call is otherwise Rasa's (`current_state(NONE)` plus the
events, which is what `current_state(ALL)` returns).

With `RASA_EXTENSIONS_SELF_CHECK=1` every remembered dict is compared with a fresh `as_dict()`.
"""
from __future__ import annotations

import logging
import weakref
from typing import Any, Dict, List, Text, Tuple

from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from rasa_extensions.tracker_copy import SELF_CHECK_MESSAGE, self_check_enabled

logger = logging.getLogger(__name__)

# id(event) -> (weak reference to the event, its attributes when the dict was made, the dict)
_remembered: Dict[int, Tuple["weakref.ref[Event]", Dict[Text, Any], Dict[Text, Any]]] = {}


def _forget(key: int) -> Any:
    def forget(_reference: Any) -> None:
        _remembered.pop(key, None)
    return forget


def event_dict(event: Event) -> Dict[Text, Any]:
    """`event.as_dict()`, made again only when one of the event's attributes was re-bound."""
    key = id(event)
    entry = _remembered.get(key)
    if entry is not None and entry[0]() is event and entry[1] == event.__dict__:
        if self_check_enabled() and entry[2] != event.as_dict():
            logger.error(f"{SELF_CHECK_MESSAGE}: remembered dict of a '{event.type_name}' event differs from as_dict()")
            return event.as_dict()
        return entry[2]
    made = event.as_dict()
    try:
        reference = weakref.ref(event, _forget(key))
    except TypeError:     # an event class with __slots__ and no weak references: not remembered
        return made
    _remembered[key] = (reference, dict(event.__dict__), made)
    return made


def action_tracker_state(tracker: DialogueStateTracker) -> Dict[Text, Any]:
    """`tracker.current_state(EventVerbosity.ALL)`, with the events' dicts from `event_dict`."""
    state = tracker.current_state(EventVerbosity.NONE)
    events: List[Dict[Text, Any]] = [event_dict(event) for event in tracker.events]
    state["events"] = events
    return state
