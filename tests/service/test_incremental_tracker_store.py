"""IncrementalSQLTrackerStore against Rasa's own SQLTrackerStore, on SQLite and PostgreSQL.

Every test runs the same operations through both stores (each on its own conversation id in the
same database) or reads one conversation through both, and compares what Rasa would return."""
from __future__ import annotations

import asyncio
import copy
import logging
from typing import List

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, BotUttered, Event, SessionStarted, SlotSet,
                                     UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from rasa_extensions.sql_tracker_store import IncrementalSQLTrackerStore, StoredRow, StoredSession
from rasa_extensions import tracker_check

DOMAIN = Domain.from_dict({"intents": ["greet", "inform"],
                           "slots": {"name": {"type": "text", "mappings": [{"type": "custom"}]}}})


def settings(database_url: str) -> dict:
    url = make_url(database_url)
    if url.drivername.startswith("sqlite"):
        return {"dialect": "sqlite", "db": url.database}
    return {"dialect": "postgresql", "host": url.host, "port": url.port or 5432, "db": url.database,
            "username": url.username}


def turn(text: str, at: float) -> List[Event]:
    return [UserUttered(text, intent={"name": "inform", "confidence": 1.0}, timestamp=at),
            SlotSet("name", text, timestamp=at + 0.1),
            ActionExecuted("utter_ok", timestamp=at + 0.2),
            BotUttered(f"Baik, {text}", timestamp=at + 0.3),
            ActionExecuted("action_listen", timestamp=at + 0.4)]


def new_session(at: float) -> List[Event]:
    return [ActionExecuted("action_session_start", timestamp=at),
            SessionStarted(timestamp=at + 0.1),
            SlotSet("name", "dibawa", timestamp=at + 0.2),
            ActionExecuted("action_listen", timestamp=at + 0.3)]


def run(coroutine):
    return asyncio.run(coroutine)


async def take_turn(store, sender_id: str, events: List[Event]) -> None:
    """What Rasa's processor does with a message: get or create, append the turn's events, save."""
    tracker = await store.get_or_create_tracker(sender_id, append_action_listen=False)
    tracker.update_with_events(copy.deepcopy(events), DOMAIN, override_timestamp=False)
    await store.save(tracker)


def differences(ours: DialogueStateTracker, rasas: DialogueStateTracker) -> list:
    return tracker_check.differences(ours, rasas, identical_events=False)


def dump(tracker: DialogueStateTracker) -> list:
    return [event.as_dict() for event in tracker.events] if tracker else None


@pytest.fixture
def stores(database_url):
    config = settings(database_url)
    rasa_store = SQLTrackerStore(DOMAIN, **config)
    incremental = [IncrementalSQLTrackerStore(DOMAIN, **config) for _ in range(2)]
    yield rasa_store, incremental
    for store in [rasa_store, *incremental]:
        store.engine.dispose()


def test_the_same_conversation_as_rasa_turn_after_turn_and_across_sessions(stores):
    rasa_store, (incremental, _) = stores
    script = [turn("halo", 10), turn("siti", 20), new_session(100), turn("lagi", 110), turn("budi", 120),
              new_session(200), turn("akhir", 210)]
    for number, events in enumerate(script):
        run(take_turn(rasa_store, "rasa", events))
        run(take_turn(incremental, "ours", events))
        expected = dump(run(rasa_store.retrieve("rasa")))
        assert dump(run(incremental.retrieve("ours"))) == expected, f"after step {number}"
        # and Rasa's own store reads what ours wrote, into the same tracker state (slots, loop, ...)
        assert dump(run(rasa_store.retrieve("ours"))) == expected, f"after step {number}"
        assert differences(run(incremental.retrieve("ours")), run(rasa_store.retrieve("ours"))) == []
    assert run(incremental.retrieve("ours")).get_slot("name") == "akhir"
    assert dump(run(incremental.retrieve_full_tracker("ours"))) == dump(run(rasa_store.retrieve_full_tracker("rasa")))


def test_a_conversation_continued_on_another_server_loses_and_repeats_nothing(stores):
    rasa_store, (server_a, server_b) = stores
    script = [turn("satu", 10), turn("dua", 20), turn("tiga", 30), new_session(100), turn("empat", 110),
              turn("lima", 120)]
    for number, events in enumerate(script):
        server = server_a if number % 2 == 0 else server_b   # both remember the conversation
        run(take_turn(server, "shared", events))
        run(take_turn(rasa_store, "rasa", events))
        expected = dump(run(rasa_store.retrieve("rasa")))
        assert dump(run(server_a.retrieve("shared"))) == expected, f"server A after step {number}"
        assert dump(run(server_b.retrieve("shared"))) == expected, f"server B after step {number}"
        for server in (server_a, server_b):
            assert differences(run(server.retrieve("shared")), run(rasa_store.retrieve("shared"))) == []
    stored = run(rasa_store.retrieve_full_tracker("shared"))
    assert len(stored.events) == sum(len(events) for events in script)


def test_what_a_turn_does_to_a_retrieved_tracker_stays_out_of_the_next_retrieve(stores):
    rasa_store, (incremental, _) = stores
    run(take_turn(incremental, "ours", turn("halo", 10)))
    first = run(incremental.retrieve("ours"))
    kept = incremental._replayed["ours"].tracker
    assert first is not kept and first.events is not kept.events
    first.slots["name"].value = "diubah tanpa event"           # a turn edits its tracker...
    first.update(SlotSet("name", "belum disimpan"))            # ...and adds events it never saves
    again = run(incremental.retrieve("ours"))
    assert again.get_slot("name") == "halo" and len(again.events) == 5
    assert differences(again, run(rasa_store.retrieve("ours"))) == []
    run(take_turn(incremental, "ours", turn("lagi", 20)))
    latest = run(incremental.retrieve("ours"))                  # the kept tracker takes the new rows
    assert incremental._replayed["ours"].tracker is kept and len(kept.events) == 10
    assert differences(latest, run(rasa_store.retrieve("ours"))) == []


def test_the_self_check_compares_retrieved_trackers_with_a_fresh_read_without_any_speed_up(
        stores, monkeypatch, caplog):
    import rasa_speedups

    assert rasa_speedups.active_speedups() == []   # the store's own check, Rasa's code everywhere else
    monkeypatch.setenv(tracker_check.SELF_CHECK_VARIABLE, "1")
    _, (incremental, _) = stores
    run(take_turn(incremental, "ours", turn("halo", 10)))
    with caplog.at_level(logging.ERROR, logger=tracker_check.__name__):
        assert run(incremental.retrieve("ours")).get_slot("name") == "halo"
        assert not caplog.records
        incremental._replayed["ours"].tracker.slots["name"].value = "diubah tanpa event"   # the kept tracker goes wrong
        retrieved = run(incremental.retrieve("ours"))
    assert retrieved.get_slot("name") == "halo"   # with the self-check on, the fresh read is returned
    assert [record.getMessage() for record in caplog.records] == [
        "self-check failed: retrieved tracker differs from Rasa's in slot name, current_state"]

def test_a_new_domain_drops_the_kept_trackers(stores):
    _, (incremental, _) = stores
    run(take_turn(incremental, "ours", turn("halo", 10)))
    run(incremental.retrieve("ours"))
    assert "ours" in incremental._replayed
    incremental.domain = Domain.from_dict({"slots": {"name": {"type": "text", "mappings": [{"type": "custom"}]},
                                                     "umur": {"type": "float", "mappings": [{"type": "custom"}]}}})
    assert incremental._replayed == {}
    assert {"name", "umur"} <= set(run(incremental.retrieve("ours")).slots)


def test_a_tracker_that_does_not_continue_the_stored_rows_is_saved_by_rasas_rule(stores):
    rasa_store, (incremental, _) = stores
    for store, sender in ((rasa_store, "rasa"), (incremental, "ours")):
        run(take_turn(store, sender, turn("halo", 10)))
        run(store.retrieve(sender))
        # e.g. PUT /conversations/{id}/tracker/events: a rebuilt event list, longer than the stored one
        replaced = DialogueStateTracker.from_events(sender, turn("baru", 50) + turn("lagi", 60), DOMAIN.slots)
        run(store.save(replaced))
        run(take_turn(store, sender, turn("setelahnya", 70)))
    assert dump(run(incremental.retrieve("ours"))) == dump(run(rasa_store.retrieve("rasa")))


def test_a_late_read_without_the_lock_does_not_make_stored_events_look_new(stores):
    rasa_store, (incremental, _) = stores
    run(take_turn(incremental, "ours", turn("satu", 10)))
    seen_by_a_slow_read = incremental._sessions["ours"]     # e.g. GET /conversations/{id}/tracker
    run(take_turn(incremental, "ours", turn("dua", 20)))
    tracker = run(incremental.get_or_create_tracker("ours", append_action_listen=False))
    incremental._remember("ours", seen_by_a_slow_read)       # ...finishing in the middle of a turn
    tracker.update_with_events(copy.deepcopy(turn("tiga", 30)), DOMAIN, override_timestamp=False)
    run(incremental.save(tracker))
    for events in (turn("satu", 10), turn("dua", 20), turn("tiga", 30)):
        run(take_turn(rasa_store, "rasa", events))
    assert dump(run(rasa_store.retrieve("ours"))) == dump(run(rasa_store.retrieve("rasa")))
    assert len(run(rasa_store.retrieve("ours")).events) == 15


class CollectingBroker(EventBroker):
    def __init__(self) -> None:
        self.published = []

    def publish(self, event) -> None:
        self.published.append(event)


def test_an_event_broker_gets_what_rasas_store_publishes(database_url):
    config = settings(database_url)
    brokers = {"rasa": CollectingBroker(), "ours": CollectingBroker()}
    stores = {"rasa": SQLTrackerStore(DOMAIN, event_broker=brokers["rasa"], **config),
              "ours": IncrementalSQLTrackerStore(DOMAIN, event_broker=brokers["ours"], **config)}
    try:
        for events in (turn("halo", 10), turn("siti", 20), new_session(100), turn("lagi", 110)):
            for sender, store in stores.items():
                run(take_turn(store, sender, events))
        published = {sender: [dict(event, sender_id=None) for event in broker.published]
                     for sender, broker in brokers.items()}
        assert published["ours"] == published["rasa"] and len(published["ours"]) == 19
    finally:
        for store in stores.values():
            store.engine.dispose()


def test_forgotten_conversations_are_read_again(database_url):
    config = settings(database_url)
    rasa_store = SQLTrackerStore(DOMAIN, **config)
    tiny = IncrementalSQLTrackerStore(DOMAIN, cached_conversations=1, **config)
    try:
        for at in (10, 20, 30):
            for sender in ("a", "b"):   # each turn evicts the other conversation
                run(take_turn(tiny, sender, turn(f"{sender}{at}", at)))
        assert len(tiny._sessions) == 1 and set(tiny._replayed) <= set(tiny._sessions)
        for sender in ("a", "b"):
            assert dump(run(tiny.retrieve(sender))) == dump(run(rasa_store.retrieve(sender)))
            assert len(run(rasa_store.retrieve(sender)).events) == 15
    finally:
        rasa_store.engine.dispose()
        tiny.engine.dispose()


def test_an_unknown_conversation_is_none_and_a_new_one_is_created_once(stores):
    rasa_store, (incremental, _) = stores
    assert run(incremental.retrieve("nobody")) is None
    created = run(incremental.get_or_create_tracker("new"))
    assert [getattr(event, "action_name", None) for event in created.events] == ["action_listen"]
    assert len(run(rasa_store.retrieve("new")).events) == 1
    run(take_turn(incremental, "new", turn("halo", 10)))
    assert len(run(rasa_store.retrieve("new")).events) == 6


def row(row_id: int, at: float, kind: str = "user") -> StoredRow:
    return StoredRow(row_id, at, kind, "{}")


def test_stored_session_keeps_rasas_session_rule_and_ignores_rows_it_knows():
    session = StoredSession.empty().with_rows([row(1, 1.0), row(2, 2.0)])
    assert [r.id for r in session.rows] == [1, 2] and session.session_start is None and session.last_id == 2
    assert session.with_rows([row(2, 2.0)]) is session   # known rows are not added twice
    restarted = session.with_rows([row(3, 3.0, "action"), row(4, 3.1, "session_started"), row(5, 3.2)])
    assert [r.id for r in restarted.rows] == [4, 5] and restarted.session_start == 3.1
    assert restarted.last_id == 5
    # a row with a later id but an earlier timestamp than the session start is not in the session
    late = restarted.with_rows([row(6, 1.5), row(7, 4.0)])
    assert [r.id for r in late.rows] == [4, 5, 7] and late.last_id == 7
