"""Identifying a health worker: the last 6 NIK digits and a second factor.

The 6 digits are a birth year and a serial number: guessable, so they identify nobody alone. On
WhatsApp the sender's number (verified by WhatsApp) is the second factor when it is the number on the
target list; otherwise the bot always asks the full birth date, and says nothing — not even whether
the digits exist — until both match. When several health workers still share digits and birth date,
it asks the full NIK. Misses are counted per conversation and per channel identity by the
registration service, which refuses more after a few (`lookup_throttled`).

Used by the registration form and by "tiket saya" (slots nik_suffix, birth_date, nik_full, target_match,
target_id).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import parsing
from actions.api.errors import BackendUnavailable, Rejected
from actions.api.registration import Identification, TargetMatch
from actions.backend_calls import off_loop, registration_client, utter_backend_error
from actions.requester import requesters, verified_phone
from actions.sealing import seal, unsealed_text

IDENTIFICATION_SLOTS = ("nik_suffix", "birth_date", "nik_full", "target_match", "target_id")
THROTTLED = "lookup_throttled"


def identification_slots(tracker: Tracker, target_match: Optional[str]) -> list:
    """The questions still to ask: the digits, the birth date unless the verified number matched, the
    full NIK when digits and birth date are shared."""
    slots = ["nik_suffix"]
    if target_match != "unique" or tracker.get_slot("birth_date") is not None:
        slots.append("birth_date")
    if target_match == "ambiguous":
        slots.append("nik_full")
    return slots


async def _lookup(identification: Identification, dispatcher: CollectingDispatcher,
                  reset: Dict[Text, Any]) -> Optional[TargetMatch]:
    """The backend's answer, or None after telling the user why there is none (slots in `reset`)."""
    try:
        return await off_loop(registration_client().lookup_health_worker, identification)
    except Rejected as error:
        # The backend's rule (digits only, exactly 6, not the full NIK) or its throttle, by code.
        utter_backend_error(dispatcher, error)
        if error.code == THROTTLED:
            reset["target_match"] = "throttled"
        return None
    except BackendUnavailable:
        dispatcher.utter_message(response="utter_backend_unavailable")
        return None


def _digits(value: Any) -> str:
    runs = parsing.digit_runs(value if isinstance(value, str) else "")
    return runs[0].digits if len(runs) == 1 else (value if isinstance(value, str) else "")


async def validate_nik_suffix(value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
    """Slots after the user typed the digits. With a verified number the lookup may identify at once;
    otherwise the backend only checks the digits' shape and the birth date is asked next."""
    digits = _digits(value)
    identification = Identification(digits, requesters(tracker), verified_phone=verified_phone(tracker))
    reset: Dict[Text, Any] = {"nik_suffix": None}
    match = await _lookup(identification, dispatcher, reset)
    if match is None:
        return reset
    slots: Dict[Text, Any] = {"nik_suffix": seal(tracker, "nik_suffix", digits)}
    if match.status == "unique":
        slots.update(target_match="unique", target_id=match.target_id)
    else:
        slots.update(target_match=None, target_id=None)
    return slots


async def validate_birth_date(value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
    born = parsing.birth_date(value if isinstance(value, str) else "")
    if born is None:
        dispatcher.utter_message(response="utter_invalid_birth_date")
        return {"birth_date": None}
    digits = unsealed_text(tracker, "nik_suffix")
    if digits is None:  # lost (e.g. a value not sealed for this conversation): ask the digits again
        return {"birth_date": None, "nik_suffix": None}
    identification = Identification(digits, requesters(tracker), birth_date=born)
    reset: Dict[Text, Any] = {"birth_date": None}
    match = await _lookup(identification, dispatcher, reset)
    if match is None:
        return reset
    sealed = seal(tracker, "birth_date", born.isoformat())
    if match.status == "unique":
        return {"birth_date": sealed, "target_match": "unique", "target_id": match.target_id}
    if match.status == "ambiguous":
        return {"birth_date": sealed, "target_match": "ambiguous", "target_id": None}
    return {"birth_date": sealed, "target_match": "none", "target_id": None}


async def validate_nik_full(value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
    nik = next(iter(parsing.entity_texts(tracker.latest_message, "nik")), None) or _digits(value)
    birth = unsealed_text(tracker, "birth_date")
    identification = Identification(unsealed_text(tracker, "nik_suffix") or "", requesters(tracker),
                                    birth_date=parsing.iso_date(birth), full_nik=nik)
    reset: Dict[Text, Any] = {"nik_full": None}
    match = await _lookup(identification, dispatcher, reset)
    if match is None:
        return reset
    if match.status == "unique":
        return {"nik_full": "verified", "target_match": "unique", "target_id": match.target_id}
    return {"nik_full": "verified", "target_match": "none", "target_id": None}


def identified_target(tracker: Tracker) -> Optional[int]:
    target = tracker.get_slot("target_id")
    return target if isinstance(target, int) and not isinstance(target, bool) else None
