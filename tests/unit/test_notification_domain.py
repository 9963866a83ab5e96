"""Rules of outbound notifications: cohort dates, the ledger rule, the rate limiter."""
from __future__ import annotations

import datetime as dt

import pytest

from backends.notifications import domain
from backends.shared.clock import WIB

TODAY = dt.date(2026, 11, 23)


def test_appointment_reminders_default_to_tomorrow():
    cohort = domain.choose_cohort("appointment_tomorrow", TODAY)
    assert cohort.date == dt.date(2026, 11, 24)
    assert cohort.campaign_id == "appointment_tomorrow:2026-11-24"
    assert cohort.template.intent == "EXTERNAL_appointment_tomorrow"


def test_an_explicit_appointment_date_is_kept():
    assert domain.choose_cohort("appointment_tomorrow", TODAY, date=dt.date(2026, 12, 1)).date == dt.date(2026, 12, 1)


def test_second_dose_cohort_is_first_dose_exactly_n_days_ago():
    cohort = domain.choose_cohort("second_dose_due", TODAY, days=28)
    assert cohort.date == dt.date(2026, 10, 26)
    assert cohort.days == 28
    assert domain.choose_cohort("second_dose_due", TODAY).date == TODAY - dt.timedelta(days=28)
    # Across a month and a leap day.
    assert domain.first_dose_date(dt.date(2024, 3, 1), 1) == dt.date(2024, 2, 29)


def test_second_dose_campaign_is_keyed_on_the_first_dose_date_not_on_n():
    # --days 28 today and --days 29 tomorrow address the same people: one campaign, no double send.
    today = domain.choose_cohort("second_dose_due", TODAY, days=28)
    tomorrow = domain.choose_cohort("second_dose_due", TODAY + dt.timedelta(days=1), days=29)
    assert today.campaign_id == tomorrow.campaign_id == "second_dose_due:2026-10-26"


@pytest.mark.parametrize("template, kwargs", [
    ("appointment_tomorrow", {"days": 3}),
    ("second_dose_due", {"date": TODAY}),
    ("second_dose_due", {"days": 0}),
    ("second_dose_due", {"days": 400}),
])
def test_wrong_cohort_parameters_are_refused(template, kwargs):
    with pytest.raises(domain.InvalidCohort):
        domain.choose_cohort(template, TODAY, **kwargs)


def test_unknown_template_is_refused():
    with pytest.raises(domain.UnknownTemplate):
        domain.choose_cohort("birthday_greetings", TODAY)


@pytest.mark.parametrize("clock, due", [
    (dt.datetime(2026, 11, 23, 8, 59, tzinfo=WIB), None),
    (dt.datetime(2026, 11, 23, 9, 0, tzinfo=WIB), dt.date(2026, 11, 24)),
    (dt.datetime(2026, 11, 23, 23, 59, tzinfo=WIB), dt.date(2026, 11, 24)),
    (dt.datetime(2026, 11, 30, 10, 0, tzinfo=WIB), dt.date(2026, 12, 1)),
])
def test_reminders_are_due_from_the_reminder_hour_for_tomorrow(clock, due):
    assert domain.reminder_date_due(clock, reminder_hour=9) == due


def test_ledger_rule_sends_once_and_retries_only_failures():
    assert domain.may_claim(None) is True
    assert domain.may_claim(domain.FAILED) is True
    assert domain.may_claim(domain.SENT) is False
    assert domain.may_claim(domain.CLAIMED) is False  # another run is sending: never risk a second message


def test_recipient_without_contact_is_unreachable():
    assert not domain.Recipient(None, None).reachable
    assert not domain.Recipient("whatsapp", "").reachable
    assert domain.Recipient("whatsapp", "6281110000001").reachable


def test_summary_counts_skips_by_reason():
    summary = domain.Summary("c", sent=3, skipped_opted_out=1, skipped_already_sent=2, skipped_no_contact=1, failed=1,
                             total=8)
    assert summary.skipped == 4
    assert summary.as_dict()["skipped"] == 4
    assert "sent 3, skipped 4 (opted out 1, already sent 2, no contact 1), failed 1" in summary.line()


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_token_bucket_allows_a_burst_then_the_rate():
    clock = FakeClock()
    bucket = domain.TokenBucket(rate=2, capacity=2, clock=clock, sleep=clock.sleep)
    assert bucket.acquire() == 0 and bucket.acquire() == 0  # the burst
    assert bucket.acquire() == pytest.approx(0.5)
    assert bucket.acquire() == pytest.approx(0.5)
    # 10 more sends take 5 seconds at 2 per second.
    start = clock.now
    for _ in range(10):
        bucket.acquire()
    assert clock.now - start == pytest.approx(5.0)


def test_token_bucket_refills_while_idle_but_not_beyond_capacity():
    clock = FakeClock()
    bucket = domain.TokenBucket(rate=1, capacity=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        bucket.acquire()
    clock.now += 100
    assert [bucket.acquire() for _ in range(3)] == [0, 0, 0]
    assert bucket.acquire() == pytest.approx(1.0)


def test_token_bucket_refuses_a_non_positive_rate():
    with pytest.raises(ValueError):
        domain.TokenBucket(rate=0)
