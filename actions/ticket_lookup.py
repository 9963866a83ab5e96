""""Tiket saya": show the ticket again after identifying the health worker once more."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import identification
from actions.api.errors import BackendUnavailable
from actions.backend_calls import off_loop, registration_client
from actions.forms import INVALID_ANSWERS_SLOT, AfterFormAction, PatientFormValidationAction, reset_slots
from actions.tickets import send_ticket

FORM = "ticket_lookup_form"
FLOW_SLOTS = [*identification.IDENTIFICATION_SLOTS, INVALID_ANSWERS_SLOT]


class ValidateTicketLookupForm(PatientFormValidationAction):
    entity_slots = {"nik_suffix": "nik_suffix"}
    own_intents = ("show_ticket",)

    def name(self) -> Text:
        return f"validate_{FORM}"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        match = tracker.get_slot("target_match")
        return [] if match in ("none", "throttled") else identification.identification_slots(tracker, match)

    async def validate_nik_suffix(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[Text, Any]:
        return await identification.validate_nik_suffix(value, dispatcher, tracker)

    async def validate_birth_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[Text, Any]:
        return await identification.validate_birth_date(value, dispatcher, tracker)

    async def validate_nik_full(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        return await identification.validate_nik_full(value, dispatcher, tracker)


class ActionStartTicketLookup(Action):
    def name(self) -> Text:
        return "action_start_ticket_lookup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        return reset_slots(FLOW_SLOTS)


class ActionShowTicket(AfterFormAction):
    def name(self) -> Text:
        return "action_show_ticket"

    async def after_form(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        target_id = identification.identified_target(tracker)
        if target_id is None:
            if tracker.get_slot("target_match") != "throttled":  # the throttle already said why
                dispatcher.utter_message(response="utter_nik_not_on_list_for_ticket")
            return reset_slots(FLOW_SLOTS)
        try:
            appointment = await off_loop(registration_client().active_appointment, target_id)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return reset_slots(FLOW_SLOTS)
        if appointment is None:
            dispatcher.utter_message(response="utter_no_active_appointment")
        else:
            send_ticket(dispatcher, appointment)
        return reset_slots(FLOW_SLOTS)
