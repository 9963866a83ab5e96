"""The verified state of a PeduliLindungi conversation.

The backend holds it (a verification token that expires after 15 minutes idle); the tracker only
keeps the token sealed. Any call the backend refuses for an expired session ends the item and
asks the user to verify again.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api.errors import BackendError, Rejected
from actions.backend_calls import certificate_client, off_loop, utter_backend_error
from actions.forms import INVALID_ANSWERS_SLOT
from actions.sealing import unsealed_text

log = logging.getLogger(__name__)
SESSION_ERRORS = frozenset({"session_invalid", "session_required"})
# Slots of the items, cleared whenever a new request starts.
ITEM_SLOTS = ["pl_phone", "pl_otp", "pl_menu_choice", "pl_field", "pl_dose", "pl_doses", "pl_new_name",
              "pl_name_preview", "pl_name_confirmed", "pl_new_phone", "pl_new_phone_otp", "pl_outcome",
              INVALID_ANSWERS_SLOT]
REQUEST_BY_INTENT = {
    "download_certificate": "certificate",
    "check_vaccination_status": "status",
    "update_personal_info": "update_info",
    "change_name": "change_name",
    "change_phone": "change_phone",
    "change_nik": "change_nik",
    "pedulilindungi_help": "menu",
}


def session_token(tracker: Tracker) -> Optional[str]:
    return unsealed_text(tracker, "pl_token")


async def end_verification(tracker: Tracker) -> List[EventType]:
    """Ends the conversation's verification in the backend (not only forgets the token), so the sealed
    token is worthless wherever it was copied; a backend failure leaves it to expire after 15 idle
    minutes. Returns the slot events that forget it here."""
    token = session_token(tracker)
    if token:
        try:
            await off_loop(certificate_client().end_session, token)
        except BackendError:
            log.warning("verification not ended in the backend; it expires when idle",
                        extra={"event": "session_end_failed"})
    return [SlotSet("pl_token", None), SlotSet("pl_verified", False)]


def channel(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "chat"


def expired(dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
    """Slots after the backend said the verification expired: the item ends, verify again."""
    dispatcher.utter_message(response="utter_pl_session_expired")
    return {"pl_token": None, "pl_verified": False, "pl_outcome": "session_expired"}


def explain_failure(error: BackendError, dispatcher: CollectingDispatcher) -> Optional[Dict[Text, Any]]:
    """Tells the user what went wrong, in the domain's words for the code; returns slots to set when
    the session expired."""
    if isinstance(error, Rejected) and error.code in SESSION_ERRORS:
        return expired(dispatcher)
    utter_backend_error(dispatcher, error)
    return None

