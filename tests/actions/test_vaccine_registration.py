"""The registration form's validation and actions, with real Trackers against a live backend."""
from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.vaccine_registration import (FORM, SCREENING_SLOTS, ActionFinishVaccineRegistration,
                                          ValidateVaccineRegistrationForm)
from backends.registration.orm import Slot
from tests.actions.conftest import demo_target_id, form_tracker, opened, rasa_domain, sealed
from tests.actions.rendering import rendered

IDENTIFIED = {"is_health_worker": True}


def validate(requested_slot: str, text: str, slots: dict, intent: str = "inform", **where):
    dispatcher = CollectingDispatcher()
    tracker = form_tracker(FORM, requested_slot, text, slots, intent, **where)
    events = asyncio.run(ValidateVaccineRegistrationForm().run(dispatcher, tracker, rasa_domain()))
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher.messages


def responses(messages):
    return [m.get("response") for m in messages]


def test_digits_alone_reveal_nothing_and_the_birth_date_is_asked(live_registration):
    for digits in ("900 012", "850007", "000001"):  # unique, shared and unknown digits: the same answer
        slots, messages = validate("nik_suffix", digits, IDENTIFIED)
        assert opened("nik_suffix", slots["nik_suffix"]) == digits.replace(" ", "")
        assert "900012" not in slots["nik_suffix"]  # sealed: the tracker store never sees the digits
        assert slots["target_match"] is None and slots["target_id"] is None
        assert slots["requested_slot"] == "birth_date" and messages == []


def test_whatsapps_verified_number_identifies_its_owner_at_once(live_registration):
    slots, messages = validate("nik_suffix", "900012", IDENTIFIED, sender_id="6281311110001",
                               input_channel="whatsapp")
    assert slots["target_match"] == "unique" and slots["site_name"] == "Puskesmas Kecamatan Tebet"
    assert slots["requested_slot"] == "site_confirmed"
    assert responses(messages) == ["utter_health_worker_found"] and messages[0]["name"] == "Siti Rahmawati"
    # Another WhatsApp number, or the same digits typed over a channel without verified numbers:
    for where in ({"sender_id": "6281399999999", "input_channel": "whatsapp"},
                  {"sender_id": "6281311110001", "input_channel": "rest"}):
        slots, messages = validate("nik_suffix", "900012", IDENTIFIED, **where)
        assert slots["target_match"] is None and slots["requested_slot"] == "birth_date" and messages == []


def test_the_birth_date_identifies_and_names_only_that_person(live_registration):
    state = dict(IDENTIFIED, nik_suffix=sealed("nik_suffix", "850007"))
    slots, messages = validate("birth_date", "15 Maret 1985", state)
    assert slots["target_match"] == "unique" and messages[0]["name"] == "Budi Santoso"
    assert slots["requested_slot"] == "site_confirmed"
    slots, messages = validate("birth_date", "16-03-1985", state)
    assert slots["registration_outcome"] == "no_match" and slots["requested_slot"] is None
    assert messages == []  # the outcome says it, without telling whether the digits exist


def test_guessing_is_throttled_per_conversation(live_registration):
    state = dict(IDENTIFIED, nik_suffix=sealed("nik_suffix", "850007", sender_id="guesser"))
    outcomes = []
    for day in range(1, 8):
        slots, messages = validate("birth_date", f"{day:02d}-01-1985", state, sender_id="guesser")
        outcomes.append(slots.get("registration_outcome"))
    assert outcomes[:5] == ["no_match"] * 5 and outcomes[5:] == ["throttled", "throttled"]
    assert responses(messages) == ["utter_registration_error_lookup_throttled"]
    assert 1 <= int(messages[0]["retry_after_minutes"]) <= 60  # the time the backend gave, in the words
    # Even the right birth date is refused now, and another conversation is not affected.
    slots, _ = validate("birth_date", "15-03-1985", state, sender_id="guesser")
    assert slots["registration_outcome"] == "throttled"
    other = dict(IDENTIFIED, nik_suffix=sealed("nik_suffix", "850007", sender_id="owner"))
    slots, _ = validate("birth_date", "15-03-1985", other, sender_id="owner")
    assert slots["target_match"] == "unique"


def test_a_sealed_value_copied_from_another_conversation_opens_to_nothing(live_registration):
    state = dict(IDENTIFIED, nik_suffix=sealed("nik_suffix", "850007", sender_id="someone-else"))
    slots, messages = validate("birth_date", "15-03-1985", state)
    assert slots["nik_suffix"] is None and slots["requested_slot"] == "nik_suffix" and "target_id" not in slots


def test_wrong_digits_get_the_backends_specific_correction(live_registration):
    for typed, expected in [("12345", "5 digit"), ("abcdef", "angka"), ("3171055306900012", "bukan NIK lengkap")]:
        slots, messages = validate("nik_suffix", typed, IDENTIFIED)
        assert slots["nik_suffix"] is None and slots["requested_slot"] == "nik_suffix"
        assert messages[0]["text"] is None  # the domain's words for the backend's code
        assert expected in rendered(messages[0])


def test_third_invalid_answer_explains_and_offers_a_human(live_registration):
    state = dict(IDENTIFIED)
    for attempt in range(3):
        slots, messages = validate("nik_suffix", "12", state)
        state["invalid_answers"] = slots["invalid_answers"]
    assert responses(messages)[-2:] == ["utter_explain_nik_suffix", "utter_offer_help_after_invalid_answers"]
    assert slots["invalid_answers"] == {"nik_suffix": 0}


def _screened_state(live_registration, **answers):
    site_id = live_registration.sites("Kota Bandung")[0].id
    state = dict(IDENTIFIED, nik_suffix=sealed("nik_suffix", "880021"), target_match="unique", site_confirmed=True,
                 site_id=site_id, site_name="x", target_id=demo_target_id(live_registration, "880021"))
    for slot in list(SCREENING_SLOTS)[:-1]:
        state[slot] = answers.get(slot, False)
    return state


def _finish(slots: dict) -> list:
    dispatcher = CollectingDispatcher()
    tracker = Tracker("action-test", slots, {}, [], False, None, {}, "")
    asyncio.run(ActionFinishVaccineRegistration().run(dispatcher, tracker, {}))
    return dispatcher.messages


def test_a_fever_postpones_the_vaccination(live_registration):
    slots, _ = validate("screening_immunosuppressed", "tidak",
                        _screened_state(live_registration, screening_fever=True), intent="deny")
    assert slots["registration_outcome"] == "postponed"
    # The service sends the advice as a code; the words are the domain's (domain/screening.yml).
    assert slots["screening_advice"] == [{"code": "postpone_until_recovered", "data": {}}]
    messages = _finish(dict(slots, site_name="x"))
    assert responses(messages) == ["utter_screening_postponed", "utter_screening_advice_postpone_until_recovered",
                                   "utter_screening_postponed_register_again"]
    said = " ".join(rendered(m) for m in messages)
    assert "ditunda" in said and "sembuh" in said and "Vaksin" in said


def test_a_postponement_names_the_figures_the_service_sent(live_registration):
    slots, _ = validate("screening_immunosuppressed", "tidak",
                        _screened_state(live_registration, screening_covid_recent=True, screening_blood_pressure=True),
                        intent="deny")
    said = [rendered(m) for m in _finish(dict(slots, site_name="x"))]
    assert any("3 bulan" in text and "COVID-19" in text for text in said)
    assert any("180/110 mmHg" in text for text in said)
    assert not any("{" in text for text in said)


def test_a_finding_for_the_doctor_is_noted_and_the_slots_are_still_offered(live_registration):
    slots, messages = validate("screening_immunosuppressed", "tidak",
                               _screened_state(live_registration, screening_pregnant_or_breastfeeding=True),
                               intent="deny")
    assert slots.get("registration_outcome") is None and 1 <= len(slots["offered_slots"]) <= 5
    assert responses(messages)[:2] == ["utter_screening_consult_doctor",
                                       "utter_screening_advice_doctor_at_site_assesses"]
    assert "dokter" in rendered(messages[1])


def test_an_advice_code_the_domain_does_not_know_gets_the_safe_advice():
    messages = _finish({"registration_outcome": "postponed",
                        "screening_advice": [{"code": "from_a_newer_service", "data": {"days": 14}}]})
    assert responses(messages) == ["utter_screening_postponed", "utter_screening_advice",
                                   "utter_screening_postponed_register_again"]
    assert "dokter" in rendered(messages[1])


def test_clean_screening_offers_at_most_five_slots(live_registration):
    slots, _ = validate("screening_immunosuppressed", "tidak", _screened_state(live_registration), intent="deny")
    assert 1 <= len(slots["offered_slots"]) <= 5 and slots["requested_slot"] == "slot_choice"


def test_slot_taken_meanwhile_offers_the_remaining_ones(live_registration):
    state = _screened_state(live_registration, screening_immunosuppressed=False)
    state["screening_immunosuppressed"] = False
    offered = live_registration.offerable_slots(state["site_id"])
    chosen = {"id": offered[0].id, "date": offered[0].date.isoformat(), "session": offered[0].session,
              "hours": offered[0].hours}
    with live_registration.sessions() as session:
        slot = session.get(Slot, chosen["id"])
        slot.booked = slot.capacity
        session.commit()
    state.update(slot_choice="1", chosen_slot=chosen, offered_slots=[chosen])
    slots, messages = validate("booking_confirmed", "ya", state, intent="affirm")
    assert responses(messages) == ["utter_registration_error_slot_full"]
    assert slots["requested_slot"] == "slot_choice" and slots["chosen_slot"] is None
    assert chosen["id"] not in [s["id"] for s in slots["offered_slots"]]


def test_confirmed_booking_is_idempotent_and_shows_the_ticket(live_registration):
    state = _screened_state(live_registration)
    state["screening_immunosuppressed"] = False
    offered = live_registration.offerable_slots(state["site_id"])[0]
    chosen = {"id": offered.id, "date": offered.date.isoformat(), "session": offered.session, "hours": offered.hours}
    state.update(slot_choice="1", chosen_slot=chosen)
    with live_registration.sessions() as session:
        booked_before = session.get(Slot, offered.id).booked
    first, _ = validate("booking_confirmed", "ya", state, intent="affirm")
    replay, _ = validate("booking_confirmed", "ya", state, intent="affirm")  # the same message delivered twice
    assert first["registration_outcome"] == replay["registration_outcome"] == "booked"
    with live_registration.sessions() as session:
        assert session.get(Slot, offered.id).booked == booked_before + 1

    dispatcher = CollectingDispatcher()
    tracker = Tracker("action-test", dict(state, registration_outcome="booked"), {}, [], False, None, {}, "")
    events = asyncio.run(ActionFinishVaccineRegistration().run(dispatcher, tracker, {}))
    assert [m.get("response") for m in dispatcher.messages if m.get("response")] == [
        "utter_booking_success", "utter_ticket_summary", "utter_vaccine_video"]
    summary = next(m for m in dispatcher.messages if m.get("response") == "utter_ticket_summary")
    assert summary["masked_nik"] == "************0021"
    assert any((m.get("image") or "").startswith("http://registration.test/v1/tickets/qr.png") for m in dispatcher.messages)
    assert {"event": "slot", "name": "registration_outcome", "value": "booked", "timestamp": None} in events
    assert {"event": "slot", "name": "target_id", "value": None, "timestamp": None} in events


def test_backend_down_apologises_and_keeps_the_question_open(monkeypatch):
    from actions import backend_calls
    from tests.service.conftest import free_port

    monkeypatch.setenv("REGISTRATION_URL", f"http://127.0.0.1:{free_port()}")
    backend_calls.registration_client.cache_clear()
    try:
        slots, messages = validate("nik_suffix", "900012", IDENTIFIED)
    finally:
        backend_calls.registration_client.cache_clear()
    assert responses(messages) == ["utter_backend_unavailable"]
    # Nothing is lost: the same question is asked again, so resending the answer retries.
    assert slots["nik_suffix"] is None and slots["requested_slot"] == "nik_suffix"
    assert "registration_outcome" not in slots
