"""Values remembered on a tracker until its event list changes.

Rasa only ever appends events to a tracker's list or replaces the list, so "the same list object,
with the same length and the same last event (compared by identity)" means "the same
conversation": what was computed from it still holds. Used by applied_events and past_states.
"""
from __future__ import annotations

from typing import Any, Dict, Text

from rasa.shared.core.trackers import DialogueStateTracker


def event_list_memo(tracker: DialogueStateTracker, name: Text) -> Dict[Any, Any]:
    """The dict kept on `tracker` under `name`, emptied whenever the tracker's event list changed."""
    events = tracker.events
    last = events[-1] if events else None
    memo = tracker.__dict__.get(name)
    if memo is None or memo[0] is not events or memo[1] != len(events) or memo[2] is not last:
        memo = tracker.__dict__[name] = (events, len(events), last, {})
    return memo[3]
