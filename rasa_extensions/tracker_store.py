"""A tracker store that redacts personal data before any other tracker store persists it.

    tracker_store:
      type: rasa_extensions.tracker_store.RedactingTrackerStore
      inner:                       # any Rasa tracker store configuration; in memory when absent
        type: rasa_extensions.sql_tracker_store.IncrementalSQLTrackerStore   # or Rasa's `sql`
        dialect: postgresql
        ...

Rasa saves the tracker at the end of each turn, after the actions have used the user's message,
so redacting at save time hides the OTP, NIK and phone numbers without hiding them from the
turn that needs them. Event brokers attached to the inner store see the redacted events too.
What is kept is decided in one place, the `privacy` package (default-deny for slots, answers to
personal questions not stored, numbers hidden in every other message). Loading this store also
installs the log redaction in the Rasa server (`privacy.logs`).
"""
from __future__ import annotations

import copy
from collections import deque
from typing import Any, Dict, Iterable, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from privacy.events import EventRedactor
from privacy.logs import install_log_redaction


install_log_redaction()


class RedactingTrackerStore(TrackerStore):
    def __init__(self, domain: Optional[Domain] = None, event_broker: Optional[EventBroker] = None,
                 inner: Optional[Dict[Text, Any]] = None, **_kwargs: Any) -> None:
        super().__init__(domain, event_broker)
        inner_config = EndpointConfig.from_dict(inner) if inner else None
        self._inner = TrackerStore.create(inner_config, domain, event_broker)

    @property
    def domain(self) -> Domain:
        return self._inner.domain

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:
        self._inner.domain = domain or Domain.empty()

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self._inner.save(redacted(tracker))

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        return await self._inner.retrieve(sender_id)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        return await self._inner.retrieve_full_tracker(conversation_id)

    async def keys(self) -> Iterable[Text]:
        return await self._inner.keys()

    async def exists(self, conversation_id: Text) -> bool:
        return await self._inner.exists(conversation_id)


# The events that can carry personal data (or tell the redactor which question is open); every other
# event is kept as it is (re-creating all events at every save cost 7-11 ms per message on a long
# conversation).
_MAY_CARRY_PERSONAL_DATA = frozenset({"user", "slot", "entities", "reminder", "active_loop", "restart",
                                      "session_started"})


def redacted(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """A copy of `tracker` for a tracker store: the same conversation with redacted events.

    Every Rasa tracker store persists a tracker's events (`as_dialogue()`) and nothing else, so
    a shallow copy with a new event list is enough; `tracker.copy()` would replay every event of
    the conversation into fresh slots at each save (2% of the server's CPU under load)."""
    clean = copy.copy(tracker)
    redactor = EventRedactor()
    clean.events = deque((_redacted(redactor, event) for event in tracker.events), maxlen=tracker.events.maxlen)
    return clean


def _redacted(redactor: EventRedactor, event: Event) -> Event:
    if event.type_name not in _MAY_CARRY_PERSONAL_DATA:
        return event
    data = event.as_dict()
    clean = redactor.redact(data)
    return event if clean == data else Event.from_parameters(clean)
