"""What the WhatsApp channel and the notification workers share about a user, without the number.

- **The 24-hour window**: the channel notes when each user last wrote (Meta's message timestamp);
  a worker asks before sending whether it may send free-form text or must send a template.
- **"Notified" markers**: a worker notes which ledger row last reached a user; the channel takes the
  marker back when that user writes, so the campaign's funnel counts the reply.

Keys are HMAC-SHA256 digests of the wa_id with WHATSAPP_STATE_KEY (held by the Rasa server and the
workers only): Redis never sees a phone number. With WHATSAPP_STATE_REDIS_URL unset, the memory of
one process is used: enough for one Rasa server, but workers in other processes then know nothing
about the window and send templates (the safe choice: "unknown" counts as closed).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Callable, Optional, Tuple

log = logging.getLogger(__name__)

WINDOW_TTL_SECONDS = 24 * 3600
NOTIFIED_TTL_SECONDS = 7 * 24 * 3600   # a reply within a week counts for the funnel
MEMORY_CAPACITY = 100_000
PREFIX = "vaksinbot:wa:"
DEV_STATE_KEY = "dev-whatsapp-state-key"
REDIS_TIMEOUT_SECONDS = 2.0


def state_key_from_environment() -> bytes:
    return (os.environ.get("WHATSAPP_STATE_KEY", "").strip() or DEV_STATE_KEY).encode()


def redis_url_from_environment() -> str:
    return os.environ.get("WHATSAPP_STATE_REDIS_URL", "").strip()


class _Keys:
    def __init__(self, key: bytes):
        self._key = key

    def of(self, kind: str, wa_id: str) -> str:
        digest = hmac.new(self._key, wa_id.strip().lstrip("+").encode(), hashlib.sha256).hexdigest()[:40]
        return f"{PREFIX}{kind}:{digest}"


class MemoryConversationState:
    """One process's memory, bounded and expiring; thread-safe."""

    def __init__(self, key: bytes = DEV_STATE_KEY.encode(), capacity: int = MEMORY_CAPACITY,
                 clock: Callable[[], float] = time.time):
        self.keys, self.capacity, self.clock = _Keys(key), capacity, clock
        self._values: "OrderedDict[str, Tuple[str, float]]" = OrderedDict()
        self._lock = threading.Lock()

    def _set(self, key: str, value: str, ttl: float) -> None:
        self._values[key] = (value, self.clock() + ttl)
        self._values.move_to_end(key)
        while len(self._values) > self.capacity:
            self._values.popitem(last=False)

    def _get(self, key: str, pop: bool = False) -> Optional[str]:
        entry = self._values.pop(key, None) if pop else self._values.get(key)
        if entry is None or entry[1] <= self.clock():
            return None
        return entry[0]

    def note_inbound(self, wa_id: str, timestamp: Optional[float] = None) -> Optional[str]:
        """The user wrote: opens their window; returns (and forgets) the notified marker, if any."""
        with self._lock:
            self._set(self.keys.of("in", wa_id), str(timestamp or self.clock()), WINDOW_TTL_SECONDS)
            return self._get(self.keys.of("notified", wa_id), pop=True)

    async def note_inbound_async(self, wa_id: str, timestamp: Optional[float] = None) -> Optional[str]:
        return self.note_inbound(wa_id, timestamp)

    def last_inbound(self, wa_id: str) -> Optional[float]:
        with self._lock:
            value = self._get(self.keys.of("in", wa_id))
        return float(value) if value else None

    def note_notified(self, wa_id: str, reference: str) -> None:
        with self._lock:
            self._set(self.keys.of("notified", wa_id), reference, NOTIFIED_TTL_SECONDS)

    async def close(self) -> None:
        return None


class RedisConversationState:
    """The same through Redis, so every Rasa server and every worker agree. Sync methods for the
    workers, `*_async` for the channel (on Rasa's event loop). Redis trouble never stops a message:
    the window is then "unknown" (a template goes out) and a reply is not counted."""

    def __init__(self, redis_url: str, key: bytes):
        self.redis_url, self.keys = redis_url, _Keys(key)
        self._sync = None
        self._async = None
        self._async_loop = None

    def _client(self):
        if self._sync is None:
            import redis

            self._sync = redis.Redis.from_url(self.redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                              socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        return self._sync

    def _async_client(self):
        import asyncio

        import redis.asyncio

        loop = asyncio.get_running_loop()
        if self._async is None or self._async_loop is not loop:
            self._async = redis.asyncio.from_url(self.redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                                 socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
            self._async_loop = loop
        return self._async

    def note_inbound(self, wa_id: str, timestamp: Optional[float] = None) -> Optional[str]:
        try:
            pipe = self._client().pipeline(transaction=True)
            pipe.set(self.keys.of("in", wa_id), str(timestamp or time.time()), ex=WINDOW_TTL_SECONDS)
            pipe.getdel(self.keys.of("notified", wa_id))
            _, marker = pipe.execute()
        except Exception as error:  # redis raises its own ConnectionError/TimeoutError
            log.warning("conversation state: Redis unavailable (%s)", type(error).__name__)
            return None
        return marker.decode() if marker else None

    async def note_inbound_async(self, wa_id: str, timestamp: Optional[float] = None) -> Optional[str]:
        try:
            pipe = self._async_client().pipeline(transaction=True)
            pipe.set(self.keys.of("in", wa_id), str(timestamp or time.time()), ex=WINDOW_TTL_SECONDS)
            pipe.getdel(self.keys.of("notified", wa_id))
            _, marker = await pipe.execute()
        except Exception as error:
            log.warning("conversation state: Redis unavailable (%s)", type(error).__name__)
            return None
        return marker.decode() if marker else None

    def last_inbound(self, wa_id: str) -> Optional[float]:
        try:
            value = self._client().get(self.keys.of("in", wa_id))
        except Exception as error:
            log.warning("conversation state: Redis unavailable (%s): the window counts as closed",
                        type(error).__name__)
            return None
        return float(value) if value else None

    def note_notified(self, wa_id: str, reference: str) -> None:
        try:
            self._client().set(self.keys.of("notified", wa_id), reference, ex=NOTIFIED_TTL_SECONDS)
        except Exception as error:
            log.warning("conversation state: Redis unavailable (%s): a reply will not be counted",
                        type(error).__name__)

    async def close(self) -> None:
        if self._async is not None:
            await self._async.close()
            self._async = None


def conversation_state(redis_url: Optional[str] = None, key: Optional[bytes] = None):
    """The store for this configuration: shared through Redis when a URL is given."""
    url = redis_url if redis_url is not None else redis_url_from_environment()
    secret = key or state_key_from_environment()
    return RedisConversationState(url, secret) if url else MemoryConversationState(secret)
