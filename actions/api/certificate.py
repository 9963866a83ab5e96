"""Typed client of the certificate service (PeduliLindungi)."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence

from actions.api.http import JsonHttp
from actions.settings import BackendSettings, certificate_backend

SESSION_HEADER = "X-Session-Token"


@dataclass(frozen=True)
class Verification:
    token: str
    expires_in_seconds: int


@dataclass(frozen=True)
class Dose:
    dose: int
    label: str
    date: dt.date
    brand: str
    site: str
    certificate_issued: bool


@dataclass(frozen=True)
class CertificateLink:
    url: str
    expires_at: str


@dataclass(frozen=True)
class Change:
    old: str
    new: str


@dataclass(frozen=True)
class Profile:
    nik_masked: str
    name: str
    phone_masked: str


@dataclass(frozen=True)
class Escalation:
    reference: str
    working_days: int


@dataclass(frozen=True)
class Recovery:
    """A request to move an account to a new number, decided by an officer."""

    reference: str
    status: str              # pending, approved, rejected
    expected_by: dt.date
    existing: bool = False   # the account's earlier pending request, answered again
    new_phone_masked: str = ""


class CertificateClient:
    def __init__(self, settings: Optional[BackendSettings] = None):
        self.http = JsonHttp(settings or certificate_backend(), "certificate")

    def _deadline(self) -> float:
        """When this client stops waiting for a code request: the service sends nothing after it, so a
        timed-out request never delivers a code the user no longer expects."""
        return time.time() + sum(self.http.timeout)

    def request_otp(self, phone: str, requesters: Sequence[str] = ()) -> None:
        """Sends a login code if the number is registered; the answer is the same either way."""
        self.http.post("/v1/otp/request", {"phone": phone, "purpose": "login", "deadline": self._deadline(),
                                           "requesters": list(requesters)})

    def request_phone_change_otp(self, token: str, new_phone: str, requesters: Sequence[str] = ()) -> None:
        """Sends a code to the new number, to prove it belongs to the verified user."""
        self.http.post("/v1/otp/request", {"phone": new_phone, "purpose": "change_phone",
                                           "deadline": self._deadline(), "requesters": list(requesters)},
                       headers={SESSION_HEADER: token})

    def check_recovery_facts(self, nik: str, birth_date: dt.date, name: str, requesters: Sequence[str] = ()) -> str:
        """A ticket for the next steps when full NIK, birth date and name match one account."""
        return self.http.post("/v1/recovery/check", {"nik": nik, "birth_date": birth_date.isoformat(), "name": name,
                                                     "requesters": list(requesters)})["ticket"]

    def request_recovery_otp(self, ticket: str, new_phone: str, requesters: Sequence[str] = ()) -> None:
        """Sends a code to the number the account should move to."""
        self.http.post("/v1/otp/request", {"phone": new_phone, "purpose": "recovery", "recovery_ticket": ticket,
                                           "deadline": self._deadline(), "requesters": list(requesters)})

    def open_recovery(self, ticket: str, new_phone: str, code: str, request_id: str, channel: str) -> Recovery:
        data = self.http.post("/v1/recovery/requests", {"ticket": ticket, "phone": new_phone, "code": code,
                                                        "request_id": request_id, "channel": channel})
        return _recovery(data)

    def recovery_status(self, reference: str) -> Recovery:
        return _recovery(self.http.get(f"/v1/recovery/requests/{reference}"))

    def verify_otp(self, phone: str, code: str) -> Verification:
        data = self.http.post("/v1/otp/verify", {"phone": phone, "code": code})
        return Verification(data["token"], data["expires_in_seconds"])

    def end_session(self, token: str) -> None:
        """Ends the verification at once (restart, leaving the flow); idempotent."""
        self.http.delete("/v1/me/session", headers={SESSION_HEADER: token})

    def profile(self, token: str) -> Profile:
        data = self.http.get("/v1/me", headers={SESSION_HEADER: token})
        return Profile(data["nik_masked"], data["name"], data["phone_masked"])

    def vaccinations(self, token: str) -> List[Dose]:
        data = self.http.get("/v1/me/vaccinations", headers={SESSION_HEADER: token})
        return [Dose(d["dose"], d["label"], dt.date.fromisoformat(d["date"]), d["brand"], d["site"],
                     d["certificate_issued"]) for d in data["doses"]]

    def certificate_link(self, token: str, dose: int) -> CertificateLink:
        data = self.http.post(f"/v1/me/certificates/{dose}/link", headers={SESSION_HEADER: token})
        return CertificateLink(data["url"], data["expires_at"])

    def preview_name_change(self, token: str, new_name: str) -> Change:
        """Validates the new name; `old` is the current name in clear, for the user to compare."""
        data = self.http.post("/v1/me/name/preview", {"name": new_name}, headers={SESSION_HEADER: token})
        return Change(data["old"], data["new"])

    def change_name(self, token: str, new_name: str, request_id: str, channel: str) -> Change:
        data = self.http.put("/v1/me/name", {"name": new_name, "request_id": request_id, "channel": channel},
                             headers={SESSION_HEADER: token})
        return Change(data["old"], data["new"])

    def change_phone(self, token: str, new_phone: str, code: str, request_id: str, channel: str) -> Change:
        data = self.http.put("/v1/me/phone", {"phone": new_phone, "code": code, "request_id": request_id,
                                              "channel": channel}, headers={SESSION_HEADER: token})
        return Change(data["old"], data["new"])

    def escalate(self, token: str, kind: str, note: str, request_id: str) -> Escalation:
        data = self.http.post("/v1/me/escalations", {"kind": kind, "note": note, "request_id": request_id},
                              headers={SESSION_HEADER: token})
        return Escalation(data["reference"], data["working_days"])


def _recovery(data: dict) -> Recovery:
    return Recovery(data["reference"], data["status"], dt.date.fromisoformat(data["expected_by"]),
                    bool(data.get("existing")), data.get("new_phone_masked") or "")
