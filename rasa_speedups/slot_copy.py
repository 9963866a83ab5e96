"""Copy a slot by its attributes instead of through the pickle protocol.

Every DialogueStateTracker Rasa creates copies all of the domain's slots (`copy.copy` of each of
54 slots), and Rasa 3.6 creates many per message: the retrieved tracker, the forms'
temporary trackers, the rule policy's prior trackers. `copy.copy` reaches a slot's `__dict__`
through `__reduce_ex__`; under load that was 8% of the Rasa server's main thread. Slots keep all
their state in `__dict__` (no `__slots__`, no custom pickling), so copying that dict gives the same
object, twice as fast (0.16 -> 0.08 ms for the 54 slots; tests/unit/test_rasa_speedups.py compares
both on every domain slot). The copy itself is `rasa_extensions.tracker_check.copy_slot`, which the
tracker state copies use whether this speed-up is installed or not.
"""
from __future__ import annotations

from rasa.shared.core.slots import Slot

from rasa_extensions.tracker_check import copy_slot


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((Slot, "__copy__"),)


def install() -> None:
    Slot.__copy__ = copy_slot
