"""Rules of the certificate service (PeduliLindungi), free of I/O.

Every time-dependent rule takes `now` explicitly so tests can move the clock.
Unit-tested in tests/unit/test_certificate_domain.py.
"""
from __future__ import annotations

import datetime as dt
import hmac
import math
import random
import secrets
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Optional, Tuple

from backends.shared.errors import DomainError
from privacy.masking import mask_nik
from backends.shared.signing import keyed_hash

# --- Errors ------------------------------------------------------------------------------------
# Each error has a stable `code`, an English `detail` and the `data` a client needs to word it; the
# assistant's words for them are its domain's responses (`utter_certificate_error_<code>`,
# domain/backend_errors.yml).


class CertificateError(DomainError):
    code = "certificate_error"


class InvalidInput(CertificateError):
    """A value that breaks an identity rule (NIK, phone, name); carries that rule's reason code."""

    code, status = "invalid_request", 422   # each instance carries its rule's reason instead

    def __init__(self, code: str, detail: str, **data: Any):
        super().__init__(detail=detail, **data)
        self.code = code


class UnknownDose(CertificateError):
    code, status, detail = "dose_unknown", 422, "Dose must be 1, 2 or 3 (booster)."


class UnknownOtpPurpose(CertificateError):
    code, status, detail = "otp_purpose_unknown", 422, "Unknown OTP purpose."


class TooManyOtpRequests(CertificateError):
    """Too many codes asked in the last hour: by this requester for this number (`own`), or for this
    number by everyone together, or by this requester for any numbers."""

    code, status = "otp_rate_limited", 429

    def __init__(self, minutes: int, own: bool = True):
        super().__init__(detail="Too many codes requested in the last hour.", retry_after_minutes=minutes,
                         reason="own" if own else "shared", limit=OTP_MAX_PER_WINDOW)
        self.minutes = minutes


class VerificationTooSoon(CertificateError):
    code, status = "otp_retry_later", 429

    def __init__(self, seconds: int):
        super().__init__(detail="Too many wrong codes: wait before the next attempt.", retry_after_seconds=seconds,
                         retry_after_minutes=max(1, math.ceil(seconds / 60)),
                         reason="seconds" if seconds < 60 else "minutes")
        self.seconds = seconds


class OtpExpired(CertificateError):
    code, status, detail = "otp_expired", 401, "The code expired or was used."


class OtpWrong(CertificateError):
    code, status = "otp_wrong", 401

    def __init__(self, remaining: int):
        super().__init__(detail="Wrong code.", remaining=remaining)
        self.remaining = remaining


class OtpAttemptsExhausted(CertificateError):
    code, status, detail = "otp_attempts_exhausted", 401, "The code was typed wrong too often."


class SessionRequired(CertificateError):
    code, status, detail = "session_required", 401, "A verification token is required."


class SessionInvalid(CertificateError):
    code, status, detail = "session_invalid", 401, "The verification ended or expired."


class DoseNotRecorded(CertificateError):
    code, status = "dose_not_found", 404

    def __init__(self, dose: int):
        super().__init__(detail="No vaccination recorded for this dose.", dose=dose, dose_label=dose_label(dose))


class CertificateNotIssued(CertificateError):
    code, status = "certificate_not_issued", 404

    def __init__(self, dose: int):
        super().__init__(detail="The certificate of this dose is not issued yet.", dose=dose,
                         dose_label=dose_label(dose))


class LinkInvalid(CertificateError):
    code, status, detail = "link_invalid", 410, "The download link is invalid or expired."


class CertificateInvalid(CertificateError):
    code, status, detail = "certificate_invalid", 422, "The QR payload is not a genuine certificate."


class NameUnchanged(CertificateError):
    code, status, detail = "name_unchanged", 422, "The new name equals the registered one."


class PhoneUnchanged(CertificateError):
    code, status, detail = "phone_unchanged", 422, "The new number equals the registered one."


class RequestPastDeadline(CertificateError):
    """The caller stopped waiting before the code could be sent; nothing was sent or counted."""

    code, status, detail = "request_past_deadline", 504, "Past the caller's deadline: no code was sent."


class PhoneInUse(CertificateError):
    code, status, detail = "phone_in_use", 409, "The number belongs to another account."


class RequestIdConflict(CertificateError):
    code, status, detail = "request_id_conflict", 409, "This request id was used for another change."


class UnknownEscalationKind(CertificateError):
    code, status, detail = "escalation_kind_unknown", 422, "Unknown escalation kind."


class SmsUnavailable(CertificateError):
    code, status, detail = "sms_unavailable", 503, "The SMS gateway is unavailable."


class RecoveryFactsMismatch(CertificateError):
    """NIK, birth date and name do not match one account. Identical for an unknown NIK, a wrong birth
    date and a wrong name, so a guesser learns nothing from which one failed."""

    code, status = "recovery_facts_mismatch", 422

    def __init__(self, attempts_left: int):
        super().__init__(detail="The facts do not match an account.", attempts_left=attempts_left)


class RecoveryThrottled(CertificateError):
    code, status = "recovery_throttled", 429

    def __init__(self, minutes: int):
        super().__init__(detail="Too many failed identity checks today.", retry_after_minutes=minutes,
                         retry_after_hours=max(1, math.ceil(minutes / 60)))


class RecoveryTicketInvalid(CertificateError):
    code, status, detail = "recovery_ticket_invalid", 401, "The identity check expired: check the facts again."


class RecoveryNotFound(CertificateError):
    code, status, detail = "recovery_not_found", 404, "No recovery request with this reference."


class RecoveryAlreadyDecided(CertificateError):
    code, status = "recovery_already_decided", 409

    def __init__(self, status_now: str):
        super().__init__(detail="The request was already decided otherwise.", status_now=status_now)


class UnknownRecoveryDecision(CertificateError):
    code, status, detail = "recovery_decision_unknown", 422, "A decision is approve or reject."


# --- Doses and dates ---------------------------------------------------------------------------

DOSE_LABELS = {1: "Dosis 1", 2: "Dosis 2", 3: "Booster"}
VACCINE_BRANDS = ("Sinovac/CoronaVac", "AstraZeneca", "Pfizer", "Moderna", "Sinopharm")

_MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
              "Oktober", "November", "Desember")


def dose_label(dose: int) -> str:
    if dose not in DOSE_LABELS:
        raise UnknownDose()
    return DOSE_LABELS[dose]


def format_date_id(day: dt.date) -> str:
    """`2021-07-12` -> `12 Juli 2021`, as printed on Indonesian documents."""
    return f"{day.day} {_MONTHS_ID[day.month - 1]} {day.year}"


# --- OTP policy --------------------------------------------------------------------------------

OTP_PURPOSES = ("login", "change_phone", "recovery")
OTP_DIGITS = 6
OTP_TTL = dt.timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 5
OTP_MAX_PER_WINDOW = 3          # per requester (conversation, channel identity) and number
OTP_MAX_PER_REQUESTER = 6       # per conversation, whatever the numbers
OTP_MAX_PER_CLIENT = 60         # per client address (many people share one behind a carrier's NAT)
OTP_MAX_PER_PHONE = 10          # per number, whoever asks: the SMS cost cap, above any one requester's
OTP_WINDOW = dt.timedelta(hours=1)
# Failures below this count are typos; from here on each failure doubles the wait.
FAILURES_BEFORE_DELAY = 3
FAILURE_DELAY_BASE = dt.timedelta(seconds=30)
FAILURE_DELAY_CAP = dt.timedelta(minutes=15)


@dataclass
class OtpChallengeState:
    """The fields of an OTP challenge the rules read and change (orm.OtpChallenge has the same names)."""

    salt: str
    code_hash: str
    expires_at: dt.datetime
    attempts: int = 0
    consumed_at: Optional[dt.datetime] = None


@dataclass(frozen=True)
class IssuedOtp:
    code: str  # goes into the SMS only, never into storage
    salt: str
    code_hash: str
    expires_at: dt.datetime


def ensure_purpose(purpose: str) -> str:
    if purpose not in OTP_PURPOSES:
        raise UnknownOtpPurpose()
    return purpose


def hash_otp(key: bytes, salt: str, code: str) -> str:
    return keyed_hash(key, salt, code)


def issue_otp(key: bytes, now: dt.datetime) -> IssuedOtp:
    code = f"{secrets.randbelow(10 ** OTP_DIGITS):0{OTP_DIGITS}d}"
    salt = secrets.token_hex(16)
    return IssuedOtp(code=code, salt=salt, code_hash=hash_otp(key, salt, code), expires_at=now + OTP_TTL)


def ensure_otp_request_allowed(recent_requests: Iterable[dt.datetime], now: dt.datetime,
                               limit: int = OTP_MAX_PER_WINDOW, own: bool = True) -> None:
    """At most `limit` codes in any rolling hour (limits SMS cost and abuse). Counted per requester and
    number (`own`: the user's own requests), so a stranger asking for someone's codes spends only the
    stranger's allowance, and with wider limits per requester and per number."""
    _, wait_minutes = rolling_limit(recent_requests, now, OTP_WINDOW, limit)
    if wait_minutes is not None:
        raise TooManyOtpRequests(wait_minutes, own=own)


def rolling_limit(times: Iterable[dt.datetime], now: dt.datetime, window: dt.timedelta,
                  limit: int) -> Tuple[int, Optional[int]]:
    """How many of `times` fall in the rolling `window` before `now`, and, at the limit, the minutes
    (at least 1) until one more is allowed; None below the limit."""
    in_window = sorted(t for t in times if now - t < window)
    if len(in_window) < limit:
        return len(in_window), None
    # The oldest entry that keeps the count at the limit has to leave the window first.
    frees_at = in_window[-limit] + window
    return len(in_window), max(1, math.ceil((frees_at - now).total_seconds() / 60))


def verification_delay(recent_failures: Iterable[dt.datetime], now: dt.datetime) -> dt.timedelta:
    """How long the phone still has to wait before the next verification; zero when it may try now.

    Only failures of the last hour count, so the wait never grows into a permanent lock-out.
    """
    failures = sorted(t for t in recent_failures if now - t < OTP_WINDOW)
    if len(failures) < FAILURES_BEFORE_DELAY:
        return dt.timedelta(0)
    # The exponent is bounded before multiplying: hundreds of failures must not overflow timedelta.
    doublings = min(len(failures) - FAILURES_BEFORE_DELAY, 16)
    required = min(FAILURE_DELAY_BASE * 2 ** doublings, FAILURE_DELAY_CAP)
    return max(failures[-1] + required - now, dt.timedelta(0))


def ensure_verification_allowed(recent_failures: Iterable[dt.datetime], now: dt.datetime) -> None:
    wait = verification_delay(recent_failures, now)
    if wait > dt.timedelta(0):
        raise VerificationTooSoon(math.ceil(wait.total_seconds()))


def check_otp(challenge: OtpChallengeState, key: bytes, code: str, now: dt.datetime) -> None:
    """Accepts the code once (marks the challenge consumed) or counts a wrong attempt and raises."""
    if challenge.consumed_at is not None or now >= challenge.expires_at:
        raise OtpExpired()
    if challenge.attempts >= OTP_MAX_ATTEMPTS:
        raise OtpAttemptsExhausted()
    typed = "".join((code or "").split())
    if hmac.compare_digest(hash_otp(key, challenge.salt, typed), challenge.code_hash):
        challenge.consumed_at = now
        return
    challenge.attempts += 1
    remaining = OTP_MAX_ATTEMPTS - challenge.attempts
    if remaining == 0:
        raise OtpAttemptsExhausted()
    raise OtpWrong(remaining)


# --- Verification sessions ---------------------------------------------------------------------

SESSION_IDLE = dt.timedelta(minutes=15)


@dataclass
class SessionState:
    """The fields of a verification session the rules read and change (orm.VerificationSession)."""

    last_seen_at: dt.datetime
    revoked: bool = False


def issue_session_token() -> str:
    return secrets.token_urlsafe(32)


def phone_key(key: bytes, phone: str) -> str:
    """How OTP challenges and failures refer to a number: a keyed hash, never the number itself."""
    return keyed_hash(key, "otp-phone", phone)


def hash_session_token(key: bytes, token: str) -> str:
    # A separate label keeps session hashes from ever matching an OTP hash computed with the same key.
    return keyed_hash(key, "verification-session", token)


def touch_session(state: SessionState, now: dt.datetime) -> None:
    """A session lives while it is used: each use within SESSION_IDLE extends it."""
    if state.revoked or now - state.last_seen_at >= SESSION_IDLE:
        raise SessionInvalid()
    state.last_seen_at = now


# --- Certificates, links and QR payloads ---------------------------------------------------------

DOWNLOAD_LINK_TTL = dt.timedelta(minutes=10)
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud to call centres
_QR_TYPE, _DOWNLOAD_TYPE = "pl-cert", "pl-download"


def _reference(prefix: str, rng: Optional[random.Random]) -> str:
    choose = rng.choice if rng is not None else secrets.choice
    return prefix + "".join(choose(_REFERENCE_ALPHABET) for _ in range(8))


def new_certificate_number(rng: Optional[random.Random] = None) -> str:
    return _reference("PL-", rng)


def new_escalation_reference() -> str:
    return _reference("ESK-", None)


def new_recovery_reference() -> str:
    return _reference("REC-", None)


@dataclass(frozen=True)
class CertificateDocument:
    """Everything printed on a certificate; built fresh for each render so name changes show up."""

    number: str
    name: str
    nik_masked: str
    dose: int
    date: dt.date
    brand: str
    site: str
    qr_payload: str

    @property
    def dose_label(self) -> str:
        return dose_label(self.dose)

    @property
    def date_text(self) -> str:
        return format_date_id(self.date)


def qr_claims(number: str, dose: int, date: dt.date, nik: str) -> Dict[str, Any]:
    """What the QR code carries: enough to check a certificate against a KTP, never the full NIK."""
    return {"typ": _QR_TYPE, "no": number, "dose": dose, "date": date.isoformat(), "nik": mask_nik(nik)}


def read_qr_claims(claims: Dict[str, Any]) -> Dict[str, Any]:
    if claims.get("typ") != _QR_TYPE or not {"no", "dose", "date", "nik"} <= claims.keys():
        raise CertificateInvalid()
    return claims


def download_claims(number: str) -> Dict[str, Any]:
    return {"typ": _DOWNLOAD_TYPE, "no": number}


def read_download_claims(claims: Dict[str, Any]) -> str:
    # The type check stops a (non-expiring) QR payload from working as a download link.
    if claims.get("typ") != _DOWNLOAD_TYPE or not isinstance(claims.get("no"), str):
        raise LinkInvalid()
    return claims["no"]


# --- Profile changes -----------------------------------------------------------------------------

ESCALATION_WORKING_DAYS = 3   # an officer answers an escalation within this many working days
ESCALATION_KINDS = {
    "nik_correction": "Koreksi NIK",
    "missing_dose": "Dosis tidak tercatat",
    "other": "Lainnya",
}


def ensure_escalation_kind(kind: str) -> str:
    if kind not in ESCALATION_KINDS:
        raise UnknownEscalationKind()
    return kind


def tidy_name_case(name: str) -> str:
    """`BUDI SANTOSO` or `budi santoso` -> `Budi Santoso`; mixed case is kept as the person typed it."""
    if name == name.upper() or name == name.lower():
        return " ".join("-".join(part.capitalize() for part in word.split("-")) for word in name.split())
    return name


def ensure_name_changes(old: str, new: str) -> None:
    if old == new:
        raise NameUnchanged()


def ensure_phone_changes(old: str, new: str) -> None:
    if old == new:
        raise PhoneUnchanged()


# --- Recovering an account whose number is lost ---------------------------------------------------
# Facts a stranger does not have (full NIK, birth date, the name on the certificate) and a code to the
# new number open a request; an officer decides it. Nothing is applied on facts alone.

RECOVERY_FAILURES_PER_DAY = 5        # per NIK whoever asks, and per conversation
RECOVERY_FAILURES_PER_CLIENT = 50    # per client address (many people share one behind a carrier's NAT)
RECOVERY_WINDOW = dt.timedelta(hours=24)
RECOVERY_TICKET_TTL = dt.timedelta(minutes=15)
RECOVERY_REVIEW_WORKING_DAYS = 3
RECOVERY_STATUSES = ("pending", "approved", "rejected")
RECOVERY_DECISIONS = {"approve": "approved", "reject": "rejected"}
_RECOVERY_TICKET_TYPE = "pl-recovery"


def comparable_name(name: str) -> str:
    """Names compare without case, punctuation or repeated spaces: `SITI  RAHAYU.` equals `Siti Rahayu`."""
    letters = "".join(ch if ch.isalpha() or ch.isspace() else " " for ch in (name or "").casefold())
    return " ".join(letters.split())


def facts_match(registered_birth_date: dt.date, registered_name: str, birth_date: dt.date, name: str) -> bool:
    same_date = registered_birth_date == birth_date
    same_name = hmac.compare_digest(comparable_name(registered_name).encode(), comparable_name(name).encode())
    return same_date and same_name


def ensure_recovery_allowed(recent_failures: Iterable[dt.datetime], now: dt.datetime,
                            limit: int = RECOVERY_FAILURES_PER_DAY) -> int:
    """Raises RecoveryThrottled at the daily limit; returns how many failures are still allowed."""
    count, wait_minutes = rolling_limit(recent_failures, now, RECOVERY_WINDOW, limit)
    if wait_minutes is not None:
        raise RecoveryThrottled(wait_minutes)
    return limit - count


def recovery_ticket_claims(person_id: int) -> Dict[str, Any]:
    return {"typ": _RECOVERY_TICKET_TYPE, "pid": person_id}


def read_recovery_ticket_claims(claims: Dict[str, Any]) -> int:
    if claims.get("typ") != _RECOVERY_TICKET_TYPE or not isinstance(claims.get("pid"), int):
        raise RecoveryTicketInvalid()
    return claims["pid"]


def add_working_days(day: dt.date, days: int) -> dt.date:
    """`days` working days (Monday to Friday) after `day`: when a user may expect an officer's decision."""
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def recovery_decision(decision: str) -> str:
    if decision not in RECOVERY_DECISIONS:
        raise UnknownRecoveryDecision()
    return RECOVERY_DECISIONS[decision]
