"""Identifying a health worker by the last 6 NIK digits (and the birth date when they are shared).

Used by the registration form and by "tiket saya". Never reveals anything about the other
people who share the same digits: an ambiguous match only ever asks for the birth date.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import parsing
from actions.api.errors import BackendUnavailable, Rejected
from actions.backend_calls import off_loop, registration_client
from actions.sealing import seal, unseal


async def validate_nik_suffix(value: Any, dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
    """Slots after the user typed the NIK digits: target_match = unique | ambiguous | none."""
    try:
        match = await off_loop(registration_client().lookup_health_worker, str(value))
    except Rejected as error:
        # The backend's own rule (digits only, exactly 6, not the full NIK) explains what is wrong.
        dispatcher.utter_message(text=error.message)
        return {"nik_suffix": None}
    except BackendUnavailable:
        dispatcher.utter_message(response="utter_backend_unavailable")
        return {"nik_suffix": None}
    # Sealed: the birth-date question in the next turn needs the digits, the tracker store must not.
    digits = seal(parsing.only_digits(str(value)))
    if match.status == "ambiguous":
        return {"nik_suffix": digits, "target_match": "ambiguous", "target_id": None}
    return {"nik_suffix": digits, "target_match": match.status, "target_id": match.target_id}


async def validate_birth_date(value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
    born = parsing.birth_date(str(value))
    if born is None:
        dispatcher.utter_message(response="utter_invalid_birth_date")
        return {"birth_date": None}
    try:
        match = await off_loop(registration_client().lookup_health_worker, unseal(tracker.get_slot("nik_suffix")),
                               born)
    except BackendUnavailable:
        dispatcher.utter_message(response="utter_backend_unavailable")
        return {"birth_date": None}
    if match.status != "unique":
        dispatcher.utter_message(response="utter_birth_date_mismatch")
        return {"birth_date": None}
    return {"birth_date": seal(born.isoformat()), "target_match": "unique", "target_id": match.target_id}


def identified_target(tracker: Tracker) -> Optional[int]:
    target = tracker.get_slot("target_id")
    return int(target) if target is not None else None
