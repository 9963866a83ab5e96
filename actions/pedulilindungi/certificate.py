"""Download Sertifikat: pick one of the doses whose certificate is issued, get a short-lived link."""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.api.errors import BackendError
from actions.backend_calls import certificate_client, off_loop
from actions.forms import PatientFormValidationAction, ask_numbered_choice
from actions.pedulilindungi.session import explain_failure, session_token


def _describe(dose: Dict[str, Any]) -> str:
    return f"{dose['label']} ({parsing.indonesian_date(dt.date.fromisoformat(dose['date']))})"


class ActionAskPlDose(Action):
    def name(self) -> Text:
        return "action_ask_pl_dose"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        doses = tracker.get_slot("pl_doses") or []
        ask_numbered_choice(dispatcher, "utter_ask_pl_dose", [_describe(d) for d in doses], [d["label"] for d in doses])
        return []


class ValidateCertificateForm(PatientFormValidationAction):
    def name(self) -> Text:
        return "validate_certificate_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        return [] if tracker.get_slot("pl_outcome") else ["pl_dose"]

    async def validate_pl_dose(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[Text, Any]:
        doses = tracker.get_slot("pl_doses") or []
        number = parsing.choice_number(str(value), len(doses))
        if number is None and "booster" in str(value).lower():
            number = next((i for i, d in enumerate(doses, 1) if d["dose"] == 3), None)
        if number is None:
            dispatcher.utter_message(response="utter_invalid_choice", options=len(doses))
            return {"pl_dose": None}
        dose = doses[number - 1]
        try:
            link = await off_loop(certificate_client().certificate_link, session_token(tracker), dose["dose"])
        except BackendError as error:
            expired_slots = explain_failure(error, dispatcher)
            return expired_slots if expired_slots else {"pl_dose": None}
        dispatcher.utter_message(response="utter_pl_certificate_ready", label=dose["label"], url=link.url)
        dispatcher.utter_message(image=link.url)
        return {"pl_dose": str(dose["dose"]), "pl_outcome": "delivered"}
