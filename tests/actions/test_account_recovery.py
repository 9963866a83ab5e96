"""A lost registered number: the offer at the phone and code questions, the recovery form against a
live certificate backend, and the status by reference (actions/pedulilindungi/recovery.py)."""
from __future__ import annotations

import asyncio
import re

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.forms import PENDING_SLOT, ActionAskInterruptionAnswer
from actions.pedulilindungi.menu import ActionPlEntry
from actions.pedulilindungi.recovery import ValidateAccountRecoveryForm, answer_recovery_status, full_nik
from actions.pedulilindungi.verification import ValidateVerificationForm
from backends.certificate.orm import Person, RecoveryRequest
from tests.actions.conftest import form_tracker, opened, rasa_domain, sealed
from tests.actions.rendering import rendered

FORM = "account_recovery_form"
RINA_NIK, RINA_PHONE = "3174054508900003", "+6281110000001"
NEW_PHONE = "+6285799990001"


def run_form(action, form, requested, text, slots, intent="inform", sender="rec-test"):
    dispatcher = CollectingDispatcher()
    tracker = form_tracker(form, requested, text, slots, intent, sender_id=sender)
    events = asyncio.run(action.run(dispatcher, tracker, rasa_domain()))
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher.messages


def said(messages) -> str:
    return " ".join(rendered(m) for m in messages)


@pytest.mark.parametrize("text", ["saya lupa no hp yg didaftarkan", "nomornya udah mati",
                                  "HP SAYA KECURIAN JADI NOMORNYA GAK BISA DIPAKE", "no lama sy hilang kak"])
@pytest.mark.parametrize("question", ["pl_phone", "pl_otp"])
def test_a_lost_number_at_the_phone_or_code_question_is_offered_the_recovery(text, question):
    slots, messages = run_form(ValidateVerificationForm(), "verification_form", question, text, {})
    assert slots[question] is None
    assert slots[PENDING_SLOT]["intent"] == "recover_account" and slots["requested_slot"] == "interruption_answer"
    assert "sertifikat@pedulilindungi.id" in said(messages) and "tidak dikenali" not in said(messages)
    asker = CollectingDispatcher()
    tracker = Tracker("rec-test", {PENDING_SLOT: slots[PENDING_SLOT]}, {}, [], False, None,
                      {"name": "verification_form"}, "action_listen")
    asyncio.run(ActionAskInterruptionAnswer().run(asker, tracker, {}))
    assert [m["response"] for m in asker.messages] == ["utter_ask_start_recovery"]


def test_a_lost_number_in_the_first_message_starts_the_recovery_as_the_user_s_turn():
    dispatcher = CollectingDispatcher()
    tracker = Tracker("rec-test", {}, {"text": "hp saya hilang, mau ganti nomor", "intent": {"name": "change_phone"}},
                      [], False, None, {}, "action_listen")
    events = asyncio.run(ActionPlEntry().run(dispatcher, tracker, {}))
    turns = [e for e in events if e["event"] == "user"]
    assert [t["parse_data"]["intent"]["name"] for t in turns] == ["recover_account"]
    assert not any(e["event"] == "slot" and e["name"] == "pl_verified" for e in events)  # no verification
    assert [m["response"] for m in dispatcher.messages] == ["utter_pl_lost_phone"]


@pytest.mark.parametrize("typed, expected", [("3174054508900003", RINA_NIK), ("3174 0545 0890 0003", RINA_NIK),
                                             ("3174.0545.0890.0003", RINA_NIK), ("nik saya 3174054508900003", RINA_NIK),
                                             ("317405450890000", None),
                                             ("900003", None), ("31740545089000031", None), ("nik saya", None),
                                             ("٣١٧٤٠٥٤٥٠٨٩٠٠٠٠٣", None)])
def test_the_full_nik_is_sixteen_digits_however_grouped(typed, expected):
    assert full_nik(typed) == expected


def facts(**overrides):
    state = {"recovery_nik": sealed("recovery_nik", RINA_NIK, "rec-test"),
             "recovery_birth_date": sealed("recovery_birth_date", "1990-08-05", "rec-test")}
    return {**state, **overrides}


def test_matching_facts_give_a_sealed_ticket_and_a_mismatch_asks_all_three_again(live_certificate):
    slots, messages = run_form(ValidateAccountRecoveryForm(), FORM, "recovery_name", "Rina Wulandari", facts())
    assert opened("recovery_ticket", slots["recovery_ticket"], "rec-test")
    assert "Rina" not in str(slots) and "cocok" in said(messages)
    for wrong in ("Rina Wulandar", "Budi Santoso"):
        slots, messages = run_form(ValidateAccountRecoveryForm(), FORM, "recovery_name", wrong, facts())
        assert slots["recovery_nik"] is None and slots["recovery_birth_date"] is None and slots["recovery_name"] is None
        assert "tidak cocok" in said(messages) and "Sisa percobaan" in said(messages)
    wrong_date = facts(recovery_birth_date=sealed("recovery_birth_date", "1990-08-06", "rec-test"))
    _, by_date = run_form(ValidateAccountRecoveryForm(), FORM, "recovery_name", "Rina Wulandari", wrong_date)
    # The same words whichever fact was wrong (only the count of attempts left moves).
    assert re.sub(r"\d+", "#", said(by_date)) == re.sub(r"\d+", "#", said(messages))


def test_the_sixth_failed_check_ends_the_form_with_the_official_channels(live_certificate):
    for attempt in range(5):
        run_form(ValidateAccountRecoveryForm(), FORM, "recovery_name", f"Salah {attempt}", facts())
    slots, messages = run_form(ValidateAccountRecoveryForm(), FORM, "recovery_name", "Rina Wulandari", facts())
    assert slots["recovery_outcome"] == "throttled" and slots.get("recovery_ticket") is None
    assert "5 kali sehari" in said(messages) and "119 ext 9" in said(messages)


def test_the_request_is_opened_with_a_code_to_the_new_number_and_never_applied(live_certificate):
    slots, _ = run_form(ValidateAccountRecoveryForm(), FORM, "recovery_name", "RINA WULANDARI", facts())
    state = facts(recovery_name=slots["recovery_name"], recovery_ticket=slots["recovery_ticket"])
    slots, messages = run_form(ValidateAccountRecoveryForm(), FORM, "recovery_phone", "0857-9999-0001", state)
    assert opened("recovery_phone", slots["recovery_phone"], "rec-test") and "kode otp" in said(messages).lower()
    code = re.search(r"\b(\d{6})\b", live_certificate.outbox.messages(NEW_PHONE)[-1].text).group(1)
    state["recovery_phone"] = slots["recovery_phone"]
    slots, messages = run_form(ValidateAccountRecoveryForm(), FORM, "recovery_otp", code, state)
    assert slots["recovery_outcome"] == "opened" and re.fullmatch(r"REC-[A-HJ-NP-Z2-9]{8}", slots["recovery_reference"])
    assert slots["recovery_reference"] in said(messages) and "paling lambat" in said(messages)
    assert NEW_PHONE[3:] not in said(messages) and code not in str(slots)
    with live_certificate.sessions() as session:
        assert session.execute(select(Person.phone).where(Person.nik == RINA_NIK)).scalar_one() == RINA_PHONE
        assert session.execute(select(RecoveryRequest.status)).scalars().all() == ["pending"]
    # Once is once: the same code again answers with the same request.
    again, messages = run_form(ValidateAccountRecoveryForm(), FORM, "recovery_otp", code, state)
    assert again["recovery_reference"] == slots["recovery_reference"]
    status = CollectingDispatcher()
    asyncio.run(answer_recovery_status(slots["recovery_reference"], status))
    assert status.messages[0]["response"] == "utter_recovery_status_pending"
    unknown = CollectingDispatcher()
    asyncio.run(answer_recovery_status("REC-ZZZZZZZZ", unknown))
    assert unknown.messages[0]["response"] == "utter_submission_not_found"


def test_a_stale_ticket_asks_the_facts_again_and_keeps_nothing_personal(live_certificate):
    state = facts(recovery_name=sealed("recovery_name", "Rina Wulandari", "rec-test"),
                  recovery_ticket=sealed("recovery_ticket", "stale.ticket", "rec-test"))
    slots, messages = run_form(ValidateAccountRecoveryForm(), FORM, "recovery_phone", "085799990001", state)
    assert slots["recovery_nik"] is None and slots["recovery_ticket"] is None and slots["recovery_phone"] is None
    assert "kedaluwarsa" in said(messages)


def test_a_backend_that_is_down_gets_the_apology_and_keeps_the_facts(monkeypatch):
    monkeypatch.setenv("CERTIFICATE_URL", "http://127.0.0.1:9")   # nothing listens there
    from actions import backend_calls
    backend_calls.certificate_client.cache_clear()
    try:
        slots, messages = run_form(ValidateAccountRecoveryForm(), FORM, "recovery_name", "Rina Wulandari", facts())
    finally:
        backend_calls.certificate_client.cache_clear()
    assert slots["recovery_name"] is None and "recovery_nik" not in slots
    assert [m.get("response") for m in messages] == ["utter_backend_unavailable"]


AGAIN = ("recovery_ticket", "recovery_phone", "recovery_otp")   # the facts are checked together


@pytest.mark.parametrize("text, cleared", [
    ("nik saya salah", {"recovery_nik", "recovery_name", *AGAIN}),
    ("tanggal lahirnya keliru", {"recovery_birth_date", "recovery_name", *AGAIN}),
    ("tgl lahir salah min", {"recovery_birth_date", "recovery_name", *AGAIN}),
    ("namanya salah ketik", {"recovery_name", *AGAIN}),
    ("ktp saya keliru", {"recovery_nik", "recovery_name", *AGAIN}),
    ("mau ganti nomor hp", {"recovery_phone", "recovery_otp"}),
])
def test_going_back_one_step_asks_it_again_and_keeps_the_rest(text, cleared):
    state = facts(recovery_name=sealed("recovery_name", "Rina Wulandari", "rec-test"),
                  recovery_ticket=sealed("recovery_ticket", "t", "rec-test"),
                  recovery_phone=sealed("recovery_phone", "085799990001", "rec-test"))
    slots, messages = run_form(ValidateAccountRecoveryForm(), FORM, "recovery_otp", text, state)
    assert all(name in slots and slots[name] is None for name in cleared), slots
    assert [m["response"] for m in messages] == ["utter_recovery_step_back"]
    kept = set(state) - cleared
    assert not any(slots.get(name, state[name]) is None for name in kept), slots


def test_batal_forgets_the_identity_check():
    from actions.pedulilindungi.recovery import ActionRecoveryFinish
    dispatcher = CollectingDispatcher()
    tracker = Tracker("rec-test", {PENDING_SLOT: {"kind": "cancel", "form": FORM, "leave": True},
                                   "recovery_ticket": sealed("recovery_ticket", "t", "rec-test")},
                      {}, [], False, None, {}, "action_listen")
    events = asyncio.run(ActionRecoveryFinish().run(dispatcher, tracker, rasa_domain()))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["recovery_ticket"] is None and slots["recovery_nik"] is None
    assert "utter_cancelled" in [m.get("response") for m in dispatcher.messages]
