"""Meta's limits kept by one process (MemoryLimits) with a fake clock: tier, throughput, pair rate,
back-off. The Redis version is exercised by tests/service/test_notification_queue.py."""
from __future__ import annotations

from backends.notifications.limits import MemoryLimits


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def limits(tier=None, rate=10.0, pair=6.0):
    clock = Clock()
    return MemoryLimits(tier, rate, pair, clock=clock, sleep=clock.sleep), clock


def test_the_tier_counts_a_rolling_24_hours():
    limit, clock = limits(tier=3)
    assert [limit.take_tier() for _ in range(4)] == [True, True, True, False]
    assert limit.tier_remaining() == 0
    clock.now += 23 * 3600
    assert not limit.take_tier()
    clock.now += 3600
    assert limit.take_tier() and limit.tier_remaining() == 2


def test_a_refused_message_gives_its_tier_place_back():
    limit, _ = limits(tier=1)
    assert limit.take_tier()
    limit.give_back_tier()
    assert limit.take_tier()


def test_throughput_is_the_rate_with_small_bursts():
    limit, clock = limits(rate=10.0)
    start = clock.now
    for _ in range(21):
        limit.wait_for_throughput()
    # One token of burst (a tenth of a second's worth), then 10 per second.
    assert abs((clock.now - start) - 2.0) < 1e-6


def test_the_pair_rate_spaces_messages_to_one_user():
    limit, clock = limits(pair=6.0)
    assert limit.pair_wait("6281") == 0.0
    assert limit.pair_wait("6281") == 6.0
    assert limit.pair_wait("6282") == 0.0
    clock.now += 6
    assert limit.pair_wait("6281") == 0.0


def test_a_pause_holds_every_send_back():
    limit, clock = limits(rate=1000.0)
    limit.pause(2.0)
    start = clock.now
    limit.wait_for_throughput()
    assert clock.now - start >= 2.0
