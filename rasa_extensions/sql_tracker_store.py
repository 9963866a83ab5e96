"""Rasa's SQL tracker store, reading and writing only what changed since the last turn.

Per message, Rasa 3.6's SQLTrackerStore reads every event of the conversation's session (one
query with a sub-query, JSON decoding), counts those rows again at save time and inserts the new
events one INSERT at a time, all as blocking calls on the server's only event loop: 30-35% of
the Rasa server's CPU under load (docs/benchmark.md). This store keeps the same table, the same
rows and the same answers, and:
- remembers, for recently active conversations, the rows of the current session it has read or
  written (their JSON text, so every retrieve still builds fresh event objects);
- on retrieve asks only for the rows after the last one it knows (`id > :last`): rows written
  meanwhile by another Rasa server are found, because the messages of one conversation are
  processed one at a time under the lock store's ticket lock, so its rows are committed in id
  order;
- on save inserts the events beyond the ones it knows in one statement (and hands exactly those
  to an event broker, where Rasa reads the whole session again to find them), and only counts
  the stored rows (as Rasa does) when the tracker it is given does not continue what it knows;
- runs the database calls in a small thread pool, so the event loop serves other conversations
  while PostgreSQL answers;
- decodes and encodes the rows' JSON with ujson (a dependency of Rasa and Sanic): the same
  values, floats included, in half the time of the json module (5% of the main thread under load);
- keeps, for the same conversations, the tracker replayed from those rows, and brings it up to
  date with only the rows found or written since; every retrieve hands out a copy of it
  (`tracker_check.state_copy`), so nothing a turn does reaches the kept tracker. Rasa decoded and
  replayed the whole session at every message (12% of the main thread under load). The kept
  tracker is replayed from the rows' JSON, never from the objects a turn saved, so it is what a
  fresh read would give (`RASA_EXTENSIONS_SELF_CHECK=1` compares the two at every retrieve).

    tracker_store:
      type: rasa_extensions.tracker_store.RedactingTrackerStore
      inner:
        type: rasa_extensions.sql_tracker_store.IncrementalSQLTrackerStore
        dialect: postgresql
        ...                     # Rasa's `sql` settings
        cached_conversations: 500   # how many recent conversations to remember (LRU)
"""
from __future__ import annotations

import asyncio
import itertools
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import sqlalchemy as sa
import ujson
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from rasa_extensions.tracker_check import announce_self_check, report_differences, self_check_enabled, state_copy

logger = logging.getLogger(__name__)

DEFAULT_CACHED_CONVERSATIONS = 500
DATABASE_THREADS = 4


@dataclass(frozen=True)
class StoredRow:
    id: int
    timestamp: Optional[float]
    type_name: Text
    data: Text


@dataclass(frozen=True)
class StoredSession:
    """The rows of a conversation's latest session, as Rasa's query would return them."""

    rows: Tuple[StoredRow, ...]
    session_start: Optional[float]   # timestamp of the latest `session_started` row, if any
    last_id: int                     # highest row id of the conversation seen so far

    @classmethod
    def empty(cls) -> "StoredSession":
        return cls((), None, 0)

    def with_rows(self, new_rows: Sequence[StoredRow]) -> "StoredSession":
        """This session after rows with higher ids were stored (rows already known are ignored).

        Rasa's rule: the session is every row whose timestamp is at least the latest
        `session_started` timestamp, or every row when the conversation has none."""
        fresh = [row for row in new_rows if row.id > self.last_id]
        if not fresh:
            return self
        start = self.session_start
        for row in fresh:
            if row.type_name == SessionStarted.type_name and row.timestamp is not None:
                start = row.timestamp if start is None else max(start, row.timestamp)
        rows = self.rows + tuple(fresh)
        if start is not None:
            rows = tuple(row for row in rows if row.timestamp is not None and row.timestamp >= start)
        return StoredSession(rows, start, max(self.last_id, max(row.id for row in fresh)))

    def continued_by(self, tracker: DialogueStateTracker) -> bool:
        """Whether `tracker` holds these rows' events first (so the rest is what to insert)."""
        if not self.rows:
            return True
        if len(tracker.events) < len(self.rows):
            return False
        last_known = tracker.events[len(self.rows) - 1]
        last_row = self.rows[-1]
        return last_known.type_name == last_row.type_name and last_known.timestamp == last_row.timestamp


@dataclass
class ReplayedSession:
    """A tracker replayed from the first `row_count` rows of a stored session."""

    tracker: DialogueStateTracker
    session_start: Optional[float]
    row_count: int
    last_row_id: int

    def continued_by(self, session: StoredSession) -> bool:
        """Whether `session` holds the rows this tracker was replayed from, and newer ones after."""
        return (session.session_start == self.session_start and len(session.rows) >= self.row_count
                and session.rows[self.row_count - 1].id == self.last_row_id)


class IncrementalSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, cached_conversations: int = DEFAULT_CACHED_CONVERSATIONS,
                 **kwargs: Any) -> None:
        self._replayed: Dict[Text, ReplayedSession] = {}
        super().__init__(*args, **kwargs)
        self._sessions: "OrderedDict[Text, StoredSession]" = OrderedDict()
        self._capacity = max(0, int(cached_conversations))
        self._database = ThreadPoolExecutor(max_workers=DATABASE_THREADS, thread_name_prefix="tracker-store")
        events = self.SQLEvent.__table__
        self._rows_after = (
            sa.select(events.c.id, events.c.timestamp, events.c.type_name, events.c.data)
            .where(events.c.sender_id == sa.bindparam("sender_id"), events.c.id > sa.bindparam("after"))
            .order_by(events.c.id))
        self._last_id = sa.select(sa.func.max(events.c.id)).where(events.c.sender_id == sa.bindparam("sender_id"))
        # One multi-row INSERT ... RETURNING id where the database can (PostgreSQL); elsewhere an
        # executemany and the conversation's highest id, read in the same transaction.
        self._returning = bool(getattr(self.engine.dialect, "full_returning", False))
        announce_self_check(logger)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        known = self._sessions.get(sender_id)
        if known is None:
            session = self._remember(sender_id, await self._in_thread(self._read_session, sender_id))
        else:
            rows = await self._in_thread(self._read_rows_after, sender_id, known.last_id)
            session = self._remember(sender_id, known.with_rows(rows))
        if not self.domain or not session.rows:
            return None
        tracker = state_copy(self._replay(sender_id, session))
        if self_check_enabled():
            fresh = self._tracker_from_rows(sender_id, session.rows)
            report_differences("retrieved tracker", tracker, fresh, identical_events=False)
            return fresh
        return tracker

    @property
    def domain(self) -> Domain:
        return self._domain

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:
        # The kept trackers hold the old domain's slots: a new model's domain starts afresh.
        self._domain = domain or Domain.empty()
        self._replayed = {}

    async def save(self, tracker: DialogueStateTracker) -> None:
        known = self._sessions.get(tracker.sender_id)
        if known is None or not known.continued_by(tracker):
            # Not a continuation of what this store knows (a replaced event list, a forgotten
            # conversation): Rasa's own rule (count the stored rows, insert the rest), then re-read.
            await self.stream_events(tracker)
            self._forget(tracker.sender_id)
            await self._in_thread(self._save_by_count, tracker)
            return
        new_events = list(itertools.islice(tracker.events, len(known.rows), None))
        if self.event_broker is not None:
            # What Rasa's stream_events finds by reading the stored session again.
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)
        if not new_events:
            return
        values = [_row_values(tracker.sender_id, event) for event in new_events]
        ids = await self._in_thread(self._insert, tracker.sender_id, values)
        stored = [StoredRow(row_id, value["timestamp"], value["type_name"], value["data"])
                  for row_id, value in zip(ids, values)]
        self._remember(tracker.sender_id, (self._sessions.get(tracker.sender_id) or known).with_rows(stored))

    # -- blocking database calls, run in the thread pool -------------------------------------

    def _read_session(self, sender_id: Text) -> StoredSession:
        with self.session_scope() as session:
            rows = [StoredRow(event.id, event.timestamp, event.type_name, event.data)
                    for event in self._event_query(session, sender_id, fetch_events_from_all_sessions=False)]
        return StoredSession.empty().with_rows(rows)

    def _read_rows_after(self, sender_id: Text, after: int) -> List[StoredRow]:
        with self.engine.connect() as connection:
            result = connection.execute(self._rows_after, {"sender_id": sender_id, "after": after})
            return [StoredRow(*row) for row in result]

    def _insert(self, sender_id: Text, values: List[Dict[Text, Any]]) -> List[int]:
        events = self.SQLEvent.__table__
        with self.engine.begin() as connection:
            if self._returning:
                result = connection.execute(events.insert().values(values).returning(events.c.id))
                return sorted(row_id for (row_id,) in result)
            connection.execute(events.insert(), values)
            last = connection.execute(self._last_id, {"sender_id": sender_id}).scalar_one()
        return list(range(last - len(values) + 1, last + 1))

    def _save_by_count(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        values = [_row_values(tracker.sender_id, event) for event in itertools.islice(tracker.events, stored, None)]
        if values:
            with self.engine.begin() as connection:
                connection.execute(self.SQLEvent.__table__.insert(), values)

    # -- the kept trackers ------------------------------------------------------------------

    def _replay(self, sender_id: Text, session: StoredSession) -> DialogueStateTracker:
        """The tracker of `session`'s rows: the kept one, brought up to date, or a new replay."""
        kept = self._replayed.get(sender_id)
        if kept is None or not kept.continued_by(session):
            kept = ReplayedSession(self._tracker_from_rows(sender_id, session.rows), session.session_start,
                                   len(session.rows), session.rows[-1].id)
        elif kept.row_count < len(session.rows):
            new_rows = session.rows[kept.row_count:]
            for event in deserialise_events(_decoded(new_rows)):
                kept.tracker.update(event)
            kept.row_count, kept.last_row_id = len(session.rows), new_rows[-1].id
        if self._capacity and sender_id in self._sessions:
            self._replayed[sender_id] = kept
        return kept.tracker

    def _tracker_from_rows(self, sender_id: Text, rows: Sequence[StoredRow]) -> DialogueStateTracker:
        return DialogueStateTracker.from_dict(sender_id, _decoded(rows), self.domain.slots)

    def _forget(self, sender_id: Text) -> None:
        self._sessions.pop(sender_id, None)
        self._replayed.pop(sender_id, None)

    # -- helpers ---------------------------------------------------------------------------

    async def _in_thread(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._database, function, *args)

    def _remember(self, sender_id: Text, session: StoredSession) -> StoredSession:
        """Keeps the newer of `session` and what is remembered now, and returns it.

        Reads without the conversation's lock (e.g. Rasa's GET /conversations/{id}/tracker) can
        finish after a turn saved newer rows; what they saw must not replace the newer state, or
        the next save would take stored events for new ones."""
        current = self._sessions.get(sender_id)
        if current is not None and current.last_id > session.last_id:
            session = current
        if self._capacity == 0:
            return session
        self._sessions[sender_id] = session
        self._sessions.move_to_end(sender_id)
        while len(self._sessions) > self._capacity:
            forgotten, _ = self._sessions.popitem(last=False)
            self._replayed.pop(forgotten, None)
        return session


def _decoded(rows: Sequence[StoredRow]) -> List[Dict[Text, Any]]:
    """The events of stored rows, as the dicts Rasa deserialises."""
    return [ujson.loads(row.data) for row in rows]


def _row_values(sender_id: Text, event) -> Dict[Text, Any]:
    """The columns Rasa's SQLTrackerStore writes for one event."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": ujson.dumps(data, escape_forward_slashes=False),
    }
