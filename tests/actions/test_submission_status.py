"""action_submission_status with real Tracker objects against a live registration backend."""
from __future__ import annotations

import asyncio
import uuid

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import backend_calls
from actions.submission_status import ActionSubmissionStatus
from tests.service.conftest import free_port


def tracker_for(text: str, entities=None) -> Tracker:
    return Tracker(
        sender_id="action-test", slots={"submission_reference": None},
        latest_message={"text": text, "intent": {"name": "check_submission_status", "confidence": 0.99},
                        "entities": entities or []},
        events=[], paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )


def run_action(tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionSubmissionStatus().run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def test_reports_a_pending_submission(live_registration):
    submission = live_registration.submit_missing_health_worker(
        "3171016501920003", "Rini Marlina", "bidan", "Klinik Pratama Sehat", "081234567890", uuid.uuid4().hex)
    typed = submission.reference.lower()
    messages, events = run_action(tracker_for(f"cek status {typed}", [
        {"entity": "submission_reference", "value": typed}]))
    assert [m["response"] for m in messages] == ["utter_submission_pending"]
    assert messages[0]["reference"] == submission.reference
    assert events == [SlotSet("submission_reference", submission.reference)]


def test_finds_the_reference_in_the_text_when_nlu_missed_it(live_registration):
    submission = live_registration.submit_missing_health_worker(
        "3171016501920003", "Rini Marlina", "bidan", "Klinik Pratama Sehat", "081234567890", uuid.uuid4().hex)
    spaced = submission.reference.replace("-", " ")
    messages, _ = run_action(tracker_for(f"nomor saya {spaced} ya min"))
    assert messages[0]["response"] == "utter_submission_pending"


def test_asks_for_the_reference_when_there_is_none(live_registration):
    messages, events = run_action(tracker_for("cek status pengajuan saya"))
    assert [m["response"] for m in messages] == ["utter_ask_submission_reference"]
    assert events == []


def test_unknown_reference_is_named_back_politely(live_registration):
    messages, events = run_action(tracker_for("NKS-ZZZZZZZZ"))
    assert messages[0]["response"] == "utter_submission_not_found"
    assert messages[0]["reference"] == "NKS-ZZZZZZZZ"
    assert events == []


def test_backend_down_gets_an_apology(monkeypatch):
    monkeypatch.setenv("REGISTRATION_URL", f"http://127.0.0.1:{free_port()}")
    backend_calls.registration_client.cache_clear()
    try:
        messages, events = run_action(tracker_for("NKS-ABCDEFGH"))
    finally:
        backend_calls.registration_client.cache_clear()
    assert [m["response"] for m in messages] == ["utter_backend_unavailable"]
    assert events == []
