"""Rules of outbound notifications, free of I/O.

Campaigns and their cohorts, the ledger's states, the WhatsApp 24-hour window, what Meta's error
codes mean for a recipient (retry, back off, fall back to SMS, give up), Meta's messaging tiers,
the run summary and the funnel. Unit-tested in tests/unit/test_notification_domain.py.
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
SMS_CHANNEL = "sms"
DEFAULT_SECOND_DOSE_DAYS = 28
DEFAULT_INVITATION_ROUND = "1"


# Codes and data, no wording: the assistant's words are `utter_notifications_error_<code>`
# (domain/backend_errors.yml); operators read `detail`.

class UnknownTemplate(DomainError):
    """data: `template` (as given) and `templates` (the known ones)."""

    code, status, detail = "template_unknown", 404, "Unknown notification template."


class InvalidCohort(DomainError):
    """data: `template` and `reason` (round_not_used | date_or_days_not_used | round_format | days_not_used
    | date_not_used | days_range)."""

    code, status, detail = "cohort_invalid", 422, "Invalid cohort parameters."


@dataclass(frozen=True)
class Campaign:
    """A kind of notification: its approved WhatsApp template and how its cohort is chosen."""

    name: str
    cohort: str  # "appointment_date" | "first_dose_days" | "unbooked_health_workers"
    description: str

    @property
    def template(self) -> str:
        """The file under backends/notifications/templates/ (checked by `templates check`)."""
        return self.name

    @property
    def intent(self) -> str:
        # Conversations on other channels (web chat, REST) get the notification through Rasa's
        # external events; Rasa's convention for intents that only such events trigger.
        return f"EXTERNAL_{self.name}"

    @property
    def counts_registrations(self) -> bool:
        """The funnel of an invitation ends with "registered afterwards"."""
        return self.cohort == "unbooked_health_workers"


CAMPAIGNS: Dict[str, Campaign] = {
    "invitation": Campaign("invitation", "unbooked_health_workers",
                           "Every health worker on the target list who has not booked: invited to register"),
    "appointment_tomorrow": Campaign("appointment_tomorrow", "appointment_date",
                                     "Reminder for every booked appointment on a date (default: tomorrow)"),
    "second_dose_due": Campaign("second_dose_due", "first_dose_days",
                                "People whose first dose was exactly N days ago and who have no second dose"),
}
# The HTTP API and the command call campaigns "templates" (one template per campaign).
Template = Campaign
TEMPLATES = CAMPAIGNS


def template(name: str) -> Campaign:
    try:
        return CAMPAIGNS[name]
    except KeyError:
        raise UnknownTemplate(detail=f"Unknown template {name!r}: use one of {', '.join(CAMPAIGNS)}.",
                              template=str(name)[:60], templates=list(CAMPAIGNS)) from None


@dataclass(frozen=True)
class Cohort:
    """Which people a run addresses: the date (or invitation round) that selects them."""

    template: Campaign
    date: dt.date  # appointment date, first-dose date, or (invitation) the day the run started
    days: Optional[int] = None
    round: Optional[str] = None

    @property
    def campaign_id(self) -> str:
        if self.template.cohort == "unbooked_health_workers":
            # One invitation per health worker and round, however many days the tier spreads it over.
            return f"{self.template.name}:{self.round}"
        # Keyed on the selecting date alone: running "second dose due" with --days 28 today and
        # --days 29 tomorrow addresses the same first-dose date, so nobody gets it twice.
        return f"{self.template.name}:{self.date.isoformat()}"


def choose_cohort(template_name: str, today: dt.date, date: Optional[dt.date] = None,
                  days: Optional[int] = None, round: Optional[str] = None) -> Cohort:
    """The cohort of a run from the operator's parameters; `today` is the WIB date."""
    chosen = template(template_name)
    if chosen.cohort != "unbooked_health_workers" and round is not None:
        raise InvalidCohort(detail=f"Template {chosen.name} takes no round.", template=chosen.name,
                            reason="round_not_used")
    if chosen.cohort == "unbooked_health_workers":
        if date is not None or days is not None:
            raise InvalidCohort(detail="Template invitation takes a round, not a date or days.",
                                template=chosen.name, reason="date_or_days_not_used")
        round = (round or DEFAULT_INVITATION_ROUND).strip()
        if not round or len(round) > 40 or not all(c.isalnum() or c in "-_." for c in round):
            raise InvalidCohort(detail="A round is 1-40 letters, digits, dots, underscores or dashes.",
                                template=chosen.name, reason="round_format")
        return Cohort(chosen, today, round=round)
    if chosen.cohort == "appointment_date":
        if days is not None:
            raise InvalidCohort(detail="Template appointment_tomorrow takes an appointment date, not days.",
                                template=chosen.name, reason="days_not_used")
        return Cohort(chosen, date or today + dt.timedelta(days=1))
    if date is not None:
        raise InvalidCohort(detail="Template second_dose_due takes days since the first dose, not a date.",
                            template=chosen.name, reason="date_not_used")
    days = DEFAULT_SECOND_DOSE_DAYS if days is None else days
    if not 1 <= days <= 366:
        raise InvalidCohort(detail="Days since the first dose must be 1 to 366.", template=chosen.name,
                            reason="days_range", min=1, max=366)
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


@dataclass(frozen=True)
class Recipient:
    """One person of a cohort: where to reach them, the values the message shows, and (for the
    funnel) the opaque id of the person in the owning backend, e.g. "target:17"."""

    channel: Optional[str]
    conversation_id: Optional[str]
    entities: Dict[str, str] = field(default_factory=dict)
    subject_ref: Optional[str] = None
    sms_phone: Optional[str] = None  # E.164, when an SMS may replace an undelivered WhatsApp message

    @property
    def reachable(self) -> bool:
        return bool(self.channel and self.conversation_id)


# --- The delivery ledger -------------------------------------------------------------------------
# queued -> sending -> sent -> delivered -> read; failed; deferred (the messaging tier was used up).
# `sending` is the only state in which a message may be on its way: it is never sent again
# automatically until a status webhook settles it, or the in-doubt grace period proves it never
# reached Meta (docs/notifications.md, "Crash safety").

QUEUED, SENDING, SENT, DELIVERED, READ, FAILED, DEFERRED = (
    "queued", "sending", "sent", "delivered", "read", "failed", "deferred")
CLAIMED = SENDING  # the name of the state before queues (kept for readers of old rows)
STATUS_RANK = {SENT: 1, DELIVERED: 2, READ: 3}
STATUSES_REPORTED = frozenset({"sent", "delivered", "read", "failed"})  # Meta's status webhooks


def may_claim(status: Optional[str]) -> bool:
    """May a run (re)queue a recipient whose ledger row for this campaign has `status`?

    No row: yes (first attempt). Failed: yes, a re-run retries it. Queued or deferred: yes, a
    re-run resumes it (a task already in the queue is harmless: only one worker can move the row
    to `sending`). Sending: never - the message may be on its way. Sent and later: never again.
    """
    return status in (None, FAILED, QUEUED, DEFERRED)


def later_status(current: str, reported: str) -> str:
    """Meta's status webhooks may arrive out of order (read before delivered): keep the furthest."""
    if reported not in STATUS_RANK:
        return current
    return reported if STATUS_RANK.get(current, 0) < STATUS_RANK[reported] else current


# --- The 24-hour customer service window ---------------------------------------------------------

WINDOW_SECONDS = 24 * 3600
# A free-form message must arrive while the window is still open: leave room for the queue.
WINDOW_SAFETY_SECONDS = 10 * 60
TEMPLATE, TEXT = "template", "text"


def whatsapp_message_kind(last_inbound_at: Optional[float], now: float) -> str:
    """Free-form text inside the window (the user wrote less than 24 h ago), else the template.
    Unknown (no record of the user writing) counts as closed."""
    if last_inbound_at is None:
        return TEMPLATE
    return TEXT if now - last_inbound_at < WINDOW_SECONDS - WINDOW_SAFETY_SECONDS else TEMPLATE


# --- What Meta's answers mean ---------------------------------------------------------------------

RETRY, THROTTLED, PAIR_LIMITED, WINDOW_CLOSED, UNDELIVERABLE, DO_NOT_CONTACT, CONFIGURATION = (
    "retry", "throttled", "pair_limited", "window_closed", "undeliverable", "do_not_contact", "configuration")

# Rate limits: throughput of the number (130429) and messages to one user (131056).
THROUGHPUT_CODES = frozenset({130429, 80007})
PAIR_RATE_CODES = frozenset({131056})
# The free-form message came after the 24-hour window had closed: send the template instead.
WINDOW_CODES = frozenset({131047})
# The recipient cannot get it on WhatsApp: not a WhatsApp number, or Meta would not deliver.
UNDELIVERABLE_CODES = frozenset({131026, 131049, 131021, 131051, 131053})
# The user asked WhatsApp not to get such messages: no SMS either.
DO_NOT_CONTACT_CODES = frozenset({131050})
# Our side is wrong (token, permissions, template, account): every recipient would fail the same
# way, so no SMS flood - the run reports it and the operator fixes it and runs again.
CONFIGURATION_CODES = frozenset({0, 3, 10, 100, 190, 200, 131008, 131009, 131031, 131042, 131045,
                                 132000, 132001, 132005, 132007, 132012, 132015, 132016, 133010})
# Meta's own trouble: try again later.
TRANSIENT_CODES = frozenset({1, 2, 4, 131000, 131016})


def classify_send_error(http_status: Optional[int], code: Optional[int]) -> str:
    """The consequence of a refused send (`http_status` None: no answer at all)."""
    if code in THROUGHPUT_CODES or (code is None and http_status == 429):
        return THROTTLED
    if code in PAIR_RATE_CODES:
        return PAIR_LIMITED
    if code in WINDOW_CODES:
        return WINDOW_CLOSED
    if code in UNDELIVERABLE_CODES:
        return UNDELIVERABLE
    if code in DO_NOT_CONTACT_CODES:
        return DO_NOT_CONTACT
    if code in TRANSIENT_CODES or http_status is None or http_status >= 500:
        return RETRY
    if code in CONFIGURATION_CODES or (http_status is not None and http_status in (400, 401, 403, 404)):
        return CONFIGURATION
    return RETRY


def classify_failed_status(code: Optional[int]) -> str:
    """The consequence of a `failed` status webhook: Meta accepted the message, then did not
    deliver it. Most failures mean this person cannot get it on WhatsApp (-> SMS, if the campaign
    has one); rate limits and a closed window mean "send again" (as a template)."""
    if code in THROUGHPUT_CODES or code in PAIR_RATE_CODES:
        return THROTTLED
    if code in WINDOW_CODES:
        return WINDOW_CLOSED
    if code in DO_NOT_CONTACT_CODES:
        return DO_NOT_CONTACT
    if code in CONFIGURATION_CODES and code not in (0, 100):
        return CONFIGURATION
    return UNDELIVERABLE


# --- Meta's messaging tiers ------------------------------------------------------------------------

MESSAGING_TIERS: Dict[str, Optional[int]] = {"250": 250, "1k": 1_000, "10k": 10_000, "100k": 100_000,
                                             "unlimited": None}


def tier_limit(name: str) -> Optional[int]:
    """Business-initiated conversations a number may open per rolling 24 hours (None: no limit)."""
    key = (name or "1k").strip().lower().replace("_", "").replace(",", "")
    if key in MESSAGING_TIERS:
        return MESSAGING_TIERS[key]
    if key.isdigit() and int(key) > 0:
        return int(key)
    raise ValueError(f"unknown messaging tier {name!r}: use one of {', '.join(MESSAGING_TIERS)} or a number")


def days_to_send(count: int, limit: Optional[int]) -> int:
    """How many rolling days a number at a tier needs for `count` template messages."""
    if count <= 0:
        return 0
    return 1 if limit is None else -(-count // limit)


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
    queued: int = 0
    deferred: int = 0
    # Dry runs: how the would-be messages split (templates cost; free-form inside the window does not).
    would_send_template: int = 0
    would_send_text: int = 0
    would_send_other_channel: int = 0

    @property
    def skipped(self) -> int:
        return self.skipped_opted_out + self.skipped_already_sent + self.skipped_no_contact

    def as_dict(self) -> dict:
        return {"campaign_id": self.campaign_id, "dry_run": self.dry_run, "total": self.total, "sent": self.sent,
                "would_send": self.would_send, "skipped": self.skipped,
                "skipped_opted_out": self.skipped_opted_out, "skipped_already_sent": self.skipped_already_sent,
                "skipped_no_contact": self.skipped_no_contact, "failed": self.failed, "queued": self.queued,
                "deferred": self.deferred}

    def line(self) -> str:
        text = (f"{self.campaign_id}: {self.total} recipients, sent {self.sent}, skipped {self.skipped} "
                f"(opted out {self.skipped_opted_out}, already sent {self.skipped_already_sent}, "
                f"no contact {self.skipped_no_contact}), failed {self.failed}")
        if self.queued:
            text += f", queued {self.queued}"
        if self.deferred:
            text += f", deferred {self.deferred} (messaging tier used up: run again later)"
        return text + (f", would send {self.would_send} (dry run)" if self.dry_run else "")


@dataclass(frozen=True)
class Funnel:
    """What became of a campaign's messages, from the ledger and Meta's status webhooks."""

    campaign_id: str
    recipients: int = 0      # ledger rows: everyone the campaign addressed
    pending: int = 0         # queued, sending or deferred
    sent: int = 0            # accepted (WhatsApp: Meta's `sent`, or the send call's answer; SMS: the gateway)
    delivered: int = 0
    read: int = 0
    failed: int = 0          # WhatsApp could not deliver (whether or not an SMS followed)
    sms_fallback: int = 0    # of those, reached by SMS instead
    replied: int = 0
    registered: Optional[int] = None  # invitations: booked an appointment after the message

    def as_dict(self) -> dict:
        return {"campaign_id": self.campaign_id, "recipients": self.recipients, "pending": self.pending,
                "sent": self.sent, "delivered": self.delivered, "read": self.read, "failed": self.failed,
                "sms_fallback": self.sms_fallback, "replied": self.replied, "registered": self.registered}

    def line(self) -> str:
        text = (f"funnel {self.campaign_id}: {self.recipients} recipients, sent {self.sent}, "
                f"delivered {self.delivered}, read {self.read}, failed {self.failed} "
                f"(SMS instead {self.sms_fallback}), replied {self.replied}")
        if self.registered is not None:
            text += f", registered afterwards {self.registered}"
        return text + (f", pending {self.pending}" if self.pending else "")


# --- Rate limit (one process) ----------------------------------------------------------------------

class TokenBucket:
    """At most `rate` sends per second on average, with bursts of up to `capacity`.

    Thread-safe, for one process (the inline sender of `make run`); workers on several machines
    share their limits through Redis instead (backends/notifications/limits.py). Clock and sleep
    are injectable for tests.
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
