"""Rasa's Redis lock store with every change of a conversation's ticket lock made atomic.

Rasa 3.6's RedisLockStore reads the lock, changes it and writes it back (GET, then SET). With
several Rasa servers, two messages of one user arriving together can both read the same lock,
get the same ticket number and run their turns side by side; the second tracker save then drops
events (the SQL tracker store appends "events beyond the stored count"). Here each change runs
in a Redis transaction (WATCH/MULTI: retried when another server changed the lock meanwhile).

Two more differences, both about waiting:
- a waiting message keeps its own ticket alive (it is polling, so it is not dead); in Rasa 3.6 a
  waiter whose ticket expired found an empty lock that never read as free, and waited until its
  client gave up;
- the lifetime of the holder's ticket starts when its turn starts, not when it began to wait.

    lock_store:
      type: rasa_extensions.lock_store.AtomicRedisLockStore
      url: ...            # the same settings as Rasa's `redis` lock store
"""
from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from typing import Callable, Optional, Text, TypeVar

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

Result = TypeVar("Result")


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        # Rasa creates lock stores named by module path with the endpoint configuration only.
        super().__init__(host=endpoint_config.url or "localhost", **endpoint_config.kwargs)

    def _change(self, conversation_id: Text, change: Callable[[TicketLock], Result]) -> Result:
        key = self.key_prefix + conversation_id

        def apply(pipe) -> Result:
            stored = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(stored)) if stored else TicketLock(conversation_id)
            result = change(lock)
            pipe.multi()
            if lock.tickets:
                pipe.set(key, lock.dumps())
            else:
                pipe.delete(key)
            return result

        return self.red.transaction(apply, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime))
        except Exception as error:  # noqa: BLE001 - Rasa's contract: any failure is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: Text) -> None:
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets())

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # An empty lock is deleted in the same transaction that removes the last ticket.
        self.finish_serving(conversation_id, ticket_number)

    async def _acquire_lock(self, conversation_id: Text, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        while True:
            lock = self._change(conversation_id, lambda lock: _take_turn(lock, ticket, LOCK_LIFETIME))
            if lock is not None:
                return lock
            await asyncio.sleep(wait_time_in_seconds)


def _take_turn(lock: TicketLock, ticket: int, lifetime: float) -> Optional[TicketLock]:
    """Drops expired tickets and renews this live waiter's own; the lock when it is this ticket's turn."""
    lock.remove_expired_tickets()
    own = next((t for t in lock.tickets if t.number == ticket), None)
    if own is None:   # expired before this waiter polled: it takes its place back
        own = Ticket(ticket, 0)
        lock.tickets = deque(sorted([*lock.tickets, own], key=lambda t: t.number))
    own.expires = time.time() + lifetime
    return lock if lock.tickets[0].number == ticket else None
