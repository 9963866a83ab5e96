"""Have we already handled this message id? WhatsApp delivers a webhook again when it did not get
a 200 in time, and may deliver the same message twice anyway; each must reach Rasa once.

`RecentMessageIds` remembers ids in this process: at most `capacity`, each for `ttl_seconds`
(WhatsApp stops redelivering well within a day). With more than one Rasa server behind the
webhook, set `WHATSAPP_DEDUP_REDIS_URL`: `SharedMessageIds` then asks Redis as well (`SET NX EX`,
atomic across servers). If Redis cannot be reached, the in-process memory still answers, so a
Redis outage costs at most a duplicate reply, never a lost message.

Keys are SHA-256 digests of the ids: a WhatsApp message id encodes the sender's phone number.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from typing import Callable, Optional

from privacy.logs import install_log_redaction

log = logging.getLogger(__name__)
install_log_redaction()

DEFAULT_CAPACITY = 10_000
DEFAULT_TTL_SECONDS = 24 * 60 * 60
REDIS_KEY_PREFIX = "vaksinbot:whatsapp:seen:"
REDIS_TIMEOUT_SECONDS = 2.0


def fingerprint(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()


class RecentMessageIds:
    """A bounded, expiring set of ids; safe to call from several threads and coroutines."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, ttl_seconds: float = DEFAULT_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._expiry: "OrderedDict[str, float]" = OrderedDict()  # oldest first
        self._lock = threading.Lock()

    def remember(self, message_id: str) -> bool:
        """True the first time an id is seen (and records it), False for a repeat."""
        key = fingerprint(message_id)
        with self._lock:
            now = self._clock()
            while self._expiry and next(iter(self._expiry.values())) <= now:
                self._expiry.popitem(last=False)
            if key in self._expiry:
                return False
            self._expiry[key] = now + self.ttl_seconds
            while len(self._expiry) > self.capacity:
                self._expiry.popitem(last=False)
            return True

    async def first_time(self, message_id: str) -> bool:
        return self.remember(message_id)

    def __len__(self) -> int:
        return len(self._expiry)


class SharedMessageIds:
    """The in-process memory first, then Redis, so every server behind the webhook agrees."""

    def __init__(self, redis_url: str, local: Optional[RecentMessageIds] = None,
                 ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self.redis_url = redis_url
        self.local = local or RecentMessageIds(ttl_seconds=ttl_seconds)
        self.ttl_seconds = int(ttl_seconds)
        self._client = None
        self._client_loop: Optional[asyncio.AbstractEventLoop] = None

    async def first_time(self, message_id: str) -> bool:
        if not self.local.remember(message_id):
            return False
        try:
            created = await self._redis().set(REDIS_KEY_PREFIX + fingerprint(message_id), "1",
                                              nx=True, ex=self.ttl_seconds)
        except Exception as error:  # redis raises its own ConnectionError/TimeoutError and OSError
            log.warning("Message deduplication: Redis unavailable (%s), using this process's memory only",
                        type(error).__name__)
            return True
        return bool(created)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _redis(self):
        import redis.asyncio  # only needed when WHATSAPP_DEDUP_REDIS_URL is set

        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = redis.asyncio.from_url(self.redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                                  socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
            self._client_loop = loop
        return self._client


def message_ids_seen(redis_url: Optional[str]):
    """The deduplicator for the configuration: shared through Redis when a URL is given."""
    return SharedMessageIds(redis_url) if redis_url else RecentMessageIds()
