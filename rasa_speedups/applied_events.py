"""Remember a tracker's applied events until its event list changes.

`DialogueStateTracker.applied_events()` walks the whole conversation (undoing reverted turns and
repeated form executions) and Rasa 3.6 calls it many times per message on the same, unchanged
tracker: for every rule-policy prediction, every state featurization, every form's temporary
tracker. Under load that was 5% of the Rasa server's main thread. Events are only ever appended
to a tracker's list (or the list is replaced), so the answer is kept until the list changes
(`tracker_memo.event_list_memo`); any change recomputes it with Rasa's own code.
Callers get a new list each time, as before.
"""
from __future__ import annotations

from typing import List

from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_speedups.tracker_memo import event_list_memo

_rasas_applied_events = DialogueStateTracker.applied_events
_MEMO = "_applied_events_memo"


def applied_events(self: DialogueStateTracker) -> List[Event]:
    remembered = event_list_memo(self, _MEMO)
    if "events" not in remembered:
        remembered["events"] = tuple(_rasas_applied_events(self))
    return list(remembered["events"])


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((DialogueStateTracker, "applied_events"),)


def install() -> None:
    DialogueStateTracker.applied_events = applied_events
