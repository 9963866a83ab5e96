"""Rules of the registration service (Sistem Informasi Satu Data Vaksinasi), free of I/O.

Unit-tested in tests/unit/test_registration_domain.py.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from backends.shared.errors import DomainError

SESSION_HOURS = {"pagi": "08.00-12.00", "siang": "13.00-16.00"}
# The one list of professions (the bot fetches it: GET /v1/submissions/professions); the last is the
# catch-all for any other health profession.
OTHER_PROFESSION = "tenaga kesehatan lainnya"
PROFESSIONS = ("dokter", "dokter gigi", "perawat", "bidan", "apoteker", OTHER_PROFESSION)
MAX_OFFERED_SLOTS = 5


# Each error is a stable `code` plus data; the assistant's words for it are the domain response
# `utter_registration_error_<code>` (domain/backend_errors.yml; tests/unit/test_backend_error_codes.py).

class SlotFull(DomainError):
    code, detail = "slot_full", "The slot was taken while the user chose it."


class AlreadyBooked(DomainError):
    code, detail = "already_booked", "The health worker already has an active appointment."

    def __init__(self, appointment_id: int):
        super().__init__(appointment_id=appointment_id)
        self.appointment_id = appointment_id


class NotEligible(DomainError):
    """data: `reasons`, the screening keys that postpone vaccination."""

    code, detail, status = "not_eligible", "The screening answers postpone vaccination.", 422


class ScreeningIncomplete(DomainError):
    """data: `missing`, the screening keys without an answer."""

    code, detail, status = "screening_incomplete", "Not every screening question has an answer.", 422


class InvalidField(DomainError):
    """data: `field` (nik | name | profession | facility | phone) and `reason` (unknown_field | length),
    with `min`/`max` for a length."""

    code, detail, status = "field_invalid", "A submission field breaks its rule.", 422


class AlreadyListed(DomainError):
    code, status = "nik_already_listed", 409
    detail = "The NIK is on the target list already: register for vaccination instead."


class SubmissionExists(DomainError):
    """A pending submission for the NIK was made with another phone number: not the same person, or not
    provably; its reference is not given away."""

    code, status = "submission_exists", 409
    detail = "A pending submission for this NIK was made with another phone number."


class UnknownProfession(DomainError):
    """data: `professions`, the names a submission may use."""

    code, detail, status = "profession_unknown", "Not one of the professions of PROFESSIONS.", 422

    def __init__(self):
        super().__init__(professions=list(PROFESSIONS))


# --- Identifying a health worker: the last 6 NIK digits and a second factor ------------------

LOOKUP_MISSES_PER_WINDOW = 5
LOOKUP_WINDOW = dt.timedelta(hours=1)
# Misses against one set of 6 digits, from all requesters together: someone who knows a health worker's
# digits and guesses the birth date (the year is in the digits) from many conversations gets 10 tries a
# day, not 365. The owner's WhatsApp-verified number is never refused by it.
SUFFIX_MISSES_PER_WINDOW = 10
SUFFIX_WINDOW = dt.timedelta(days=1)


class TooManyLookups(DomainError):
    """More identification misses from one requester than a person mistyping would make."""

    code, status = "lookup_throttled", 429
    detail = "Too many identification misses: retry after the given time."

    def __init__(self, minutes: int):
        super().__init__(retry_after_minutes=minutes, retry_after_seconds=minutes * 60)
        self.minutes = minutes


@dataclass(frozen=True)
class TargetMatch:
    # "need_second_factor": digits alone never tell anything; "unverified": the sender's verified
    # phone is not the one on the list (ask the birth date instead); "none" | "unique" | "ambiguous".
    status: str
    target_id: Optional[int] = None

    @property
    def is_miss(self) -> bool:
        """A wrong guess: counted against the requester's allowance."""
        return self.status == "none"


@dataclass(frozen=True)
class Candidate:
    id: int
    birth_date: dt.date
    phone: str
    nik: str


@dataclass(frozen=True)
class SecondFactor:
    """What the requester proved besides the 6 digits: the sender's number as verified by WhatsApp,
    or the birth date (and, when that is still shared, the full NIK)."""

    verified_phone: Optional[str] = None
    birth_date: Optional[dt.date] = None
    full_nik: Optional[str] = None

    @property
    def given(self) -> bool:
        return bool(self.verified_phone or self.birth_date)


def match_target(candidates: Sequence[Candidate], factor: SecondFactor) -> TargetMatch:
    """The last 6 NIK digits are a birth year and a serial number: guessable, so they identify nobody
    alone. Without a second factor the answer says nothing, not even whether the digits exist; with
    one, only a candidate matching it is named, so nobody learns anything about the others."""
    if not factor.given:
        return TargetMatch("need_second_factor")
    if factor.verified_phone and not factor.birth_date:
        owners = [c for c in candidates if c.phone == factor.verified_phone]
        return TargetMatch("unique", owners[0].id) if len(owners) == 1 else TargetMatch("unverified")
    matching = [c for c in candidates if c.birth_date == factor.birth_date]
    if factor.full_nik:
        matching = [c for c in matching if c.nik == factor.full_nik]
    if not matching:
        return TargetMatch("none")
    if len(matching) == 1:
        return TargetMatch("unique", matching[0].id)
    return TargetMatch("ambiguous")


def ensure_lookup_allowed(recent_misses: Iterable[dt.datetime], now: dt.datetime,
                          limit: int = LOOKUP_MISSES_PER_WINDOW, window: dt.timedelta = LOOKUP_WINDOW) -> None:
    """At most `limit` misses in any rolling `window` (per requester: 5 an hour; per digits: 10 a day)."""
    in_window = sorted(t for t in recent_misses if now - t < window)
    if len(in_window) < limit:
        return
    frees_at = in_window[-limit] + window
    raise TooManyLookups(max(1, -(-int((frees_at - now).total_seconds()) // 60)))


# --- Health screening (Kemenkes 2021 format) ------------------------------------------------

# The bot's words are domain responses (domain/screening.yml): it asks `utter_ask_screening_<key>` and
# gives the advice of a finding as `utter_screening_advice_<code>`, filled in with the advice's data.
# The service sends keys, codes and figures; tests/unit/test_screening_advice_codes.py checks that
# every advice code has its response.

@dataclass(frozen=True)
class ScreeningAdvice:
    code: str                                   # utter_screening_advice_<code>
    data: Mapping[str, object] = field(default_factory=dict)  # the figures its words name


@dataclass(frozen=True)
class ScreeningQuestion:
    key: str
    outcome_if_yes: str  # "postponed" | "consult_doctor"
    advice: ScreeningAdvice


SCREENING_QUESTIONS: Tuple[ScreeningQuestion, ...] = (
    ScreeningQuestion("fever", "postponed", ScreeningAdvice("postpone_until_recovered")),
    ScreeningQuestion("covid_recent", "postponed", ScreeningAdvice("postpone_after_covid", {"months": 3})),
    ScreeningQuestion("pregnant_or_breastfeeding", "consult_doctor", ScreeningAdvice("doctor_at_site_assesses")),
    ScreeningQuestion("blood_pressure", "postponed",
                      ScreeningAdvice("postpone_until_blood_pressure_controlled", {"systolic": 180, "diastolic": 110})),
    ScreeningQuestion("allergy_previous_dose", "consult_doctor", ScreeningAdvice("doctor_at_site_may_refer")),
    ScreeningQuestion("chronic_or_autoimmune", "consult_doctor", ScreeningAdvice("doctor_at_site_about_condition")),
    ScreeningQuestion("immunosuppressed", "consult_doctor", ScreeningAdvice("treating_doctor_or_site")),
)
SCREENING_KEYS = tuple(q.key for q in SCREENING_QUESTIONS)
ADVICE_CODES = tuple(q.advice.code for q in SCREENING_QUESTIONS)


@dataclass(frozen=True)
class ScreeningResult:
    outcome: str  # "eligible" | "postponed" | "consult_doctor"
    reasons: Tuple[str, ...] = ()
    advice: Tuple[ScreeningAdvice, ...] = ()

    @property
    def may_book(self) -> bool:
        # A doctor at the site decides about "consult_doctor", so a slot may still be booked.
        return self.outcome in ("eligible", "consult_doctor")


def evaluate_screening(answers: Mapping[str, bool]) -> ScreeningResult:
    missing = [key for key in SCREENING_KEYS if key not in answers]
    if missing:
        raise ScreeningIncomplete(missing=missing)
    positive = [q for q in SCREENING_QUESTIONS if answers[q.key]]
    if not positive:
        return ScreeningResult("eligible")
    outcome = "postponed" if any(q.outcome_if_yes == "postponed" for q in positive) else "consult_doctor"
    chosen = [q for q in positive if q.outcome_if_yes == outcome]
    return ScreeningResult(outcome, tuple(q.key for q in chosen), tuple(q.advice for q in chosen))


# --- Schedule ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SlotView:
    id: int
    date: dt.date
    session: str
    capacity: int
    booked: int

    @property
    def remaining(self) -> int:
        return self.capacity - self.booked


def offerable_slots(slots: Iterable[SlotView], today: dt.date, limit: int = MAX_OFFERED_SLOTS) -> List[SlotView]:
    """Slots from tomorrow on with places left, earliest first (morning before afternoon)."""
    order = {name: index for index, name in enumerate(SESSION_HOURS)}
    open_slots = [s for s in slots if s.date > today and s.remaining > 0]
    return sorted(open_slots, key=lambda s: (s.date, order.get(s.session, 99)))[:limit]


# --- Submissions from health workers missing from the target list ---------------------------

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_submission_reference() -> str:
    return "NKS-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


FACILITY_MIN, FACILITY_MAX = 3, 200


def normalize_facility(raw: str) -> str:
    facility = " ".join((raw or "").split())
    if not FACILITY_MIN <= len(facility) <= FACILITY_MAX:
        raise InvalidField(field="facility", reason="length", min=FACILITY_MIN, max=FACILITY_MAX)
    return facility


@dataclass(frozen=True)
class ResubmissionDecision:
    outcome: str  # "duplicate" (same data again) | "updated" (corrected while pending)
    changes: Dict[str, str]


def decide_resubmission(pending: Mapping[str, str], fields: Mapping[str, str]) -> ResubmissionDecision:
    """Once is once: a second submission for a NIK with a pending one is the same request when it comes
    with the same phone number (the submitter's second factor); its other fields then correct it."""
    if pending.get("phone") != fields.get("phone"):
        raise SubmissionExists()
    changes = {name: value for name, value in fields.items() if pending.get(name) != value}
    return ResubmissionDecision("updated" if changes else "duplicate", changes)


def normalize_profession(raw: str) -> str:
    text = " ".join((raw or "").lower().split())
    aliases: Dict[str, str] = {"drg": "dokter gigi", "dr": "dokter", "nakes lainnya": OTHER_PROFESSION,
                               "lainnya": OTHER_PROFESSION, "farmasi": "apoteker"}
    text = aliases.get(text, text)
    if text not in PROFESSIONS:
        raise UnknownProfession()
    return text
