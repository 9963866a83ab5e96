"""Who to notify, asked of the backends that own the data (one small typed client each).

Registration: booked appointments on a date, with the conversation that booked them; health
workers on the target list who have not booked (the invitation, at the target's phone, a page at
a time), and who booked since a time (the funnel's "registered afterwards").
Certificate: people whose first dose was on a date and who have no second dose, reachable on
WhatsApp at their registered number.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Dict, Iterator, List, Protocol

import requests

from backends.notifications.domain import WHATSAPP_CHANNEL, Cohort, Recipient
from backends.shared.settings import NotificationSettings

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_SECONDS = 3.0
PAGE_SIZE = 2000


class CohortUnavailable(Exception):
    """The owning backend did not answer: the run stops before sending anything."""


class CohortSource(Protocol):
    def recipients(self, cohort: Cohort) -> Iterator[Recipient]:
        ...


class _BackendClient:
    def __init__(self, base_url: str, api_key: str, timeout_seconds: float, service: str):
        self.base_url, self.service = base_url.rstrip("/"), service
        self.timeout = (CONNECT_TIMEOUT_SECONDS, timeout_seconds)
        self.http = requests.Session()
        self.http.headers.update({"X-API-Key": api_key, "Accept": "application/json"})

    def get(self, path: str, params: dict) -> list:
        try:
            response = self.http.get(self.base_url + path, params=params, timeout=self.timeout)
        except requests.RequestException as error:
            log.warning("%s backend unreachable for cohort %s (%s)", self.service, path, type(error).__name__)
            raise CohortUnavailable(f"{self.service} unreachable") from None
        if response.status_code != 200:
            log.warning("%s backend answered %s for cohort %s", self.service, response.status_code, path)
            raise CohortUnavailable(f"{self.service} answered {response.status_code}")
        return response.json()


def _recipient(row: dict, entities: dict) -> Recipient:
    """A cohort row of either backend: the conversation to notify (`contact`) and what to tell it."""
    contact = row.get("contact") or {}
    return Recipient(channel=contact.get("channel"), conversation_id=contact.get("conversation_id"),
                     entities=entities)


class RegistrationCohorts(_BackendClient):
    def __init__(self, base_url: str, api_key: str, timeout_seconds: float = 10):
        super().__init__(base_url, api_key, timeout_seconds, "registration")

    def appointments_on(self, date: dt.date) -> List[Recipient]:
        rows = self.get("/v1/cohorts/appointments", {"date": date.isoformat()})
        return [_recipient(row, {"date": row["date"], "session": row["session"], "hours": row["hours"],
                                 "site_name": row["site_name"], "site_address": row["site_address"]})
                for row in rows]

    def unbooked_health_workers(self, page_size: int = PAGE_SIZE) -> Iterator[Recipient]:
        """Every health worker with no active booking, reached on WhatsApp at the target's phone
        (wa_id = E.164 without "+"), with the same number for the SMS fallback."""
        after = 0
        while True:
            rows = self.get("/v1/cohorts/health-workers", {"booked": "false", "after_id": after, "limit": page_size})
            for row in rows:
                phone = row.get("phone") or ""
                yield Recipient(channel=WHATSAPP_CHANNEL if phone else None, conversation_id=phone.lstrip("+") or None,
                                entities={"facility": row.get("facility") or ""},
                                subject_ref=f"target:{row['target_id']}", sms_phone=phone or None)
            if len(rows) < page_size:
                return
            after = rows[-1]["target_id"]

    def booked_since(self, since: dt.datetime, page_size: int = PAGE_SIZE) -> Dict[str, dt.datetime]:
        """subject_ref -> when the booking was made, for the bookings made since `since` (naive UTC)."""
        booked: Dict[str, dt.datetime] = {}
        after = 0
        while True:
            rows = self.get("/v1/cohorts/health-workers", {"booked": "true", "after_id": after, "limit": page_size,
                                                           "booked_since": since.replace(microsecond=0).isoformat()})
            for row in rows:
                booked[f"target:{row['target_id']}"] = dt.datetime.fromisoformat(row["booked_at"]).replace(tzinfo=None)
            if len(rows) < page_size:
                return booked
            after = rows[-1]["target_id"]


class CertificateCohorts(_BackendClient):
    def __init__(self, base_url: str, api_key: str, timeout_seconds: float = 10):
        super().__init__(base_url, api_key, timeout_seconds, "certificate")

    def second_dose_due(self, first_dose_date: dt.date) -> List[Recipient]:
        rows = self.get("/v1/cohorts/second-dose-due", {"first_dose_date": first_dose_date.isoformat()})
        return [_recipient(row, {"first_dose_date": row["first_dose_date"], "brand": row["brand"]}) for row in rows]


class BackendCohorts:
    """The CohortSource used in production: each template's cohort from its owning backend."""

    def __init__(self, registration: RegistrationCohorts, certificate: CertificateCohorts):
        self.registration, self.certificate = registration, certificate

    @classmethod
    def from_settings(cls, settings: NotificationSettings) -> "BackendCohorts":
        return cls(RegistrationCohorts(settings.registration_url, settings.registration_api_key,
                                       settings.timeout_seconds),
                   CertificateCohorts(settings.certificate_url, settings.certificate_api_key,
                                      settings.timeout_seconds))

    def recipients(self, cohort: Cohort) -> Iterator[Recipient]:
        if cohort.template.cohort == "unbooked_health_workers":
            return self.registration.unbooked_health_workers()
        if cohort.template.cohort == "appointment_date":
            return iter(self.registration.appointments_on(cohort.date))
        recipients = self.certificate.second_dose_due(cohort.date)
        # The message says how long ago the first dose was.
        return iter([Recipient(r.channel, r.conversation_id, dict(r.entities, days=str(cohort.days)))
                     for r in recipients])

    def booked_since(self, since: dt.datetime) -> Dict[str, dt.datetime]:
        return self.registration.booked_since(since)
