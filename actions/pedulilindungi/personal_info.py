"""Ubah Info Diri: correct the name (confirm old -> new) or move the account to a new phone number
(proven by a code sent to the new number; the old number is told by SMS)."""
from __future__ import annotations

import uuid
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.api.errors import BackendError, Rejected
from actions.backend_calls import certificate_client, off_loop, utter_backend_error
from actions.forms import AfterFormAction, PatientFormValidationAction
from actions.pedulilindungi.verification import OTP_LENGTH
from actions.pedulilindungi.session import channel, end_verification, explain_failure, session_token
from actions.requester import requesters
from actions.sealing import seal, unseal, unsealed_text

CHANGE_NAMESPACE = uuid.UUID("a3b7f1c2-55d9-4c61-9a8e-7d2e6f0b1c44")


def _request_id(tracker: Tracker, field: str, value: str) -> str:
    """The same change in the same conversation always has the same id: applied exactly once."""
    return uuid.uuid5(CHANGE_NAMESPACE, f"{tracker.sender_id}:{field}:{value}").hex


def _failed(slot: str, error: BackendError, dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
    return explain_failure(error, dispatcher) or {slot: None}


class ValidateNameChangeForm(PatientFormValidationAction):
    def name(self) -> Text:
        return "validate_name_change_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        return [] if tracker.get_slot("pl_outcome") else ["pl_new_name", "pl_name_confirmed"]

    async def validate_pl_new_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        try:
            preview = await off_loop(certificate_client().preview_name_change, session_token(tracker), str(value))
        except BackendError as error:
            return _failed("pl_new_name", error, dispatcher)
        return {"pl_new_name": seal(tracker, "pl_new_name", preview.new),
                "pl_name_preview": seal(tracker, "pl_name_preview", {"old": preview.old, "new": preview.new})}

    async def validate_pl_name_confirmed(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                         domain: DomainDict) -> Dict[Text, Any]:
        answer = parsing.yes_or_no(str(value), tracker.latest_message.get("intent", {}).get("name"))
        if answer is None:
            dispatcher.utter_message(response="utter_please_answer_yes_no")
            return {"pl_name_confirmed": None}
        if not answer:
            dispatcher.utter_message(response="utter_pl_name_try_again")
            return {"pl_name_confirmed": None, "pl_new_name": None, "pl_name_preview": None}
        new_name = unsealed_text(tracker, "pl_new_name")
        try:
            change = await off_loop(certificate_client().change_name, session_token(tracker), new_name,
                                    _request_id(tracker, "name", new_name), channel(tracker))
        except BackendError as error:
            return _failed("pl_name_confirmed", error, dispatcher)
        dispatcher.utter_message(response="utter_pl_name_changed", new_name=change.new)
        return {"pl_name_confirmed": True, "pl_outcome": "changed"}


class ActionAskPlNameConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_pl_name_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        preview = unseal(tracker, "pl_name_preview") or {}
        dispatcher.utter_message(response="utter_ask_pl_name_confirmed", old_name=preview.get("old"),
                                 new_name=preview.get("new"))
        return []


class ValidatePhoneChangeForm(PatientFormValidationAction):
    def name(self) -> Text:
        return "validate_phone_change_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        return [] if tracker.get_slot("pl_outcome") else ["pl_new_phone", "pl_new_phone_otp"]

    async def validate_pl_new_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[Text, Any]:
        phone = parsing.typed_phone(tracker.latest_message, str(value))
        if phone is None:
            dispatcher.utter_message(response="utter_phone_not_recognised")
            return {"pl_new_phone": None}
        try:
            await off_loop(certificate_client().request_phone_change_otp, session_token(tracker), phone,
                           requesters(tracker))
        except BackendError as error:
            return _failed("pl_new_phone", error, dispatcher)
        dispatcher.utter_message(response="utter_pl_phone_change_otp_sent")
        return {"pl_new_phone": seal(tracker, "pl_new_phone", phone)}

    async def validate_pl_new_phone_otp(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: DomainDict) -> Dict[Text, Any]:
        code = parsing.single_code(str(value), OTP_LENGTH)
        if not code:
            dispatcher.utter_message(response="utter_pl_otp_format")
            return {"pl_new_phone_otp": None}
        phone = unsealed_text(tracker, "pl_new_phone")
        try:
            change = await off_loop(certificate_client().change_phone, session_token(tracker), phone, code,
                                    _request_id(tracker, "phone", phone), channel(tracker))
        except Rejected as error:
            if error.code in ("otp_expired", "otp_attempts_exhausted"):
                utter_backend_error(dispatcher, error)
                dispatcher.utter_message(response="utter_pl_phone_change_restart")
                return {"pl_new_phone_otp": None, "pl_new_phone": None}
            return _failed("pl_new_phone_otp", error, dispatcher)
        except BackendError as error:
            return _failed("pl_new_phone_otp", error, dispatcher)
        dispatcher.utter_message(response="utter_pl_phone_changed", new_phone=change.new)
        return {"pl_new_phone_otp": "verified", "pl_outcome": "changed"}


class ActionPlFinishItem(AfterFormAction):
    def name(self) -> Text:
        return "action_pl_finish_item"

    async def on_leave(self, tracker: Tracker) -> List[EventType]:
        return await end_verification(tracker)

    async def after_form(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if tracker.get_slot("pl_outcome") in ("changed", "delivered"):
            dispatcher.utter_message(response="utter_pl_anything_else")
        return []
