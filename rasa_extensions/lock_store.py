"""Rasa's Redis lock store with every change of a conversation's ticket lock made atomic.

Rasa 3.6's RedisLockStore reads the lock, changes it and writes it back (GET, then SET). With
several Rasa servers, two messages of one user arriving together can both read the same lock,
get the same ticket number and run their turns side by side; the second tracker save then drops
events (the SQL tracker store appends "events beyond the stored count"). Here each change is one
Lua script that Redis runs atomically: one round trip, no retries. A message that finds the lock
free takes its turn in the same call that issues its ticket, so an uncontended turn costs two
round trips (take, release) instead of Rasa's six to nine, and both run in a small thread pool so
the server's event loop serves other conversations meanwhile (Rasa's calls block the loop).

Two more differences, both about waiting:
- a waiting message keeps its own ticket alive (it is polling, so it is not dead); in Rasa 3.6 a
  waiter whose ticket expired found an empty lock that never read as free, and waited until its
  client gave up;
- the lifetime of the holder's ticket starts when its turn starts, not when it began to wait.

The stored value keeps Rasa's format (TicketLock.dumps), so Rasa's own code can read it.

    lock_store:
      type: rasa_extensions.lock_store.AtomicRedisLockStore
      url: ...            # the same settings as Rasa's `redis` lock store
"""
from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import AsyncGenerator, Optional, Text, Tuple

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

# KEYS[1]: the lock; ARGV: operation, conversation id, now, lifetime, ticket number.
# Operations: "issue" (new ticket; returns its number and whether it is first in line),
# "take" (renew this waiter's ticket, re-inserting it if it expired; whether it is first),
# "release" (remove the ticket), "expire" (only drop expired tickets).
# A ticket has expired when now > expires (rasa.core.lock.Ticket.has_expired).
_TICKET_SCRIPT = """
local tickets = {}
local raw = redis.call('GET', KEYS[1])
local now, lifetime, number = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if raw then
  for _, encoded in ipairs(cjson.decode(raw)['tickets'] or {}) do
    local ticket = cjson.decode(encoded)
    if not (now > ticket['expires']) then table.insert(tickets, ticket) end
  end
end
local operation = ARGV[1]
if operation == 'issue' then
  number = 0
  if #tickets > 0 then number = tickets[#tickets]['number'] + 1 end
  table.insert(tickets, {number = number, expires = now + lifetime})
elseif operation == 'take' then
  local own = nil
  for _, ticket in ipairs(tickets) do
    if ticket['number'] == number then own = ticket end
  end
  if own == nil then
    own = {number = number}
    local position = #tickets + 1
    for index, ticket in ipairs(tickets) do
      if ticket['number'] > number then position = index; break end
    end
    table.insert(tickets, position, own)
  end
  own['expires'] = now + lifetime
elseif operation == 'release' then
  for index, ticket in ipairs(tickets) do
    if ticket['number'] == number then table.remove(tickets, index); break end
  end
end
if #tickets > 0 then
  local encoded = {}
  for index, ticket in ipairs(tickets) do
    encoded[index] = cjson.encode({number = ticket['number'], expires = ticket['expires']})
  end
  redis.call('SET', KEYS[1], cjson.encode({conversation_id = ARGV[2], tickets = encoded}))
else
  redis.call('DEL', KEYS[1])
end
local first = 0
if #tickets > 0 and tickets[1]['number'] == number then first = 1 end
return {number, first}
"""


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        # Rasa creates lock stores named by module path with the endpoint configuration only.
        super().__init__(host=endpoint_config.url or "localhost", **endpoint_config.kwargs)
        self._ticket_script = self.red.register_script(_TICKET_SCRIPT)
        self._redis_calls = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lock-store")

    def _run(self, operation: Text, conversation_id: Text, lifetime: float = 0.0,
             ticket: int = -1) -> Tuple[int, bool]:
        number, first = self._ticket_script(keys=[self.key_prefix + conversation_id],
                                            args=[operation, conversation_id, repr(time.time()),
                                                  repr(float(lifetime)), ticket])
        return int(number), bool(first)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self._issue(conversation_id, lock_lifetime)[0]

    def _issue(self, conversation_id: Text, lock_lifetime: float) -> Tuple[int, bool]:
        try:
            return self._run("issue", conversation_id, lock_lifetime)
        except Exception as error:  # noqa: BLE001 - Rasa's contract: any failure is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    @asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[Optional[TicketLock], None]:
        ticket, first = await self._in_thread(self._issue, conversation_id, lock_lifetime)
        try:
            if not first:
                await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
            yield None   # Rasa's callers do not use the lock object
        finally:
            await self._in_thread(self.cleanup, conversation_id, ticket)

    async def _acquire_lock(self, conversation_id: Text, ticket: int, wait_time_in_seconds: float) -> None:
        while True:
            await asyncio.sleep(wait_time_in_seconds)
            if (await self._in_thread(self._run, "take", conversation_id, LOCK_LIFETIME, ticket))[1]:
                return

    async def _in_thread(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._redis_calls, function, *args)

    def update_lock(self, conversation_id: Text) -> None:
        self._run("expire", conversation_id)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self._run("release", conversation_id, ticket=ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # An empty lock is deleted by the same script call that removes the last ticket.
        self.finish_serving(conversation_id, ticket_number)


def stored_lock(store: RedisLockStore, conversation_id: Text) -> Optional[TicketLock]:
    """The lock as Rasa's own code reads it (for tests and diagnostics)."""
    raw = store.red.get(store.key_prefix + conversation_id)
    return TicketLock.from_dict(json.loads(raw)) if raw else None
