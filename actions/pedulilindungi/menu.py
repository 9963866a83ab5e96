"""Entering the PeduliLindungi menu, routing to an item, and the items that need no form
(vaccination status, NIK correction escalation)."""
from __future__ import annotations

import uuid
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.api.errors import BackendError, Rejected
from actions.backend_calls import certificate_client, off_loop
from actions.forms import AfterFormAction, PatientFormValidationAction, ask_numbered_choice, reset_slots
from actions.numbered_menu import as_users_turn
from actions.pedulilindungi.session import (ITEM_SLOTS, REQUEST_BY_INTENT, SESSION_ERRORS, end_verification,
                                            explain_failure, session_token)

MENU_REQUESTS = ("certificate", "status", "update_info")
FIELD_REQUESTS = ("change_name", "change_phone", "change_nik")
_MENU_WORDS = {"sertifikat": "certificate", "status": "status", "ubah": "update_info", "info": "update_info"}
_FIELD_WORDS = {"nama": "change_name", "hp": "change_phone", "nomor": "change_phone", "telepon": "change_phone",
                "nik": "change_nik"}
ESCALATION_NAMESPACE = uuid.UUID("3e0a3a52-3f4b-4bb8-8f8a-2c8f3f1d9a77")


class ActionPlEntry(Action):
    """Remembers what the user asked for and checks with the backend whether they are still verified."""

    def name(self) -> Text:
        return "action_pl_entry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        intent = tracker.latest_message.get("intent", {}).get("name")
        request = REQUEST_BY_INTENT.get(intent, "menu")
        events = reset_slots(ITEM_SLOTS) + [SlotSet("pl_request", request)]
        token = session_token(tracker)
        verified = False
        if token:
            try:
                await off_loop(certificate_client().profile, token)
                verified = True
            except Rejected as error:
                if error.code in SESSION_ERRORS:
                    dispatcher.utter_message(response="utter_pl_session_expired_short")
            except BackendError:
                pass  # the verification form will explain if the backend is really down
        if not verified and parsing.says_number_is_lost(tracker.latest_message.get("text") or ""):
            # "no hp saya hilang, mau ganti nomor": no code can reach the registered number, so the way in
            # is the recovery request, started as if the user had asked for it (as the forms' switch does).
            dispatcher.utter_message(response="utter_pl_lost_phone")
            return events + [SlotSet("pl_request", "done"), SlotSet("pl_token", None)] + as_users_turn(
                tracker, "/recover_account", "recover_account", [])
        if not verified:
            dispatcher.utter_message(response="utter_pl_verification_intro")
            events.append(SlotSet("pl_token", None))
        return events + [SlotSet("pl_verified", verified)]


class ActionPlRoute(AfterFormAction):
    left_events = (SlotSet("pl_request", "done"),)
    """Runs the items that need no further question; prepares the others (their form follows)."""

    def name(self) -> Text:
        return "action_pl_route"

    async def on_leave(self, tracker: Tracker) -> List[EventType]:
        return await end_verification(tracker)   # `batal` at the menu ends the verification too

    async def after_form(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        request = tracker.get_slot("pl_request")
        token = session_token(tracker)
        try:
            if request == "status":
                await self._show_status(token, dispatcher)
                return [SlotSet("pl_request", "done")]
            if request == "change_nik":
                await self._escalate_nik(token, tracker, dispatcher)
                return [SlotSet("pl_request", "done")]
            if request == "certificate":
                return await self._prepare_certificate(token, dispatcher)
        except BackendError as error:
            expired_slots = explain_failure(error, dispatcher)
            return [SlotSet(k, v) for k, v in (expired_slots or {}).items()] + [SlotSet("pl_request", "done")]
        return []

    async def _show_status(self, token: str, dispatcher: CollectingDispatcher) -> None:
        doses = await off_loop(certificate_client().vaccinations, token)
        if not doses:
            dispatcher.utter_message(response="utter_pl_no_vaccination_record")
            return
        lines = [f"• {d.label}: {parsing.indonesian_date(d.date)}, {d.brand}, {d.site} — sertifikat "
                 f"{'sudah terbit' if d.certificate_issued else 'belum terbit'}" for d in doses]
        dispatcher.utter_message(response="utter_pl_status", doses="\n".join(lines))
        dispatcher.utter_message(response="utter_pl_anything_else")

    async def _escalate_nik(self, token: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        day = parsing.today_in_indonesia().isoformat()
        request_id = uuid.uuid5(ESCALATION_NAMESPACE, f"{tracker.sender_id}:nik:{day}").hex
        escalation = await off_loop(certificate_client().escalate, token, "nik_correction",
                                    "NIK pada sertifikat/akun dilaporkan salah atau disalahgunakan (melalui chatbot).",
                                    request_id)
        dispatcher.utter_message(response="utter_pl_nik_not_self_service")
        dispatcher.utter_message(response="utter_pl_escalated", reference=escalation.reference,
                                 working_days=escalation.working_days)
        dispatcher.utter_message(response="utter_pl_nik_routes")

    async def _prepare_certificate(self, token: str, dispatcher: CollectingDispatcher) -> List[EventType]:
        doses = await off_loop(certificate_client().vaccinations, token)
        if not doses:
            dispatcher.utter_message(response="utter_pl_no_vaccination_record")
            return [SlotSet("pl_request", "done")]
        issued = [{"dose": d.dose, "label": d.label, "date": d.date.isoformat()} for d in doses if d.certificate_issued]
        if not issued:
            dispatcher.utter_message(response="utter_pl_certificate_not_issued_yet")
            return [SlotSet("pl_request", "done")]
        return [SlotSet("pl_doses", issued)]


def _validated_choice(slot: str, value: Any, options: tuple, words: Dict[str, str],
                      dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
    """A menu answer by number or by keyword; the chosen request also becomes `pl_request`."""
    number = parsing.choice_number(str(value), len(options))
    found = {request for word, request in words.items() if word in str(value).lower().split()}
    request = options[number - 1] if number is not None else (found.pop() if len(found) == 1 else None)
    if request is None:
        dispatcher.utter_message(response="utter_invalid_choice", options=len(options))
        return {slot: None}
    return {slot: request, "pl_request": request}


class ValidatePlMenuForm(PatientFormValidationAction):
    def name(self) -> Text:
        return "validate_pl_menu_form"

    async def validate_pl_menu_choice(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[Text, Any]:
        return _validated_choice("pl_menu_choice", value, MENU_REQUESTS, _MENU_WORDS, dispatcher)


class ValidateUpdateInfoForm(PatientFormValidationAction):
    def name(self) -> Text:
        return "validate_update_info_form"

    async def validate_pl_field(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        return _validated_choice("pl_field", value, FIELD_REQUESTS, _FIELD_WORDS, dispatcher)


class ActionAskPlMenuChoice(Action):
    def name(self) -> Text:
        return "action_ask_pl_menu_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        labels = ["Download Sertifikat", "Status Vaksinasi", "Ubah Info Diri"]
        ask_numbered_choice(dispatcher, "utter_ask_pl_menu_choice", labels, labels)
        return []


class ActionAskPlField(Action):
    def name(self) -> Text:
        return "action_ask_pl_field"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        labels = ["Nama", "Nomor HP", "NIK"]
        ask_numbered_choice(dispatcher, "utter_ask_pl_field", labels, labels)
        return []
