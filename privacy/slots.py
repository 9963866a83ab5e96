"""Which slot values may be stored as they are: default-deny, in one table.

A slot value reaches the tracker store unchanged only when
- it is sealed (`enc:…`, encrypted by the action server with a key the Rasa server never has), or
- the slot is declared in SAFE_SLOTS below and the value has the declared kind.
Every other value — of any slot, declared or not, including one a new flow adds tomorrow — is
replaced by REDACTED. A slot filled from the user's text (`from_text`) holds the raw message until
its validation replaces it, so those slots may only be declared with a kind that raw text cannot
pass (a flag, a fixed choice, an option number); tests/unit/test_privacy_slots.py checks that for
every slot of the domain.

Values a flow needs in a later turn that are personal (NIK digits, birth date, phone numbers, names,
the verification token) are sealed by the action server (actions/sealing.py); they must never be
declared here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, FrozenSet, Iterable, Mapping

SEALED_PREFIX = "enc:"
REDACTED = "[disamarkan]"


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


@dataclass(frozen=True)
class Kind:
    """A shape a stored value must have; `free_text_safe` says raw user text can never have it."""

    name: str
    accepts: Callable[[Any], bool]
    free_text_safe: bool


def flag() -> Kind:
    return Kind("flag", lambda value: isinstance(value, bool), True)


def one_of(*values: str) -> Kind:
    allowed: FrozenSet[str] = frozenset(values)
    return Kind("one of " + ", ".join(sorted(allowed)), lambda value: isinstance(value, str) and value in allowed, True)


_OPTION = re.compile(r"^[1-9][0-9]?$")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,60}$")
_REFERENCE = re.compile(r"^(?:NKS|REC|ESK)-[A-HJ-NP-Z2-9]{8}$")
_WORDS = re.compile(r"^[a-z][a-z ]{1,60}$")


def option_number() -> Kind:
    """A menu choice as the validation stores it: "1".."99"."""
    return Kind("option number", lambda value: isinstance(value, str) and bool(_OPTION.match(value)), True)


def slot_name() -> Kind:
    return Kind("slot name", lambda value: isinstance(value, str) and bool(_IDENTIFIER.match(value)), True)


def reference() -> Kind:
    """A reference number the backend issued (NKS-…, REC-…, ESK-…): random, not personal."""
    return Kind("reference", lambda value: isinstance(value, str) and bool(_REFERENCE.match(value)), True)


def lowercase_words() -> Kind:
    """A normalized word or phrase without digits (e.g. a profession): cannot carry a NIK, phone or code."""
    return Kind("lowercase words", lambda value: isinstance(value, str) and bool(_WORDS.match(value)), True)


def backend_record() -> Kind:
    """Data the backends returned (sites, schedules, ids, advice): any JSON. Raw text would pass, so
    only slots with custom mappings, set by actions, may have this kind."""
    return Kind("backend record", lambda value: True, False)


def counts() -> Kind:
    return Kind("counts", lambda value: isinstance(value, Mapping) and all(
        isinstance(k, str) and _IDENTIFIER.match(k) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in value.items()), True)


SAFE_SLOTS: Dict[str, Kind] = {
    # Rasa's own
    "requested_slot": slot_name(),
    # shared form behaviour (actions/forms.py)
    "invalid_answers": counts(),
    "pending_interruption": backend_record(),
    "interruption_answer": flag(),
    # vaccine registration (actions/vaccine_registration.py, identification.py)
    "is_health_worker": flag(),
    "site_confirmed": flag(),
    "site_choice": option_number(),
    "screening_fever": flag(),
    "screening_covid_recent": flag(),
    "screening_pregnant_or_breastfeeding": flag(),
    "screening_blood_pressure": flag(),
    "screening_allergy_previous_dose": flag(),
    "screening_chronic_or_autoimmune": flag(),
    "screening_immunosuppressed": flag(),
    "slot_choice": option_number(),
    "booking_confirmed": flag(),
    "registration_outcome": one_of("not_health_worker", "no_match", "has_appointment", "postponed", "no_slots",
                                   "booked", "throttled", "left"),
    "target_match": one_of("unique", "ambiguous", "none", "throttled"),
    "nik_full": one_of("verified"),
    "target_id": backend_record(),
    "site_id": backend_record(),
    "site_name": backend_record(),
    "site_address": backend_record(),
    "site_regency": backend_record(),
    "offered_sites": backend_record(),
    "offered_slots": backend_record(),
    "chosen_slot": backend_record(),
    "screening_advice": backend_record(),
    # missing health workers (actions/missing_health_worker.py, submission_status.py)
    "submission_profession": lowercase_words(),
    "submission_confirmed": flag(),
    "submission_outcome": one_of("submitted", "already_listed", "duplicate", "updated", "exists"),
    "submission_status": one_of("pending", "validated", "rejected"),
    "submission_reference": reference(),
    # PeduliLindungi (actions/pedulilindungi/)
    "pl_otp": one_of("verified"),
    "pl_new_phone_otp": one_of("verified"),
    "pl_verified": flag(),
    "pl_request": one_of("certificate", "status", "update_info", "change_name", "change_phone", "change_nik",
                         "menu", "done", "recovery"),
    "pl_menu_choice": one_of("certificate", "status", "update_info"),
    "pl_field": one_of("change_name", "change_phone", "change_nik"),
    "pl_dose": one_of("1", "2", "3"),
    "pl_doses": backend_record(),
    "pl_name_confirmed": flag(),
    "pl_outcome": one_of("changed", "delivered", "session_expired"),
    # a lost number's recovery request (actions/pedulilindungi/recovery.py)
    "recovery_otp": one_of("verified"),
    "recovery_outcome": one_of("opened", "existing", "throttled"),
    "recovery_reference": reference(),
    # human handoff and notifications
    "handoff_requested": flag(),
    "notification_received": flag(),
}


# Slots the action server seals (actions/sealing.py refuses any other): personal values a flow needs
# in a later turn. None of them may be declared in SAFE_SLOTS.
SEALED_SLOTS: FrozenSet[str] = frozenset({
    "nik_suffix", "birth_date", "submission_nik", "submission_name", "submission_facility", "submission_phone",
    "pl_phone", "pl_token", "pl_new_phone", "pl_new_name", "pl_name_preview",
    "recovery_nik", "recovery_birth_date", "recovery_name", "recovery_phone", "recovery_ticket",
})


def stored_slot_value(name: str, value: Any) -> Any:
    """What the tracker store may keep of slot `name` set to `value`."""
    if value is None or is_sealed(value):
        return value
    kind = SAFE_SLOTS.get(name)
    return value if kind is not None and kind.accepts(value) else REDACTED


def is_safe_question(slot: Any) -> bool:
    """Whether a question (the requested slot) asks for something that is not personal: the user's
    answer to it is stored with its numbers hidden; answers to every other question are not stored."""
    kind = SAFE_SLOTS.get(slot) if isinstance(slot, str) else None
    return kind is not None and kind.free_text_safe


def unsafe_declarations(from_text_slots: Iterable[str]) -> Dict[str, str]:
    """Slots filled from the user's text whose declared kind raw text could pass (a mistake)."""
    return {name: SAFE_SLOTS[name].name for name in from_text_slots
            if name in SAFE_SLOTS and not SAFE_SLOTS[name].free_text_safe}
