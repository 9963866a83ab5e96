"""Typed client of the registration service (Sistem Informasi Satu Data Vaksinasi)."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

from actions.api.errors import NotFound
from actions.api.http import JsonHttp
from actions.settings import BackendSettings, registration_backend


@dataclass(frozen=True)
class TargetMatch:
    status: str  # "need_second_factor" | "unverified" | "none" | "unique" | "ambiguous"
    target_id: Optional[int]


@dataclass(frozen=True)
class Identification:
    """What a user offers to be identified: the 6 NIK digits and a second factor, and who asks."""

    nik_suffix: str
    requesters: List[str]
    verified_phone: Optional[str] = None
    birth_date: Optional[dt.date] = None
    full_nik: Optional[str] = None


@dataclass(frozen=True)
class Site:
    id: int
    name: str
    address: str
    regency: str
    province: str

    @classmethod
    def from_json(cls, data: dict) -> "Site":
        return cls(data["id"], data["name"], data["address"], data["regency"], data["province"])


@dataclass(frozen=True)
class HealthWorker:
    id: int
    name: str
    masked_nik: str
    profession: str
    facility: str
    assigned_site: Site


@dataclass(frozen=True)
class Slot:
    id: int
    date: dt.date
    session: str
    hours: str
    remaining: int


@dataclass(frozen=True)
class ScreeningResult:
    outcome: str
    may_book: bool
    reasons: List[str]
    advice: List[Dict[str, Any]]  # {"code": ..., "data": {...}}: worded by utter_screening_advice_<code>


@dataclass(frozen=True)
class Appointment:
    id: int
    name: str
    masked_nik: str
    site: Site
    date: dt.date
    session: str
    hours: str
    ticket_code: str
    ticket_image_url: str

    @classmethod
    def from_json(cls, data: dict) -> "Appointment":
        return cls(data["id"], data["name"], data["masked_nik"], Site.from_json(data["site"]),
                   dt.date.fromisoformat(data["date"]), data["session"], data["hours"], data["ticket_code"],
                   data["ticket_image_url"])


@dataclass(frozen=True)
class Contact:
    """Rasa's input channel and sender id of a conversation."""

    channel: str
    conversation_id: str


@dataclass(frozen=True)
class Submission:
    reference: str
    status: str  # "pending" | "validated" | "rejected"
    created_at: str
    outcome: Optional[str] = None  # on submitting: "created" | "duplicate" | "updated"


class RegistrationClient:
    def __init__(self, settings: Optional[BackendSettings] = None):
        self.http = JsonHttp(settings or registration_backend(), "registration")

    def lookup_health_worker(self, identification: Identification) -> TargetMatch:
        """Rejected `lookup_throttled` (429) after too many misses from one requester."""
        body = {"nik_suffix": identification.nik_suffix, "verified_phone": identification.verified_phone,
                "birth_date": identification.birth_date.isoformat() if identification.birth_date else None,
                "full_nik": identification.full_nik, "requesters": identification.requesters}
        data = self.http.post("/v1/targets/lookup", body)
        return TargetMatch(data["status"], data.get("target_id"))

    def health_worker(self, target_id: int) -> HealthWorker:
        data = self.http.get(f"/v1/targets/{target_id}")
        return HealthWorker(data["id"], data["name"], data["masked_nik"], data["profession"], data["facility"],
                            Site.from_json(data["assigned_site"]))

    def active_appointment(self, target_id: int) -> Optional[Appointment]:
        try:
            return Appointment.from_json(self.http.get(f"/v1/targets/{target_id}/appointment"))
        except NotFound:
            return None

    def sites(self, regency: Optional[str] = None) -> List[Site]:
        return [Site.from_json(s) for s in self.http.get("/v1/sites", params={"regency": regency} if regency else None)]

    def offerable_slots(self, site_id: int) -> List[Slot]:
        return [Slot(s["id"], dt.date.fromisoformat(s["date"]), s["session"], s["hours"], s["remaining"])
                for s in self.http.get(f"/v1/sites/{site_id}/slots")]

    def evaluate_screening(self, answers: Dict[str, bool]) -> ScreeningResult:
        data = self.http.post("/v1/screening/evaluate", {"answers": answers})
        advice = [{"code": str(item["code"]), "data": dict(item.get("data") or {})} for item in data["advice"]]
        return ScreeningResult(data["outcome"], data["may_book"], data["reasons"], advice)

    def book(self, target_id: int, slot_id: int, screening_answers: Dict[str, bool], request_id: str,
             contact: Optional[Contact] = None) -> Appointment:
        """`contact`: the conversation that books, where the day-before reminder will go."""
        body = {"target_id": target_id, "slot_id": slot_id, "screening_answers": screening_answers,
                "request_id": request_id}
        if contact is not None:
            body["contact"] = {"channel": contact.channel, "conversation_id": contact.conversation_id}
        return Appointment.from_json(self.http.post("/v1/appointments", body))

    def submit_missing_health_worker(self, nik: str, name: str, profession: str, facility: str, phone: str,
                                     request_id: str) -> Submission:
        data = self.http.post("/v1/submissions", {"nik": nik, "name": name, "profession": profession,
                                                  "facility": facility, "phone": phone, "request_id": request_id})
        return Submission(data["reference"], data["status"], data["created_at"], data.get("outcome"))

    @functools.lru_cache(maxsize=1)
    def professions(self) -> Tuple[str, ...]:
        """The professions a submission may name (the service's one list), fetched once."""
        return tuple(self.http.get("/v1/submissions/professions"))

    def check_submission_field(self, field: str, value: str) -> str:
        """The normalized value, or Rejected with the rule's code and data (which the domain words)."""
        return self.http.post("/v1/submissions/check-field", {"field": field, "value": value})["value"]

    def submission(self, reference: str) -> Submission:
        data = self.http.get(f"/v1/submissions/{quote(reference.strip(), safe='')}")
        return Submission(data["reference"], data["status"], data["created_at"])
