"""Vaccine registration for health workers: identify, confirm the site, screen, book, ticket.

The form's questions are asked in the order of REQUIRED_SLOTS; `required_slots` drops the ones
a branch does not need, and ends the form early once `registration_outcome` is decided (not a
health worker, NIK not on the list, already booked, screening postponed, no free slots).
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import identification, parsing
from indonesian_text import choices
from actions.api.errors import BackendUnavailable, Rejected
from actions.api.registration import Contact, Slot
from actions.backend_calls import (domain_response_names, off_loop, registration_client, template_values,
                                   utter_backend_error)
from actions.forms import (INVALID_ANSWERS_SLOT, AfterFormAction, PatientFormValidationAction, ask_numbered_choice,
                           latest_text, reset_slots)
from actions.interruptions import ChangeStep
from actions.tickets import send_ticket

FORM = "vaccine_registration_form"
SCREENING_SLOTS = {
    "screening_fever": "fever",
    "screening_covid_recent": "covid_recent",
    "screening_pregnant_or_breastfeeding": "pregnant_or_breastfeeding",
    "screening_blood_pressure": "blood_pressure",
    "screening_allergy_previous_dose": "allergy_previous_dose",
    "screening_chronic_or_autoimmune": "chronic_or_autoimmune",
    "screening_immunosuppressed": "immunosuppressed",
}
REQUIRED_SLOTS = ["is_health_worker", "nik_suffix", "birth_date", "nik_full", "site_confirmed", "site_choice",
                  *SCREENING_SLOTS, "slot_choice", "booking_confirmed"]
STATE_SLOTS = ["registration_outcome", "target_match", "target_id", "site_id", "site_name", "site_address",
               "site_regency", "offered_sites", "offered_slots", "chosen_slot", "screening_advice",
               INVALID_ANSWERS_SLOT]
_AFTER_SITE = ("slot_choice", "chosen_slot", "booking_confirmed")
# The steps a user may go back to (most specific first); everything not cleared is kept.
CHANGE_STEPS = (
    ChangeStep("identity", ("nik", "tanggal lahir", "tgl lahir", "tanggal lahirnya", "ktp"),
               ("nik_suffix", "birth_date", "nik_full", "target_match", "target_id", "site_id", "site_name",
                "site_address", "site_regency", "site_confirmed", "site_choice", "offered_sites", *SCREENING_SLOTS,
                "screening_advice", "offered_slots", *_AFTER_SITE), "utter_back_to_identity"),
    ChangeStep("screening", ("skrining", "screening", "jawaban", "pertanyaan kesehatan"),
               (*SCREENING_SLOTS, "screening_advice", "offered_slots", *_AFTER_SITE), "utter_back_to_screening"),
    ChangeStep("site", ("lokasi", "tempat", "puskesmas", "faskes", "rs", "rumah sakit", "site"),
               ("site_confirmed", "site_choice", "offered_sites", *_AFTER_SITE), "utter_back_to_site"),
    ChangeStep("schedule", ("jadwal", "tanggal", "tgl", "hari", "sesi", "jam", "waktu", "slot"),
               _AFTER_SITE, "utter_back_to_schedule"),
)
# Used in the request id of a booking: the same health worker, slot and conversation always
# send the same id, so a message delivered twice (or a turn replayed after a crash) books once.
BOOKING_NAMESPACE = uuid.UUID("0b6f6b8e-3d0a-4b7e-9a53-6a0c0f1e5b21")


def _yes_no(value: Any, tracker: Tracker) -> Optional[bool]:
    return parsing.yes_or_no(str(value), tracker.latest_message.get("intent", {}).get("name"))


def _contact(tracker: Tracker) -> Optional[Contact]:
    """The conversation booking now: the day-before reminder is sent back to it."""
    channel = tracker.latest_message.get("input_channel") or tracker.get_latest_input_channel()
    return Contact(channel, tracker.sender_id) if channel and tracker.sender_id else None


ADVICE_RESPONSE_PREFIX = "utter_screening_advice_"
UNKNOWN_ADVICE_RESPONSE = "utter_screening_advice"  # a code the domain has no words for yet


def advice_response(code: str) -> str:
    """The domain's words for an advice code the registration service sent (domain/screening.yml)."""
    name = ADVICE_RESPONSE_PREFIX + code
    return name if name in domain_response_names() else UNKNOWN_ADVICE_RESPONSE


def utter_screening_advice(dispatcher: CollectingDispatcher, advice: Optional[List[Dict[str, Any]]]) -> None:
    """Each finding's advice, in the domain's words, filled in with its figures."""
    for item in advice or []:
        data = item.get("data")
        dispatcher.utter_message(response=advice_response(str(item.get("code", ""))),
                                 **template_values(data if isinstance(data, dict) else {}))


def _slot_dict(slot: Slot) -> Dict[str, Any]:
    return {"id": slot.id, "date": slot.date.isoformat(), "session": slot.session, "hours": slot.hours}


def describe_slot(slot: Dict[str, Any]) -> str:
    day = parsing.indonesian_date(dt.date.fromisoformat(slot["date"]))
    return f"{day}, sesi {slot['session']} ({slot['hours']} WIB)"


class ValidateVaccineRegistrationForm(PatientFormValidationAction):
    change_steps = CHANGE_STEPS
    # "saya perawat, mau daftar vaksin": a profession answers "are you a health worker?".
    entity_slots = {"is_health_worker": "profession", "nik_suffix": "nik_suffix"}
    own_intents = ("register_vaccine",)

    def name(self) -> Text:
        return f"validate_{FORM}"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        if tracker.get_slot("registration_outcome"):
            return []  # decided: the form ends and action_finish_vaccine_registration speaks
        asked = identification.identification_slots(tracker, tracker.get_slot("target_match"))
        slots = [s for s in REQUIRED_SLOTS if s not in identification.IDENTIFICATION_SLOTS or s in asked]
        if tracker.get_slot("site_confirmed") is not False:
            slots.remove("site_choice")
        return slots

    async def validate_is_health_worker(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: DomainDict) -> Dict[Text, Any]:
        # "1"/"ya" (a button), "iya saya perawat", "saya bukan nakes", or just "saya bidan".
        answer = True if value is True else _yes_no(value, tracker)
        if answer is None and value != latest_text(tracker):
            answer = _yes_no(latest_text(tracker), tracker)
        if answer is None and parsing.entity_texts(tracker.latest_message, "profession"):
            answer = True
        if answer is None:
            dispatcher.utter_message(response="utter_please_answer_yes_no")
            return {"is_health_worker": None}
        if not answer:
            return {"is_health_worker": False, "registration_outcome": "not_health_worker"}
        return {"is_health_worker": True}

    async def validate_nik_suffix(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[Text, Any]:
        return await self._identified(await identification.validate_nik_suffix(value, dispatcher, tracker),
                                      dispatcher)

    async def validate_birth_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[Text, Any]:
        return await self._identified(await identification.validate_birth_date(value, dispatcher, tracker),
                                      dispatcher)

    async def validate_nik_full(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        return await self._identified(await identification.validate_nik_full(value, dispatcher, tracker),
                                      dispatcher)

    async def _identified(self, slots: Dict[Text, Any], dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
        """After an identification answer: the outcome when nobody matched, the site when someone did."""
        if slots.get("target_match") == "none":
            slots["registration_outcome"] = "no_match"
        elif slots.get("target_match") == "throttled":
            slots["registration_outcome"] = "throttled"
        elif slots.get("target_match") == "unique":
            slots.update(await self._after_identification(slots["target_id"], dispatcher))
        return slots

    async def _after_identification(self, target_id: int, dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
        client = registration_client()
        try:
            existing = await off_loop(client.active_appointment, target_id)
            if existing is not None:
                return {"registration_outcome": "has_appointment"}
            worker = await off_loop(client.health_worker, target_id)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {name: None for name in identification.IDENTIFICATION_SLOTS}
        dispatcher.utter_message(response="utter_health_worker_found", name=worker.name, facility=worker.facility)
        site = worker.assigned_site
        return {"site_id": site.id, "site_name": site.name, "site_address": site.address,
                "site_regency": site.regency}

    async def validate_site_confirmed(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[Text, Any]:
        answer = _yes_no(value, tracker)
        if answer is None:
            dispatcher.utter_message(response="utter_please_answer_yes_no")
            return {"site_confirmed": None}
        if answer:
            return dict(await self._slots_at_site(tracker, tracker.get_slot("site_id"), dispatcher), site_confirmed=True)
        try:
            sites = await off_loop(registration_client().sites, tracker.get_slot("site_regency"))
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"site_confirmed": None}
        others = [{"id": s.id, "name": s.name, "address": s.address} for s in sites
                  if s.id != int(tracker.get_slot("site_id"))]
        if not others:
            dispatcher.utter_message(response="utter_no_other_sites", regency=tracker.get_slot("site_regency"))
            return {"site_confirmed": True}
        return {"site_confirmed": False, "offered_sites": others}

    async def validate_site_choice(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        offered = tracker.get_slot("offered_sites") or []
        text = str(value).strip().lower()
        number = choices.option_number(text, len(offered))
        if number is None:
            named = [s for s in offered if text in s["name"].lower()]
            number = offered.index(named[0]) + 1 if len(named) == 1 and len(text) >= 4 else None
        if number is None:
            dispatcher.utter_message(response="utter_invalid_choice", options=len(offered))
            return {"site_choice": None}
        site = offered[number - 1]
        return {"site_choice": str(number), "site_id": site["id"], "site_name": site["name"],
                "site_address": site["address"], **await self._slots_at_site(tracker, site["id"], dispatcher)}

    async def _slots_at_site(self, tracker: Tracker, site_id: Any, dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
        """After going back to the site: when the screening was already answered, the new site's slots."""
        if any(tracker.get_slot(name) is None for name in SCREENING_SLOTS) or site_id is None:
            return {}
        try:
            slots = await off_loop(registration_client().offerable_slots, int(site_id))
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"site_confirmed": None, "site_choice": None}
        if not slots:
            return {"registration_outcome": "no_slots"}
        return {"offered_slots": [_slot_dict(s) for s in slots]}

    async def _screening_answer(self, slot: str, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker) -> Dict[Text, Any]:
        answer = _yes_no(value, tracker)
        if answer is None:
            dispatcher.utter_message(response="utter_please_answer_yes_no")
            return {slot: None}
        slots: Dict[Text, Any] = {slot: answer}
        if slot == list(SCREENING_SLOTS)[-1]:
            answers = {key: bool(tracker.get_slot(name)) for name, key in SCREENING_SLOTS.items()}
            answers[SCREENING_SLOTS[slot]] = answer
            slots.update(await self._evaluate_screening(answers, tracker, dispatcher))
        return slots

    async def _evaluate_screening(self, answers: Dict[str, bool], tracker: Tracker,
                                  dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
        client = registration_client()
        try:
            result = await off_loop(client.evaluate_screening, answers)
            if not result.may_book:
                return {"registration_outcome": "postponed", "screening_advice": result.advice}
            slots = await off_loop(client.offerable_slots, int(tracker.get_slot("site_id")))
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {list(SCREENING_SLOTS)[-1]: None}
        if not slots:
            return {"registration_outcome": "no_slots", "screening_advice": result.advice}
        if result.outcome == "consult_doctor":
            dispatcher.utter_message(response="utter_screening_consult_doctor")
            utter_screening_advice(dispatcher, result.advice)
        return {"screening_advice": result.advice, "offered_slots": [_slot_dict(s) for s in slots]}

    async def validate_slot_choice(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        offered = tracker.get_slot("offered_slots") or []
        options = [choices.Option(dt.date.fromisoformat(s["date"]), s["session"]) for s in offered]
        choice = choices.choose(str(value), options, parsing.today_in_indonesia())
        if choice.picked is not None:
            return {"slot_choice": str(choice.picked), "chosen_slot": offered[choice.picked - 1]}
        if choice.is_ambiguous:
            # "tgl 7", "besok": ask back with the slots it could mean, by their numbers in the list.
            lines = "\n".join(f"{number}. {describe_slot(offered[number - 1])}" for number in choice.candidates)
            dispatcher.utter_message(response="utter_which_slot", options=lines)
            return {"slot_choice": None}
        response = "utter_slot_date_not_offered" if choice.mentioned_date else "utter_invalid_slot_choice"
        dispatcher.utter_message(response=response, options=len(offered))
        return {"slot_choice": None}

    async def validate_booking_confirmed(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                         domain: DomainDict) -> Dict[Text, Any]:
        answer = _yes_no(value, tracker)
        if answer is None:
            dispatcher.utter_message(response="utter_please_answer_yes_no")
            return {"booking_confirmed": None}
        if not answer:
            return {"booking_confirmed": None, "slot_choice": None, "chosen_slot": None}
        target_id = identification.identified_target(tracker)
        slot = tracker.get_slot("chosen_slot")
        answers = {key: bool(tracker.get_slot(name)) for name, key in SCREENING_SLOTS.items()}
        request_id = uuid.uuid5(BOOKING_NAMESPACE, f"{tracker.sender_id}:{target_id}:{slot['id']}").hex
        client = registration_client()
        try:
            await off_loop(client.book, target_id, slot["id"], answers, request_id, _contact(tracker))
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"booking_confirmed": None}
        except Rejected as error:
            return await self._booking_rejected(error, tracker, dispatcher)
        return {"booking_confirmed": True, "registration_outcome": "booked"}

    async def _booking_rejected(self, error: Rejected, tracker: Tracker,
                                dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
        if error.code == "already_booked":
            return {"booking_confirmed": True, "registration_outcome": "has_appointment"}
        if error.code != "slot_full":
            utter_backend_error(dispatcher, error)
            return {"booking_confirmed": True, "registration_outcome": "postponed"}
        try:
            remaining = await off_loop(registration_client().offerable_slots, int(tracker.get_slot("site_id")))
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"booking_confirmed": None}
        if not remaining:
            return {"booking_confirmed": True, "registration_outcome": "no_slots"}
        utter_backend_error(dispatcher, error)  # slot_full: choose again from what is left
        return {"booking_confirmed": None, "slot_choice": None, "chosen_slot": None,
                "offered_slots": [_slot_dict(s) for s in remaining]}


for _slot in SCREENING_SLOTS:
    async def _validate(self, value, dispatcher, tracker, domain, _slot=_slot):
        return await self._screening_answer(_slot, value, dispatcher, tracker)
    setattr(ValidateVaccineRegistrationForm, f"validate_{_slot}", _validate)


class ActionStartVaccineRegistration(Action):
    """Clears what an earlier run of the flow left, so every registration starts fresh."""

    def name(self) -> Text:
        return "action_start_vaccine_registration"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        return reset_slots(REQUIRED_SLOTS + STATE_SLOTS)


class ActionAskSiteConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_site_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_site_confirmed", site_name=tracker.get_slot("site_name"),
                                 site_address=tracker.get_slot("site_address"))
        return []


class ActionAskSiteChoice(Action):
    def name(self) -> Text:
        return "action_ask_site_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        sites = tracker.get_slot("offered_sites") or []
        ask_numbered_choice(dispatcher, "utter_ask_site_choice", [f"{s['name']} — {s['address']}" for s in sites])
        return []


class ActionAskSlotChoice(Action):
    def name(self) -> Text:
        return "action_ask_slot_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        slots = tracker.get_slot("offered_slots") or []
        ask_numbered_choice(dispatcher, "utter_ask_slot_choice", [describe_slot(s) for s in slots],
                            site_name=tracker.get_slot("site_name"))
        return []


class ActionAskBookingConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_booking_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_booking_confirmed", site_name=tracker.get_slot("site_name"),
                                 slot_text=describe_slot(tracker.get_slot("chosen_slot")))
        return []


class ActionFinishVaccineRegistration(AfterFormAction):
    left_events = (SlotSet("registration_outcome", "left"),)
    """Speaks the outcome the form decided, then clears the flow (keeping the outcome for rules)."""

    def name(self) -> Text:
        return "action_finish_vaccine_registration"

    async def after_form(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        outcome = tracker.get_slot("registration_outcome")
        if outcome == "not_health_worker":
            dispatcher.utter_message(response="utter_not_health_worker")
            dispatcher.utter_message(response="utter_main_menu")
        elif outcome == "no_match":
            dispatcher.utter_message(response="utter_nik_not_on_list")
        elif outcome == "postponed":
            dispatcher.utter_message(response="utter_screening_postponed")
            utter_screening_advice(dispatcher, tracker.get_slot("screening_advice"))
            dispatcher.utter_message(response="utter_screening_postponed_register_again")
        elif outcome == "no_slots":
            dispatcher.utter_message(response="utter_no_slots_available", site_name=tracker.get_slot("site_name"))
        elif outcome in ("booked", "has_appointment"):
            await self._show_ticket(outcome, tracker, dispatcher)
        keep = {"registration_outcome": outcome}
        return reset_slots(REQUIRED_SLOTS + STATE_SLOTS, keep=keep)

    async def _show_ticket(self, outcome: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        try:
            appointment = await off_loop(registration_client().active_appointment,
                                         identification.identified_target(tracker))
        except BackendUnavailable:
            appointment = None
        if appointment is None:
            dispatcher.utter_message(response="utter_ticket_later")
            return
        dispatcher.utter_message(response="utter_booking_success" if outcome == "booked" else "utter_already_booked")
        send_ticket(dispatcher, appointment)
