"""PeduliLindungi actions with real Trackers against a live certificate backend."""
from __future__ import annotations

import asyncio
import re

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.pedulilindungi.menu import ActionPlEntry, ActionPlRoute
from actions.pedulilindungi.personal_info import ValidateNameChangeForm
from actions.pedulilindungi.verification import ValidateVerificationForm
from backends.certificate.orm import AuditEntry
from tests.actions.conftest import form_tracker, opened, rasa_domain, sealed
from tests.actions.rendering import rendered

RINA, AYU = "+6281110000001", "+6281110000003"


def run_form(action, form, requested_slot, text, slots, intent="inform"):
    dispatcher = CollectingDispatcher()
    tracker = form_tracker(form, requested_slot, text, slots, intent)
    events = asyncio.run(action.run(dispatcher, tracker, rasa_domain()))
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher.messages


def texts(messages):
    return " ".join(rendered(m) for m in messages)


def latest_code(client, phone):
    return re.search(r"\b(\d{6})\b", client.outbox.messages(phone)[-1].text).group(1)


def verified_token(client, phone=RINA):
    client.request_otp(phone)
    return client.verify_otp(phone, latest_code(client, phone)).token


def test_the_phone_is_sealed_and_the_code_is_sent(live_certificate):
    slots, messages = run_form(ValidateVerificationForm(), "verification_form", "pl_phone", "0811-1000-0001", {})
    assert opened("pl_phone", slots["pl_phone"]) == "081110000001" and "0001" not in slots["pl_phone"]
    assert "Jika nomor tersebut terdaftar" in texts(messages)
    assert len(live_certificate.outbox.messages(RINA)) == 1


def test_an_invalid_phone_gets_a_specific_correction(live_certificate):
    slots, messages = run_form(ValidateVerificationForm(), "verification_form", "pl_phone", "12345", {})
    assert slots["pl_phone"] is None and "tidak valid" in texts(messages)


def test_the_code_is_never_kept_and_the_token_is_sealed(live_certificate):
    live_certificate.request_otp(RINA)
    code = latest_code(live_certificate, RINA)
    state = {"pl_phone": sealed("pl_phone", RINA)}
    wrong = "000000" if code != "000000" else "111111"
    slots, messages = run_form(ValidateVerificationForm(), "verification_form", "pl_otp", wrong, state)
    assert slots["pl_otp"] is None and "4 kali" in texts(messages)
    slots, messages = run_form(ValidateVerificationForm(), "verification_form", "pl_otp", code, state)
    assert slots["pl_otp"] == "verified" and slots["pl_verified"] is True
    assert code not in str(slots) and live_certificate.profile(opened("pl_token", slots["pl_token"])).name == "Rina Wulandari"


def test_resend_asks_for_a_new_code(live_certificate):
    live_certificate.request_otp(RINA)
    slots, _ = run_form(ValidateVerificationForm(), "verification_form", "pl_otp", "kirim ulang", {"pl_phone": sealed("pl_phone", RINA)})
    assert slots["pl_otp"] is None and len(live_certificate.outbox.messages(RINA)) == 2


def entry(intent, slots):
    dispatcher = CollectingDispatcher()
    tracker = Tracker("pl-test", slots, {"text": "x", "intent": {"name": intent}}, [], False, None, {}, "action_listen")
    events = asyncio.run(ActionPlEntry().run(dispatcher, tracker, {}))
    return {e["name"]: e["value"] for e in events}, dispatcher.messages


def test_entry_trusts_the_backend_not_the_slots(live_certificate):
    token = verified_token(live_certificate)
    slots, messages = entry("download_certificate", {"pl_token": sealed("pl_token", token, "pl-test"), "pl_verified": True})
    assert slots["pl_verified"] is True and slots["pl_request"] == "certificate" and messages == []
    forged, messages = entry("change_name", {"pl_token": sealed("pl_token", "not-a-real-token", "pl-test"), "pl_verified": True})
    assert forged["pl_verified"] is False and forged["pl_token"] is None
    assert [m.get("response") for m in messages] == ["utter_pl_session_expired_short", "utter_pl_verification_intro"]


def route(slots):
    dispatcher = CollectingDispatcher()
    tracker = Tracker("pl-test", slots, {}, [], False, None, {}, "action_listen")
    events = asyncio.run(ActionPlRoute().run(dispatcher, tracker, {}))
    return {e["name"]: e["value"] for e in events}, dispatcher.messages


def test_status_lists_every_dose(live_certificate):
    slots, messages = route({"pl_request": "status", "pl_token": sealed("pl_token", verified_token(live_certificate), "pl-test")})
    assert slots == {"pl_request": "done"}
    assert messages[0]["response"] == "utter_pl_status" and messages[0]["doses"].count("•") == 3


def test_no_certificate_yet_is_explained(live_certificate):
    slots, messages = route({"pl_request": "certificate", "pl_token": sealed("pl_token", verified_token(live_certificate, AYU), "pl-test")})
    assert slots == {"pl_request": "done"}
    assert [m.get("response") for m in messages] == ["utter_pl_certificate_not_issued_yet"]


def test_an_expired_session_ends_the_item(live_certificate):
    slots, messages = route({"pl_request": "status", "pl_token": sealed("pl_token", "expired-token", "pl-test")})
    assert slots["pl_verified"] is False and slots["pl_outcome"] == "session_expired"
    assert messages[0]["response"] == "utter_pl_session_expired"


def test_a_confirmed_name_change_is_applied_exactly_once(live_certificate):
    clear_token = verified_token(live_certificate)
    token = sealed("pl_token", clear_token)
    slots, _ = run_form(ValidateNameChangeForm(), "name_change_form", "pl_new_name", "rina wulandari putri",
                        {"pl_token": token})
    assert opened("pl_name_preview", slots["pl_name_preview"]) == {"old": "Rina Wulandari",
                                                                    "new": "Rina Wulandari Putri"}
    assert "Putri" not in slots["pl_new_name"]  # names are sealed too
    state = {"pl_token": token, "pl_new_name": slots["pl_new_name"], "pl_name_preview": slots["pl_name_preview"]}
    for _ in range(2):  # the same "ya" delivered twice
        done, messages = run_form(ValidateNameChangeForm(), "name_change_form", "pl_name_confirmed", "ya", state,
                                  intent="affirm")
        assert done["pl_outcome"] == "changed" and "Rina Wulandari Putri" in str(messages)
    assert live_certificate.profile(clear_token).name == "Rina Wulandari Putri"
    with live_certificate.sessions() as session:
        assert session.execute(select(func.count()).select_from(AuditEntry)
                               .where(AuditEntry.field == "name")).scalar_one() == 1
