"""Health workers missing from the target list submit their data for verification."""
from __future__ import annotations

import uuid
from typing import Any, Dict, List, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from indonesian_text import choices
from actions.api.errors import BackendUnavailable, Rejected
from actions.backend_calls import off_loop, registration_client, utter_backend_error
from actions.sealing import seal, unsealed_text
from privacy.masking import mask_nik, mask_phone
from actions.interruptions import ChangeStep
from actions.forms import (INVALID_ANSWERS_SLOT, AfterFormAction, PatientFormValidationAction, ask_numbered_choice,
                           reset_slots)

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
FLOW_SLOTS = [*FIELDS, "submission_confirmed", "submission_field_to_fix", "submission_outcome", "submission_status",
              INVALID_ANSWERS_SLOT]
SUBMISSION_NAMESPACE = uuid.UUID("5d1c7f0e-8a44-4c3f-b0f6-0c9c2f4e7d11")
# A field named with a change word ("nama saya salah", "ganti nomor hp") is asked again, then the summary.
CHANGE_STEPS = (
    ChangeStep("nik", ("nik",), ("submission_nik", "submission_confirmed"), "utter_back_to_submission_field"),
    ChangeStep("name", ("nama",), ("submission_name", "submission_confirmed"), "utter_back_to_submission_field"),
    ChangeStep("profession", ("profesi", "pekerjaan"), ("submission_profession", "submission_confirmed"),
               "utter_back_to_submission_field"),
    ChangeStep("facility", ("fasilitas", "faskes", "tempat kerja", "puskesmas", "rumah sakit"),
               ("submission_facility", "submission_confirmed"), "utter_back_to_submission_field"),
    ChangeStep("phone", ("hp", "nomor hp", "no hp", "telepon", "telp", "wa", "whatsapp"),
               ("submission_phone", "submission_confirmed"), "utter_back_to_submission_field"),
)


def professions() -> Tuple[str, ...]:
    return registration_client().professions()


def _clear(tracker: Tracker, slot: str) -> str:
    return (unsealed_text(tracker, slot) if slot in SEALED_FIELDS else tracker.get_slot(slot)) or ""


async def _checked(slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
    """Validates one field with the backend's rules and stores the normalized value."""
    try:
        normalized = await off_loop(registration_client().check_submission_field, FIELDS[slot], str(value))
    except Rejected as error:
        utter_backend_error(dispatcher, error)
        if error.code == "nik_already_listed":
            return {slot: None, "submission_outcome": "already_listed"}
        return {slot: None}
    except BackendUnavailable:
        dispatcher.utter_message(response="utter_backend_unavailable")
        return {slot: None}
    return {slot: seal(tracker, slot, normalized) if slot in SEALED_FIELDS else normalized}


class ValidateMissingHealthWorkerForm(PatientFormValidationAction):
    change_steps = CHANGE_STEPS
    entity_slots = {"submission_nik": "nik", "submission_name": "person_name", "submission_profession": "profession",
                    "submission_phone": "phone_number"}
    own_intents = ("not_registered",)
    free_text_slots = ("submission_name", "submission_facility")

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
        """A number of the menu, or a profession in any spelling the NLU knows ("prwt", "sy bidan"):
        one of the service's list, or any other health profession as the list's last, its catch-all
        ("tenaga kesehatan lainnya")."""
        try:
            names = professions()
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"submission_profession": None}
        number = choices.option_number(str(value), len(names))
        named = parsing.entity_texts(tracker.latest_message, "profession")
        if number:
            value = names[number - 1]
        elif named:
            value = named[0] if named[0] in names or not names else names[-1]
        return await _checked("submission_profession", value, dispatcher, tracker)

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
            utter_backend_error(dispatcher, error)
            if error.code == "submission_exists":
                return {"submission_confirmed": True, "submission_outcome": "exists"}
            return {"submission_confirmed": False}
        outcome = {"duplicate": "duplicate", "updated": "updated"}.get(submission.outcome or "", "submitted")
        return {"submission_confirmed": True, "submission_outcome": outcome, "submission_reference": submission.reference,
                "submission_status": submission.status}

    async def validate_submission_field_to_fix(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                               domain: DomainDict) -> Dict[Text, Any]:
        number = choices.option_number(str(value), len(FIELDS))
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
        try:
            labels = [profession.capitalize() for profession in professions()]
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
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


class ActionFinishMissingHealthWorker(AfterFormAction):
    def name(self) -> Text:
        return "action_finish_missing_health_worker"

    async def after_form(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        outcome, reference = tracker.get_slot("submission_outcome"), tracker.get_slot("submission_reference")
        if outcome == "submitted":
            dispatcher.utter_message(response="utter_submission_received", reference=reference)
        elif outcome in ("duplicate", "updated"):
            # Once is once: the first submission's reference and status, corrected if the data changed.
            dispatcher.utter_message(response=f"utter_submission_{outcome}", reference=reference)
            dispatcher.utter_message(response=f"utter_submission_{tracker.get_slot('submission_status') or 'pending'}",
                                     reference=reference)
        return reset_slots(FLOW_SLOTS) + [SlotSet("submission_reference", tracker.get_slot("submission_reference"))]
