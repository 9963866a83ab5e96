"""Remember a tracker's applied events until its event list changes.

`DialogueStateTracker.applied_events()` walks the whole conversation (undoing reverted turns and
repeated form executions) and Rasa 3.6 calls it many times per message on the same, unchanged
tracker: for every rule-policy prediction, every state featurization, every form's temporary
tracker. Under load that was 5% of the Rasa server's main thread. Events are only ever appended
to a tracker's list (or the list is replaced), so the answer is kept with the list object, its
length and its last event, compared by identity; any change recomputes it with Rasa's own code.
Callers get a new list each time, as before.
"""
from __future__ import annotations

from typing import List

from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

_rasas_applied_events = DialogueStateTracker.applied_events
_MEMO = "_applied_events_memo"


def applied_events(self: DialogueStateTracker) -> List[Event]:
    events = self.events
    last = events[-1] if events else None
    memo = self.__dict__.get(_MEMO)
    if memo is not None and memo[0] is events and memo[1] == len(events) and memo[2] is last:
        return list(memo[3])
    result = _rasas_applied_events(self)
    self.__dict__[_MEMO] = (events, len(events), last, tuple(result))
    return list(result)


def install() -> None:
    DialogueStateTracker.applied_events = applied_events
