"""Health workers missing from the target list submit their data for verification."""
from __future__ import annotations

import uuid
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.api.errors import BackendUnavailable, Rejected
from actions.backend_calls import off_loop, registration_client
from actions.sealing import seal, unsealed_text
from privacy.masking import mask_nik, mask_phone
from actions.forms import INVALID_ANSWERS_SLOT, PatientFormValidationAction, ask_numbered_choice, reset_slots

FORM = "missing_health_worker_form"
FIELDS = {  # slot -> backend field name, in the order they are asked and listed for correction
    "submission_nik": "nik",
    "submission_name": "name",
    "submission_profession": "profession",
    "submission_facility": "facility",
    "submission_phone": "phone",
}
# Personal data kept out of the tracker store (the profession is a fixed word, stored as it is).
SEALED_FIELDS = ("submission_nik", "submission_name", "submission_facility", "submission_phone")
FIELD_LABELS = ("NIK", "Nama lengkap", "Profesi", "Fasilitas kesehatan", "Nomor HP")
PROFESSIONS = ("dokter", "dokter gigi", "perawat", "bidan", "apoteker", "tenaga kesehatan lainnya")
FLOW_SLOTS = [*FIELDS, "submission_confirmed", "submission_field_to_fix", "submission_outcome", INVALID_ANSWERS_SLOT]
SUBMISSION_NAMESPACE = uuid.UUID("5d1c7f0e-8a44-4c3f-b0f6-0c9c2f4e7d11")


def _clear(tracker: Tracker, slot: str) -> str:
    return (unsealed_text(tracker, slot) if slot in SEALED_FIELDS else tracker.get_slot(slot)) or ""


async def _checked(slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
    """Validates one field with the backend's rules and stores the normalized value."""
    try:
        normalized = await off_loop(registration_client().check_submission_field, FIELDS[slot], str(value))
    except Rejected as error:
        dispatcher.utter_message(text=error.message)
        if error.code == "nik_already_listed":
            return {slot: None, "submission_outcome": "already_listed"}
        return {slot: None}
    except BackendUnavailable:
        dispatcher.utter_message(response="utter_backend_unavailable")
        return {slot: None}
    return {slot: seal(tracker, slot, normalized) if slot in SEALED_FIELDS else normalized}


class ValidateMissingHealthWorkerForm(PatientFormValidationAction):
    def name(self) -> Text:
        return f"validate_{FORM}"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        if tracker.get_slot("submission_outcome"):
            return []
        slots = [*FIELDS, "submission_confirmed"]
        if tracker.get_slot("submission_confirmed") is False:
            slots.append("submission_field_to_fix")
        return slots

    async def validate_submission_nik(self, value, dispatcher, tracker, domain):
        return await _checked("submission_nik", value, dispatcher, tracker)

    async def validate_submission_name(self, value, dispatcher, tracker, domain):
        return await _checked("submission_name", value, dispatcher, tracker)

    async def validate_submission_profession(self, value, dispatcher, tracker, domain):
        number = parsing.choice_number(str(value), len(PROFESSIONS))
        return await _checked("submission_profession", PROFESSIONS[number - 1] if number else value, dispatcher,
                              tracker)

    async def validate_submission_facility(self, value, dispatcher, tracker, domain):
        return await _checked("submission_facility", value, dispatcher, tracker)

    async def validate_submission_phone(self, value, dispatcher, tracker, domain):
        phone = parsing.typed_phone(tracker.latest_message, str(value))
        if phone is None:
            dispatcher.utter_message(response="utter_phone_not_recognised")
            return {"submission_phone": None}
        return await _checked("submission_phone", phone, dispatcher, tracker)

    async def validate_submission_confirmed(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                            domain: DomainDict) -> Dict[Text, Any]:
        answer = parsing.yes_or_no(str(value), tracker.latest_message.get("intent", {}).get("name"))
        if answer is None:
            dispatcher.utter_message(response="utter_please_answer_yes_no")
            return {"submission_confirmed": None}
        if not answer:
            return {"submission_confirmed": False}
        fields = {FIELDS[slot]: _clear(tracker, slot) for slot in FIELDS}
        request_id = uuid.uuid5(SUBMISSION_NAMESPACE, f"{tracker.sender_id}:{fields['nik']}").hex
        try:
            submission = await off_loop(registration_client().submit_missing_health_worker, request_id=request_id,
                                        **fields)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"submission_confirmed": None}
        except Rejected as error:
            dispatcher.utter_message(text=error.message)
            return {"submission_confirmed": False}
        return {"submission_confirmed": True, "submission_outcome": "submitted",
                "submission_reference": submission.reference}

    async def validate_submission_field_to_fix(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                               domain: DomainDict) -> Dict[Text, Any]:
        number = parsing.choice_number(str(value), len(FIELDS))
        if number is None:
            dispatcher.utter_message(response="utter_invalid_choice", options=len(FIELDS))
            return {"submission_field_to_fix": None}
        slot = list(FIELDS)[number - 1]
        # Clearing the field makes the form ask it again, then confirm the summary again.
        return {"submission_field_to_fix": None, "submission_confirmed": None, slot: None}


class ActionStartMissingHealthWorker(Action):
    def name(self) -> Text:
        return "action_start_missing_health_worker"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        return reset_slots(FLOW_SLOTS)


class ActionAskSubmissionProfession(Action):
    def name(self) -> Text:
        return "action_ask_submission_profession"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        labels = [profession.capitalize() for profession in PROFESSIONS]
        ask_numbered_choice(dispatcher, "utter_ask_submission_profession", labels, labels)
        return []


class ActionAskSubmissionConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_submission_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(
            response="utter_ask_submission_confirmed", masked_nik=mask_nik(_clear(tracker, "submission_nik")),
            name=_clear(tracker, "submission_name"), profession=tracker.get_slot("submission_profession"),
            facility=_clear(tracker, "submission_facility"),
            masked_phone=mask_phone(_clear(tracker, "submission_phone")))
        return []


class ActionAskSubmissionFieldToFix(Action):
    def name(self) -> Text:
        return "action_ask_submission_field_to_fix"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        ask_numbered_choice(dispatcher, "utter_ask_submission_field_to_fix", list(FIELD_LABELS), list(FIELD_LABELS))
        return []


class ActionFinishMissingHealthWorker(Action):
    def name(self) -> Text:
        return "action_finish_missing_health_worker"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if tracker.get_slot("submission_outcome") == "submitted":
            dispatcher.utter_message(response="utter_submission_received",
                                     reference=tracker.get_slot("submission_reference"))
        return reset_slots(FLOW_SLOTS) + [SlotSet("submission_reference", tracker.get_slot("submission_reference"))]
