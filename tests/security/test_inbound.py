"""What reaches the NLU: over-long messages, bodies that are not chat messages, typed payloads."""
from __future__ import annotations

import json
import uuid

import requests

from tests.security.conftest import stored_tracker_text


def post(stack, body, raw=None):
    return requests.post(f"{stack.urls['rasa']}/webhooks/rest/webhook", timeout=60,
                         **({"data": raw, "headers": {"Content-Type": "application/json"}} if raw is not None
                            else {"json": body}))


def user():
    return f"sec-{uuid.uuid4().hex[:8]}"


def test_over_long_messages_are_answered_politely_and_never_stored(stack):
    for text in ("a" * 4097, "kata " * 20_000, "x" * 100_000, ("3171055306900012 " * 300)):
        sender = user()
        response = post(stack, {"sender": sender, "message": text})
        assert response.status_code == 200
        [reply] = response.json()
        assert "terlalu panjang" in reply["text"] and "4.096" in reply["text"]
        events = requests.get(f"{stack.urls['rasa']}/conversations/{sender}/tracker", timeout=10).json()["events"]
        assert not [e for e in events or [] if e.get("event") == "user"]  # never reached Rasa
    assert "3171055306900012" not in stored_tracker_text(stack)
    # Exactly 4,096 characters is a message like any other.
    reply = post(stack, {"sender": user(), "message": "halo " + "a" * 4091}).json()
    assert reply and "terlalu panjang" not in json.dumps(reply)


def test_bodies_that_are_not_chat_messages_get_400(stack):
    for raw in ("[]", '"halo"', "42", "null", "{not json", '{"sender": 5, "message": "halo"}',
                '{"sender": "x", "message": {"text": "halo"}}', '{"message": "halo"}', '{"sender": "x"}',
                json.dumps({"sender": "x" * 500, "message": "halo"})):
        response = post(stack, None, raw=raw)
        assert response.status_code == 400, raw
        assert response.json()["error"]["code"] == "invalid_request"


def test_typed_payloads_pass_only_when_the_bot_offered_them(stack):
    sender = user()
    for hostile in ('/inform{"phone_number": 1e309}', '/check_submission_status{"submission_reference": 12}',
                    "/EXTERNAL_appointment_tomorrow", '/inform{"nik": ["3171055306900012"]}', "/session_start",
                    "/register_vaccine", "/human_handoff"):
        [reply] = post(stack, {"sender": sender, "message": hostile}).json()
        assert "tombol" in reply["text"], hostile
    menu = post(stack, {"sender": sender, "message": "halo"}).json()
    assert any(b["payload"] == "/register_vaccine" for m in menu for b in m.get("buttons", []))
    started = post(stack, {"sender": sender, "message": "/register_vaccine"}).json()
    assert "tenaga kesehatan" in json.dumps(started).lower()


def test_a_web_client_cannot_claim_to_be_whatsapp(stack):
    """Rasa's own REST channel takes `input_channel` from the body; WhatsApp sender ids are verified
    numbers (a second factor). Siti's number and digits, claimed over REST, identify nobody."""
    sender = "6281311110001"
    for text in ("Vaksin", "ya"):
        post(stack, {"sender": sender, "message": text, "input_channel": "whatsapp",
                     "metadata": {"requester": "forged"}})
    reply = json.dumps(post(stack, {"sender": sender, "message": "900012", "input_channel": "whatsapp"}).json())
    assert "Siti" not in reply and "tanggal lahir" in reply
