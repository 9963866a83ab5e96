"""Day-before reminders with an injected clock, against the real registration service (SQLite and
PostgreSQL) and a fake Graph API that records the WhatsApp templates sent."""
from __future__ import annotations

import datetime as dt

import pytest

from backends.notifications.cohorts import BackendCohorts
from backends.notifications.scheduler import ReminderScheduler
from backends.notifications.wiring import build_sender
from backends.shared.clock import WIB
from backends.shared.settings import NotificationSettings
from tests.service.test_notification_service import Stack


def make_sender(stack: Stack, options: NotificationSettings):
    return build_sender(stack.sessions, stack.notification_settings, options, stack.delivery,
                        cohorts=BackendCohorts.from_settings(options))


class Clock:
    def __init__(self):
        self.now = None

    def at(self, date: dt.date, hour: int, minute: int = 0) -> None:
        self.now = dt.datetime.combine(date, dt.time(hour, minute), tzinfo=WIB)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def stack(database_url, serve_app):
    running = Stack(database_url, serve_app)
    yield running
    running.close()


def test_reminders_go_out_once_the_day_before_from_nine_and_catch_later_bookings(stack):
    sender = make_sender(stack, stack.options)
    clock = Clock()
    scheduler = ReminderScheduler(sender, reminder_hour=9, clock=clock)
    slot = stack.free_slot(min_remaining=3)
    day = dt.date.fromisoformat(slot["date"])
    early, late, cancelled = stack.target_ids(3)
    stack.book(early, slot["id"], "6281200000001")

    clock.at(day - dt.timedelta(days=2), 10)  # D-2: tomorrow's reminders are for another date
    scheduler.tick()
    assert stack.graph.accepted == []

    clock.at(day - dt.timedelta(days=1), 8, 59)  # D-1 before 09:00: nobody is woken up
    assert scheduler.tick() is None
    assert stack.graph.accepted == []

    clock.at(day - dt.timedelta(days=1), 9, 1)
    first = scheduler.tick()
    assert (first.campaign_id, first.sent) == (f"appointment_tomorrow:{day}", 1)
    assert stack.graph.recipients() == ["6281200000001"]

    clock.at(day - dt.timedelta(days=1), 9, 2)  # the next tick: nothing new
    assert (scheduler.tick().sent, len(stack.graph.accepted)) == (0, 1)

    stack.book(late, slot["id"], "6281200000002")  # booked later that day
    stack.cancel(stack.book(cancelled, slot["id"], "6281200000003"))  # booked, then cancelled
    clock.at(day - dt.timedelta(days=1), 14, 30)
    later = scheduler.tick()
    assert (later.sent, later.skipped_already_sent) == (1, 1)
    assert stack.graph.recipients() == ["6281200000001", "6281200000002"]

    clock.at(day, 9, 5)  # on the day itself the scheduler looks at the next day
    scheduler.tick()
    assert stack.graph.recipients() == ["6281200000001", "6281200000002"]
    assert all(m["template"] == "vaksinbot_appointment_tomorrow_v1" for m in stack.graph.accepted)


def test_a_tick_while_the_registration_service_is_down_sends_nothing_and_does_not_crash(stack):
    options = stack.options.__dict__ | {"registration_url": "http://127.0.0.1:9"}
    sender = make_sender(stack, NotificationSettings(**options))
    clock = Clock()
    clock.at(dt.date(2026, 11, 23), 10)
    assert ReminderScheduler(sender, reminder_hour=9, clock=clock).tick() is None
    assert stack.graph.accepted == []
