"""The verified state of a PeduliLindungi conversation.

The backend holds it (a verification token that expires after 15 minutes idle); the tracker only
keeps the token sealed. Any call the backend refuses for an expired session ends the item and
asks the user to verify again.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api.errors import BackendUnavailable, Rejected
from actions.forms import INVALID_ANSWERS_SLOT
from actions.sealing import unsealed_text

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


def channel(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "chat"


def expired(dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
    """Slots after the backend said the verification expired: the item ends, verify again."""
    dispatcher.utter_message(response="utter_pl_session_expired")
    return {"pl_token": None, "pl_verified": False, "pl_outcome": "session_expired"}


def explain_failure(error: Exception, dispatcher: CollectingDispatcher) -> Optional[Dict[Text, Any]]:
    """Tells the user what went wrong; returns slots to set when the session expired."""
    if isinstance(error, BackendUnavailable):
        dispatcher.utter_message(response="utter_backend_unavailable")
        return None
    if isinstance(error, Rejected) and error.code in SESSION_ERRORS:
        return expired(dispatcher)
    dispatcher.utter_message(text=error.message if isinstance(error, Rejected) else "")
    return None

