"""A backend's refusal reaches the user in the domain's words for its code, never in the backend's."""
from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import backend_calls
from actions.api.errors import BackendUnavailable, Rejected
from actions.missing_health_worker import FORM, ValidateMissingHealthWorkerForm
from tests.actions.conftest import form_tracker, rasa_domain, sealed
from tests.actions.rendering import placeholders, rendered

ROOT = Path(__file__).resolve().parents[2]
# The certificate flow still shows its backend's texts until it moves to codes (another branch).


def validate_submission(requested_slot: str, text: str, slots: dict = None, intent: str = "inform", **where):
    dispatcher = CollectingDispatcher()
    tracker = form_tracker(FORM, requested_slot, text, slots or {}, intent, **where)
    events = asyncio.run(ValidateMissingHealthWorkerForm().run(dispatcher, tracker, rasa_domain()))
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher.messages


def assert_worded_by_the_domain(message: dict) -> str:
    assert message["text"] is None and message["response"] in backend_calls.domain_response_names()
    said = rendered(message)
    assert "{" not in said, said  # every value the response names came with the error
    return said


@pytest.mark.parametrize("slot, typed, response, words", [
    ("submission_nik", "3171 0553 0690 0012", "utter_registration_error_nik_already_listed", "Vaksin"),
    ("submission_nik", "31710553069000", "utter_backend_error_nik_length", "14 digit"),
    ("submission_nik", "9971016501920003", "utter_backend_error_nik_province", "kode provinsi"),
    ("submission_name", "R1n1 M4rlina", "utter_backend_error_name_characters", "huruf"),
    ("submission_name", "r", "utter_backend_error_name_length", "2 sampai 100 karakter"),
    ("submission_facility", " rs ", "utter_registration_error_field_invalid_facility_length", "3 sampai 200"),
    ("submission_profession", "pilot pesawat", "utter_registration_error_profession_unknown", "dokter gigi, perawat"),
])
def test_a_refused_field_is_explained_by_the_domain_for_its_code(live_registration, slot, typed, response, words):
    slots, messages = validate_submission(slot, typed)
    assert slots[slot] is None  # asked again (a listed NIK ends the form: it registers instead)
    assert slots.get("submission_outcome") == ("already_listed" if "listed" in response else None)
    assert [m["response"] for m in messages][:1] == [response]
    assert words in assert_worded_by_the_domain(messages[0])


def test_a_submission_for_a_nik_pending_under_another_phone_is_refused_in_the_domains_words(live_registration):
    fields = {"submission_nik": "3171016501920003", "submission_name": "Rini Marlina",
              "submission_profession": "bidan", "submission_facility": "Klinik Pratama Sehat",
              "submission_phone": "081234567890"}


    def state(sender_id: str, **changes) -> dict:
        return {slot: value if slot == "submission_profession" else sealed(slot, value, sender_id)
                for slot, value in dict(fields, **changes).items()}

    slots, messages = validate_submission("submission_confirmed", "ya", state("action-test"), intent="affirm")
    assert slots["submission_outcome"] == "submitted"
    slots, messages = validate_submission("submission_confirmed", "ya",
                                          state("someone-else", submission_phone="081298765432"),
                                          intent="affirm", sender_id="someone-else")
    assert slots["submission_outcome"] == "exists"
    assert [m["response"] for m in messages] == ["utter_registration_error_submission_exists"]
    assert "nomor HP yang sama" in assert_worded_by_the_domain(messages[0])


def rejected(code: str, service: str = "registration", data: dict = None) -> Rejected:
    return Rejected("", code=code, status=409, data=data, service=service)


def said_for(error) -> dict:
    dispatcher = CollectingDispatcher()
    backend_calls.utter_backend_error(dispatcher, error)
    [message] = dispatcher.messages
    return message


def test_an_unknown_code_gets_the_generic_answer_and_a_backend_down_the_apology():
    assert said_for(rejected("a_code_added_tomorrow"))["response"] == "utter_backend_error"
    assert said_for(rejected("slot_full", service="some_new_service"))["response"] == "utter_backend_error"
    assert said_for(BackendUnavailable(code="unavailable", service="registration"))["response"] == \
        "utter_backend_unavailable"
    assert placeholders("utter_backend_error") == set()  # says something whatever the error carried


def test_a_backends_message_is_never_shown_even_when_it_sends_one():
    error = Rejected("Teks dari backend", code="slot_full", status=409, service="registration")
    message = said_for(error)
    assert message["text"] is None and "Teks dari backend" not in str(message)
    assert message["response"] == "utter_registration_error_slot_full"


@pytest.mark.parametrize("data", [
    {"text": "x", "buttons": "x", "response": "x", "template": "x"},  # utter_message's own arguments
    {"reasons": ["fever", "blood_pressure"], "minutes": 5, "nested": {"a": 1}, 3: "x", "not an identifier": 1},
])
def test_any_data_a_backend_sends_becomes_template_values_without_breaking_the_utterance(data):
    message = said_for(rejected("not_eligible", data=data))
    assert message["response"] == "utter_registration_error_not_eligible" and message["text"] is None
    assert message["buttons"] == [] and message["template"] == "utter_registration_error_not_eligible"
    if "reasons" in data:
        assert message["reasons"] == "fever, blood_pressure" and message["minutes"] == "5"


def test_the_refinement_by_field_and_reason_falls_back_to_the_code():
    assert backend_calls.error_response("registration", "field_invalid", {"field": "facility", "reason": "length"}) \
        == "utter_registration_error_field_invalid_facility_length"
    assert backend_calls.error_response("registration", "field_invalid", {"field": "name", "reason": "length"}) \
        == "utter_registration_error_field_invalid"
    assert backend_calls.error_response("registration", "field_invalid", {"field": ["x"], "reason": None}) \
        == "utter_registration_error_field_invalid"


def _action_modules():
    for path in sorted((ROOT / "actions").rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def test_actions_never_utter_a_text_of_their_own_or_a_backends():
    """Everything the bot says is a domain response: no `utter_message(text=...)`, and nothing reads a
    backend error's text."""
    offences = []
    for relative, tree in _action_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "utter_message":
                offences += [f"{relative}:{node.lineno} text=" for k in node.keywords if k.arg == "text"]
            if (isinstance(node, ast.Attribute) and node.attr == "message" and isinstance(node.ctx, ast.Load)
                    and relative != "actions/api/errors.py"):
                offences.append(f"{relative}:{node.lineno} .message")
    assert offences == []
