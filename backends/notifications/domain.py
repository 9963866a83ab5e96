"""Rules of outbound notifications, free of I/O.

Unit-tested in tests/unit/test_notification_domain.py.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional

from backends.shared.errors import DomainError

# The WhatsApp channel's conversation id is the wa_id: the E.164 number without "+".
WHATSAPP_CHANNEL = "whatsapp"
DEFAULT_SECOND_DOSE_DAYS = 28


class UnknownTemplate(DomainError):
    code, status = "template_unknown", 404
    message = "Template notifikasi tidak dikenal."


class InvalidCohort(DomainError):
    code, status = "cohort_invalid", 422
    message = "Parameter kelompok penerima tidak valid."


@dataclass(frozen=True)
class Template:
    """A notification: the Rasa intent it triggers and how its cohort is chosen."""

    name: str
    cohort: str  # "appointment_date" | "first_dose_days"
    description: str

    @property
    def intent(self) -> str:
        # Rasa's convention for intents that only external events trigger.
        return f"EXTERNAL_{self.name}"


TEMPLATES: Dict[str, Template] = {
    "appointment_tomorrow": Template("appointment_tomorrow", "appointment_date",
                                     "Reminder for every booked appointment on a date (default: tomorrow)"),
    "second_dose_due": Template("second_dose_due", "first_dose_days",
                                "People whose first dose was exactly N days ago and who have no second dose"),
}


def template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise UnknownTemplate(f"Template notifikasi tidak dikenal: {name}. Pilih: {', '.join(TEMPLATES)}.") from None


@dataclass(frozen=True)
class Cohort:
    """Which people a run addresses: the date that selects them in the owning backend."""

    template: Template
    date: dt.date  # appointment date, or first-dose date
    days: Optional[int] = None

    @property
    def campaign_id(self) -> str:
        # Keyed on the selecting date alone: running "second dose due" with --days 28 today and
        # --days 29 tomorrow addresses the same first-dose date, so nobody gets it twice.
        return f"{self.template.name}:{self.date.isoformat()}"


def choose_cohort(template_name: str, today: dt.date, date: Optional[dt.date] = None,
                  days: Optional[int] = None) -> Cohort:
    """The cohort of a run from the operator's parameters; `today` is the WIB date."""
    chosen = template(template_name)
    if chosen.cohort == "appointment_date":
        if days is not None:
            raise InvalidCohort("Template appointment_tomorrow memakai tanggal janji (date), bukan days.")
        return Cohort(chosen, date or today + dt.timedelta(days=1))
    if date is not None:
        raise InvalidCohort("Template second_dose_due memakai jumlah hari sejak dosis pertama (days), bukan date.")
    days = DEFAULT_SECOND_DOSE_DAYS if days is None else days
    if not 1 <= days <= 366:
        raise InvalidCohort("Jumlah hari sejak dosis pertama harus antara 1 dan 366.")
    return Cohort(chosen, first_dose_date(today, days), days)


def first_dose_date(today: dt.date, days: int) -> dt.date:
    """"First dose exactly N days ago": the calendar date N days before today (WIB)."""
    return today - dt.timedelta(days=days)


def reminder_date_due(now_local: dt.datetime, reminder_hour: int) -> Optional[dt.date]:
    """The appointment date whose day-before reminders are due at `now_local` (WIB), if any.

    Before the reminder hour nothing is due (people are not woken up); from then until midnight
    tomorrow's appointments are due, every tick, so bookings made later that day are caught.
    """
    if now_local.hour < reminder_hour:
        return None
    return now_local.date() + dt.timedelta(days=1)


# --- The delivery ledger -------------------------------------------------------------------------

CLAIMED, SENT, FAILED = "claimed", "sent", "failed"


def may_claim(status: Optional[str]) -> bool:
    """May a run send to a recipient whose ledger row for this campaign has `status`?

    No row: yes (first attempt). Failed: yes, a re-run retries it. Sent: never again. Claimed:
    another run is sending right now (or crashed mid-send) - never risk a second message.
    """
    return status is None or status == FAILED


@dataclass(frozen=True)
class Recipient:
    """One person of a cohort: where to reach them and the values the message shows."""

    channel: Optional[str]
    conversation_id: Optional[str]
    entities: Dict[str, str] = field(default_factory=dict)

    @property
    def reachable(self) -> bool:
        return bool(self.channel and self.conversation_id)


@dataclass
class Summary:
    """What one run did; `skipped_*` are the reasons a recipient got nothing this time."""

    campaign_id: str
    dry_run: bool = False
    total: int = 0
    sent: int = 0
    would_send: int = 0
    skipped_opted_out: int = 0
    skipped_already_sent: int = 0
    skipped_no_contact: int = 0
    failed: int = 0

    @property
    def skipped(self) -> int:
        return self.skipped_opted_out + self.skipped_already_sent + self.skipped_no_contact

    def as_dict(self) -> dict:
        return {"campaign_id": self.campaign_id, "dry_run": self.dry_run, "total": self.total, "sent": self.sent,
                "would_send": self.would_send, "skipped": self.skipped,
                "skipped_opted_out": self.skipped_opted_out, "skipped_already_sent": self.skipped_already_sent,
                "skipped_no_contact": self.skipped_no_contact, "failed": self.failed}

    def line(self) -> str:
        text = (f"{self.campaign_id}: {self.total} recipients, sent {self.sent}, skipped {self.skipped} "
                f"(opted out {self.skipped_opted_out}, already sent {self.skipped_already_sent}, "
                f"no contact {self.skipped_no_contact}), failed {self.failed}")
        return text + (f", would send {self.would_send} (dry run)" if self.dry_run else "")


# --- Rate limit ----------------------------------------------------------------------------------

class TokenBucket:
    """At most `rate` sends per second on average, with bursts of up to `capacity`.

    Thread-safe: the API may run several campaigns at once and they share one bucket, so the
    Rasa server sees the configured rate in total. Clock and sleep are injectable for tests.
    """

    def __init__(self, rate: float, capacity: Optional[float] = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self.clock, self.sleep = clock, sleep
        self.tokens = self.capacity
        self.updated = clock()
        self.lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def acquire(self) -> float:
        """Takes one token, waiting for it if needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self.lock:
                self._refill()
                if self.tokens >= 1:
                    self.tokens -= 1
                    return waited
                wait = (1 - self.tokens) / self.rate
            self.sleep(wait)
            waited += wait
