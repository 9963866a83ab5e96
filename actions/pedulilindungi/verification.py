"""Proving who the user is: the phone number registered in PeduliLindungi and a 6-digit OTP."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.api.errors import BackendError, Rejected
from actions.backend_calls import certificate_client, off_loop, utter_backend_error
from actions.forms import PatientFormValidationAction, switch_offer
from actions.requester import requesters
from actions.sealing import seal, unsealed_text

RESEND = re.compile(r"\b(kirim ulang|kode baru|ulang(i)?|resend|minta kode)\b", re.IGNORECASE)
OTP_LENGTH = 6


async def request_login_code(phone: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    try:
        await off_loop(certificate_client().request_otp, phone, requesters(tracker))
    except BackendError as error:
        utter_backend_error(dispatcher, error)
        return False
    # The same words whether or not the number is registered.
    dispatcher.utter_message(response="utter_pl_otp_sent")
    return True


class ValidateVerificationForm(PatientFormValidationAction):
    def name(self) -> Text:
        return "validate_verification_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        return ["pl_phone", "pl_otp"]

    def cannot_answer(self, requested: str, text: str, dispatcher: CollectingDispatcher) -> Optional[List[EventType]]:
        # A lost or dead registered number: no code can reach it, so asking again for it or for its code
        # helps no one. The way out is a recovery request (checked facts, a code to the new number, an
        # officer's decision), offered as a switch; "tidak" keeps the verification going.
        if requested in ("pl_phone", "pl_otp") and parsing.says_number_is_lost(text):
            dispatcher.utter_message(response="utter_pl_lost_phone")
            return [SlotSet(requested, None),
                    switch_offer("recover_account", self.form_name(), requested, ask="utter_ask_start_recovery")]
        return None

    async def validate_pl_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        phone = parsing.typed_phone(tracker.latest_message, str(value))
        if phone is None:
            dispatcher.utter_message(response="utter_phone_not_recognised")
            return {"pl_phone": None}
        if not await request_login_code(phone, tracker, dispatcher):
            return {"pl_phone": None}
        return {"pl_phone": seal(tracker, "pl_phone", phone)}

    async def validate_pl_otp(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        phone = unsealed_text(tracker, "pl_phone")
        if RESEND.search(str(value)):
            await request_login_code(phone, tracker, dispatcher)
            return {"pl_otp": None}
        code = parsing.single_code(str(value), OTP_LENGTH)
        if not code:
            dispatcher.utter_message(response="utter_pl_otp_format")
            return {"pl_otp": None}
        try:
            verification = await off_loop(certificate_client().verify_otp, phone, code)
        except BackendError as error:
            utter_backend_error(dispatcher, error)
            if isinstance(error, Rejected) and error.code in ("otp_expired", "otp_attempts_exhausted"):
                dispatcher.utter_message(response="utter_pl_how_to_resend")
            return {"pl_otp": None}
        dispatcher.utter_message(response="utter_pl_verified")
        # The code itself is never kept: the slot only records that verification succeeded.
        return {"pl_otp": "verified", "pl_token": seal(tracker, "pl_token", verification.token), "pl_verified": True}
