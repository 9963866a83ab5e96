"""Meta's sending limits, kept by every worker together (Redis) or by one process (memory).

- **Messaging tier**: business-initiated conversations per number per rolling 24 hours (250, 1K,
  10K, 100K, unlimited). Counted in hourly buckets over the last 24; a template message takes one.
  Counted per message, not per distinct user: a user who gets two campaigns in a day counts twice,
  which errs on the safe side.
- **Throughput** per number (80 messages/s by default): a token bucket with small bursts (a tenth
  of a second's worth), so no second sees much more than the rate.
- **Pair rate**: one message to the same user per `pair_interval` seconds (Meta: 131056).
- **Back-off**: after a 130429 (throughput exceeded) every worker pauses sending for a while.

The Redis scripts take the time from Redis (`TIME`), so workers on machines with different clocks
agree. Keys hold the number id and HMAC digests of users, never a phone number.
"""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import Callable, Dict, Optional

PREFIX = "vaksinbot:limits:"
HOUR_MS = 3600 * 1000

_THROUGHPUT = """
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return pause end
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000)
return wait
"""

_TIER = """
local limit, take = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local hour = math.floor(tonumber(clock[1]) / 3600)
local used = 0
for i = 0, 23 do used = used + (tonumber(redis.call('GET', KEYS[1] .. ':' .. (hour - i))) or 0) end
if take == 0 then return limit - used end
if used + take > limit then return -1 end
redis.call('INCRBY', KEYS[1] .. ':' .. hour, take)
redis.call('EXPIRE', KEYS[1] .. ':' .. hour, 25 * 3600)
return limit - used - take
"""


class RedisLimits:
    def __init__(self, redis_url: str, number_id: str, key: bytes, tier: Optional[int], messages_per_second: float,
                 pair_interval_seconds: float, sleep: Callable[[float], None] = time.sleep):
        import redis

        self.redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self.number, self.key, self.tier = number_id or "default", key, tier
        self.rate = messages_per_second
        self.capacity = max(1.0, messages_per_second / 10)
        self.pair_ms = int(pair_interval_seconds * 1000)
        self.sleep = sleep
        self._throughput = self.redis.register_script(_THROUGHPUT)
        self._tier = self.redis.register_script(_TIER)

    def _user(self, wa_id: str) -> str:
        return hmac.new(self.key, wa_id.encode(), hashlib.sha256).hexdigest()[:40]

    def take_tier(self) -> bool:
        """One business-initiated conversation; False when the tier is used up for now."""
        if self.tier is None:
            return True
        return int(self._tier(keys=[f"{PREFIX}tier:{self.number}"], args=[self.tier, 1])) >= 0

    def tier_remaining(self) -> Optional[int]:
        if self.tier is None:
            return None
        return max(0, int(self._tier(keys=[f"{PREFIX}tier:{self.number}"], args=[self.tier, 0])))

    def give_back_tier(self) -> None:
        """Meta refused the message: it opened no conversation."""
        if self.tier is not None:
            hour = int(self.redis.time()[0]) // 3600
            self.redis.decr(f"{PREFIX}tier:{self.number}:{hour}")

    def wait_for_throughput(self) -> float:
        """Blocks until this number may send one more message; returns the seconds waited."""
        waited = 0.0
        while True:
            wait_ms = int(self._throughput(keys=[f"{PREFIX}rate:{self.number}", f"{PREFIX}pause:{self.number}"],
                                           args=[self.rate, self.capacity]))
            if wait_ms <= 0:
                return waited
            self.sleep(wait_ms / 1000)
            waited += wait_ms / 1000

    def pair_wait(self, wa_id: str) -> float:
        """0 and the user's turn is taken, or the seconds until a message to this user is allowed."""
        key = f"{PREFIX}pair:{self.number}:{self._user(wa_id)}"
        if self.redis.set(key, b"1", px=self.pair_ms, nx=True):
            return 0.0
        return max(0.001, self.redis.pttl(key) / 1000)

    def pause(self, seconds: float) -> None:
        """Every worker stops sending from this number for `seconds` (after a 130429)."""
        self.redis.set(f"{PREFIX}pause:{self.number}", b"1", px=max(1, int(seconds * 1000)))


class MemoryLimits:
    """The same limits for one process (inline sending); clock and sleep injectable for tests."""

    def __init__(self, tier: Optional[int], messages_per_second: float, pair_interval_seconds: float,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.tier, self.rate, self.pair_interval = tier, messages_per_second, pair_interval_seconds
        self.capacity = max(1.0, messages_per_second / 10)
        self.clock, self.sleep = clock, sleep
        self.tokens, self.updated = self.capacity, clock()
        self.sent_by_hour: Dict[int, int] = {}
        self.pairs: Dict[str, float] = {}
        self.paused_until = 0.0
        self.lock = threading.Lock()

    def _used(self, hour: int) -> int:
        return sum(self.sent_by_hour.get(hour - i, 0) for i in range(24))

    def take_tier(self) -> bool:
        if self.tier is None:
            return True
        with self.lock:
            hour = int(self.clock() // 3600)
            if self._used(hour) + 1 > self.tier:
                return False
            self.sent_by_hour[hour] = self.sent_by_hour.get(hour, 0) + 1
            return True

    def tier_remaining(self) -> Optional[int]:
        if self.tier is None:
            return None
        with self.lock:
            return max(0, self.tier - self._used(int(self.clock() // 3600)))

    def give_back_tier(self) -> None:
        if self.tier is not None:
            with self.lock:
                hour = int(self.clock() // 3600)
                self.sent_by_hour[hour] = self.sent_by_hour.get(hour, 0) - 1

    def wait_for_throughput(self) -> float:
        waited = 0.0
        while True:
            with self.lock:
                now = self.clock()
                if now < self.paused_until:
                    wait = self.paused_until - now
                else:
                    self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                    self.updated = now
                    if self.tokens >= 1 - 1e-9:  # float rounding must not leave a sliver to wait for
                        self.tokens = max(0.0, self.tokens - 1)
                        return waited
                    wait = (1 - self.tokens) / self.rate
            self.sleep(wait)
            waited += wait

    def pair_wait(self, wa_id: str) -> float:
        with self.lock:
            now = self.clock()
            free_at = self.pairs.get(wa_id, 0.0)
            if now >= free_at:
                self.pairs[wa_id] = now + self.pair_interval
                return 0.0
            return free_at - now

    def pause(self, seconds: float) -> None:
        with self.lock:
            self.paused_until = max(self.paused_until, self.clock() + seconds)


def make_limits(settings) -> "RedisLimits | MemoryLimits":
    if settings.limits_redis_url:
        return RedisLimits(settings.limits_redis_url, settings.phone_number_id, settings.state_key,
                           settings.messaging_tier, settings.messages_per_second, settings.pair_interval_seconds)
    return MemoryLimits(settings.messaging_tier, settings.messages_per_second, settings.pair_interval_seconds)
