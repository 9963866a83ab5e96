"""AtomicRedisLockStore against the local Redis: ticket order, expiry, release, Rasa's format."""
from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid

import pytest
import redis
from rasa.core.lock_store import RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_extensions.lock_store import AtomicRedisLockStore, stored_lock

REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))


@pytest.fixture
def prefix():
    prefix = f"test{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def make_store(prefix: str) -> AtomicRedisLockStore:
    return AtomicRedisLockStore(EndpointConfig(url=REDIS_HOST, port=REDIS_PORT, db=0, key_prefix=prefix))


def test_tickets_are_issued_in_order_and_stored_in_rasas_format(prefix):
    store = make_store(prefix)
    assert store._issue("c1", 60) == (0, True)
    assert store._issue("c1", 60) == (1, False)
    # Rasa's own Redis lock store reads what the script wrote
    rasa_view = RedisLockStore(host=REDIS_HOST, port=REDIS_PORT, db=0, key_prefix=prefix).get_lock("c1")
    assert [ticket.number for ticket in rasa_view.tickets] == [0, 1]
    assert rasa_view.now_serving == 0 and rasa_view.is_locked(1) and not rasa_view.is_locked(0)
    assert all(ticket.expires > time.time() + 59 for ticket in rasa_view.tickets)
    store.cleanup("c1", 0)
    assert [ticket.number for ticket in stored_lock(store, "c1").tickets] == [1]
    store.cleanup("c1", 1)
    assert stored_lock(store, "c1") is None   # the last release deletes the key


def test_expired_tickets_are_dropped_and_a_live_waiter_takes_its_place_back(prefix):
    store = make_store(prefix)
    store._issue("c2", 0.05)                     # a holder that died
    waiter, first = store._issue("c2", 0.05)
    assert (waiter, first) == (1, False)
    time.sleep(0.1)                              # both tickets expire
    assert store._run("take", "c2", 60, waiter) == (waiter, True)   # the polling waiter is alive
    assert [ticket.number for ticket in stored_lock(store, "c2").tickets] == [waiter]
    store.cleanup("c2", waiter)
    time.sleep(0.01)
    store._issue("c3", 0.01)
    time.sleep(0.05)
    assert store._issue("c3", 60) == (0, True)   # nothing live: numbering starts again, as in Rasa


def test_turns_of_one_conversation_run_one_at_a_time_in_arrival_order(prefix):
    store = make_store(prefix)
    events = []

    async def tickets_issued(count: int) -> None:
        """Until `count` turns hold a ticket: each turn arrives after the one before has its number."""
        deadline = time.monotonic() + 10
        while len(getattr(stored_lock(store, "c4"), "tickets", ())) < count:
            assert time.monotonic() < deadline, "a turn never got its ticket"
            await asyncio.sleep(0.005)

    async def turn(name: str, arrives_after: int) -> None:
        await tickets_issued(arrives_after)
        async with store.lock("c4", wait_time_in_seconds=0.01):
            events.append(("start", name))
            if name == "a":
                await tickets_issued(4)  # the first turn holds the lock until every other one waits
            await asyncio.sleep(0)
            events.append(("end", name))

    async def main() -> None:
        await asyncio.gather(turn("a", 0), turn("b", 1), turn("other", 2), turn("c", 3))

    asyncio.run(main())
    ordered = [event for event in events if event[1] != "other"]
    assert ordered == [("start", "a"), ("end", "a"), ("start", "b"), ("end", "b"), ("start", "c"), ("end", "c")]
    assert stored_lock(store, "c4") is None


def test_a_turn_that_fails_still_releases_its_ticket(prefix):
    store = make_store(prefix)

    async def failing() -> None:
        async with store.lock("c5"):
            raise ValueError("turn failed")

    with pytest.raises(ValueError):
        asyncio.run(failing())
    assert stored_lock(store, "c5") is None


def test_simultaneous_requests_on_separate_connections_get_distinct_tickets(prefix):
    stores = [make_store(prefix) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    numbers = []

    def issue(store) -> None:
        barrier.wait()
        for _ in range(25):
            numbers.append(store.issue_ticket("c6", 60))

    threads = [threading.Thread(target=issue, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(numbers) == list(range(200))
    assert len(stored_lock(stores[0], "c6").tickets) == 200
