"""Moving an account whose registered number is lost: facts a stranger does not have, a code to the
new number, and an officer's decision (docs/flows.md, "Lost number").

The form asks the full NIK, the birth date and the name on the certificate; the certificate service
checks them together and answers any mismatch with one identical refusal (5 a day per NIK and per
requester). A match gives a ticket for 15 minutes, sealed in the tracker; a code then goes to the new
number, and the typed code opens a request (REC-…) that an officer decides within 3 working days.
Nothing changes in the chat; the registered number is told by SMS at once.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.api.errors import BackendError, BackendUnavailable, Rejected
from actions.backend_calls import certificate_client, off_loop, utter_backend_error
from actions.forms import AfterFormAction, PatientFormValidationAction, reset_slots
from actions.interruptions import ChangeStep
from actions.pedulilindungi.session import channel
from actions.pedulilindungi.verification import OTP_LENGTH, RESEND
from actions.requester import requesters
from actions.sealing import seal, unsealed_text

FORM = "account_recovery_form"
FACT_SLOTS = ("recovery_nik", "recovery_birth_date", "recovery_name")
RECOVERY_SLOTS = [*FACT_SLOTS, "recovery_phone", "recovery_otp", "recovery_ticket", "recovery_outcome",
                  "recovery_reference"]
RECOVERY_NAMESPACE = uuid.UUID("5b0c9f6e-2a47-4e8e-9d1b-1f4c7a3e8d20")
NIK_LENGTH = 16
# The facts are checked together: changing one asks them again (the ticket was for the old ones).
_AGAIN = ("recovery_ticket", "recovery_phone", "recovery_otp")
CHANGE_STEPS = (
    ChangeStep("birth date", ("tanggal lahir", "tgl lahir", "lahir", "lahirnya", "ultah"), ("recovery_birth_date", "recovery_name", *_AGAIN),
               "utter_recovery_step_back"),
    ChangeStep("nik", ("nik", "nik nya", "niknya", "ktp"), ("recovery_nik", "recovery_name", *_AGAIN), "utter_recovery_step_back"),
    ChangeStep("name", ("nama", "namanya"), ("recovery_name", *_AGAIN), "utter_recovery_step_back"),
    ChangeStep("phone", ("nomor hp", "no hp", "nomor baru", "nomor", "hp"), ("recovery_phone", "recovery_otp"),
               "utter_recovery_step_back"),
)
FACTS_AGAIN = {slot: None for slot in (*FACT_SLOTS, *_AGAIN)}


def full_nik(text: str) -> Optional[str]:
    """`3171 2345 6789 0001`, `3171.2345.6789.0001` or `nik saya 3171…` -> the 16 digits (the project's
    one rule for reading typed numbers, indonesian_text/digits.py); anything else None."""
    digits = parsing.single_code(text or "", NIK_LENGTH)
    return digits if digits.isascii() and digits else None


def _request_id(tracker: Tracker, phone: str) -> str:
    """One request per conversation, number and day: a repeated code is answered with the same request."""
    day = parsing.today_in_indonesia().isoformat()
    return uuid.uuid5(RECOVERY_NAMESPACE, f"{tracker.sender_id}:{phone}:{day}").hex


class ActionRecoveryStart(Action):
    def name(self) -> Text:
        return "action_recovery_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_recovery_intro")
        return reset_slots(RECOVERY_SLOTS)


class ValidateAccountRecoveryForm(PatientFormValidationAction):
    change_steps = CHANGE_STEPS
    own_intents = ("recover_account",)
    free_text_slots = ("recovery_name",)

    def name(self) -> Text:
        return f"validate_{FORM}"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        if tracker.get_slot("recovery_outcome"):
            return []
        return [*FACT_SLOTS, "recovery_phone", "recovery_otp"]

    async def validate_recovery_nik(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[Text, Any]:
        nik = full_nik(str(value))
        if nik is None:
            dispatcher.utter_message(response="utter_recovery_nik_format")
            return {"recovery_nik": None}
        return {"recovery_nik": seal(tracker, "recovery_nik", nik)}

    async def validate_recovery_birth_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                           domain: DomainDict) -> Dict[Text, Any]:
        born = parsing.birth_date(str(value))
        if born is None:
            dispatcher.utter_message(response="utter_invalid_birth_date")
            return {"recovery_birth_date": None}
        return {"recovery_birth_date": seal(tracker, "recovery_birth_date", born.isoformat())}

    async def validate_recovery_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> Dict[Text, Any]:
        name = " ".join(str(value).split())
        if not 2 <= len(name) <= 100 or not any(ch.isalpha() for ch in name):
            dispatcher.utter_message(response="utter_recovery_name_format")
            return {"recovery_name": None}
        nik, born = unsealed_text(tracker, "recovery_nik"), unsealed_text(tracker, "recovery_birth_date")
        if not nik or not born:
            return dict(FACTS_AGAIN)
        try:
            ticket = await off_loop(certificate_client().check_recovery_facts, nik, dt.date.fromisoformat(born),
                                    name, requesters(tracker))
        except BackendUnavailable as error:
            utter_backend_error(dispatcher, error)
            return {"recovery_name": None}  # the facts are kept: the name again retries the check
        except Rejected as error:
            utter_backend_error(dispatcher, error)
            if error.code == "recovery_throttled":
                dispatcher.utter_message(response="utter_recovery_other_channels")
                return {**FACTS_AGAIN, "recovery_outcome": "throttled"}
            if error.code.startswith("nik_"):
                return {"recovery_nik": None, "recovery_name": None}
            return dict(FACTS_AGAIN)  # one answer for any mismatch: all three asked again
        dispatcher.utter_message(response="utter_recovery_facts_ok")
        return {"recovery_name": seal(tracker, "recovery_name", name),
                "recovery_ticket": seal(tracker, "recovery_ticket", ticket)}

    async def validate_recovery_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[Text, Any]:
        phone = parsing.typed_phone(tracker.latest_message, str(value))
        if phone is None:
            dispatcher.utter_message(response="utter_phone_not_recognised")
            return {"recovery_phone": None}
        failure = await _send_code(phone, dispatcher, tracker)
        if failure is not None:
            return _after_failure({"recovery_phone": None}, failure)
        return {"recovery_phone": seal(tracker, "recovery_phone", phone)}

    async def validate_recovery_otp(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[Text, Any]:
        phone = unsealed_text(tracker, "recovery_phone")
        if RESEND.search(str(value)):
            return _after_failure({"recovery_otp": None}, await _send_code(phone, dispatcher, tracker))
        code = parsing.single_code(str(value), OTP_LENGTH)
        if not code:
            dispatcher.utter_message(response="utter_pl_otp_format")
            return {"recovery_otp": None}
        try:
            recovery = await off_loop(certificate_client().open_recovery, unsealed_text(tracker, "recovery_ticket"),
                                      phone, code, _request_id(tracker, phone), channel(tracker))
        except BackendError as error:
            utter_backend_error(dispatcher, error)
            code_name = error.code if isinstance(error, Rejected) else ""
            if code_name in ("otp_expired", "otp_attempts_exhausted"):
                dispatcher.utter_message(response="utter_pl_how_to_resend")
            if code_name == "phone_in_use":
                return {"recovery_otp": None, "recovery_phone": None}
            return _after_failure({"recovery_otp": None}, code_name)
        expected_by = parsing.indonesian_date(recovery.expected_by)
        if recovery.existing:
            dispatcher.utter_message(response="utter_recovery_existing", reference=recovery.reference,
                                     expected_by=expected_by)
        else:
            dispatcher.utter_message(response="utter_recovery_opened", reference=recovery.reference,
                                     expected_by=expected_by, phone=recovery.new_phone_masked or "nomor baru Anda")
        return {"recovery_otp": "verified", "recovery_reference": recovery.reference,
                "recovery_outcome": "existing" if recovery.existing else "opened"}


async def _send_code(phone: Optional[str], dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[str]:
    """Sends a code to the new number; None when sent, else the refusal's code ("" when the service is down)."""
    try:
        await off_loop(certificate_client().request_recovery_otp, unsealed_text(tracker, "recovery_ticket"),
                       phone, requesters(tracker))
    except BackendError as error:
        utter_backend_error(dispatcher, error)
        return error.code if isinstance(error, Rejected) else ""
    dispatcher.utter_message(response="utter_recovery_otp_sent")
    return None


def _after_failure(slots: Dict[Text, Any], code: Optional[str]) -> Dict[Text, Any]:
    # The 15-minute identity check expired: the facts are asked again, nothing else is lost.
    if code == "recovery_ticket_invalid":
        return {**slots, **FACTS_AGAIN}
    return slots


class ActionRecoveryFinish(AfterFormAction):
    """The recovery form is done (the request was opened and its reference said, or the checks were
    throttled): the personal answers are forgotten; the backend's request holds what an officer needs."""

    def name(self) -> Text:
        return "action_recovery_finish"

    async def on_leave(self, tracker: Tracker) -> List[EventType]:
        return [SlotSet("recovery_ticket", None)]   # `batal`: the identity check is forgotten too

    async def after_form(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: DomainDict) -> List[EventType]:
        if tracker.get_slot("recovery_outcome") in ("opened", "existing"):
            dispatcher.utter_message(response="utter_pl_anything_else")
        return reset_slots([*FACT_SLOTS, "recovery_phone", "recovery_ticket"])


async def answer_recovery_status(reference: str, dispatcher: CollectingDispatcher) -> List[EventType]:
    """Status by reference (REC-…): no personal data, so the reference alone is enough to ask."""
    try:
        recovery = await off_loop(certificate_client().recovery_status, reference)
    except BackendError as error:
        if isinstance(error, Rejected) and error.status == 404:
            dispatcher.utter_message(response="utter_submission_not_found", reference=reference)
        else:
            utter_backend_error(dispatcher, error)
        return []
    dispatcher.utter_message(response=f"utter_recovery_status_{recovery.status}", reference=recovery.reference,
                             expected_by=parsing.indonesian_date(recovery.expected_by))
    return [SlotSet("submission_reference", recovery.reference)]
