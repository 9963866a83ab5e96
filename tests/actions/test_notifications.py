"""Notification actions with real Trackers: rendering the external events, opt-out / opt-in against
a live notification service, and the contact passed at booking."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import backend_calls
from actions import notifications as notification_actions
from actions.parsing import today_in_indonesia
from actions.vaccine_registration import FORM, SCREENING_SLOTS, ValidateVaccineRegistrationForm
from backends import notifications
from backends.notifications.api import create_app
from backends.notifications.services import is_opted_out, recipient_hash
from backends.registration.orm import Appointment
from backends.shared.database import make_engine, make_session_factory, upgrade_schema
from backends.shared.settings import NotificationSettings, ServiceSettings
from tests.actions.conftest import demo_target_id, form_tracker, full_rasa_domain, rasa_domain, sealed

SIGNING_KEY = b"action-test-notifications"


@pytest.fixture
def live_notifications(tmp_path, serve_app, monkeypatch):
    url = f"sqlite:///{tmp_path / 'notifications.sqlite3'}"
    upgrade_schema(notifications.MIGRATIONS_DIR, notifications.VERSION_TABLE, url)
    engine = make_engine(url)
    settings = ServiceSettings(service="notifications", database_url=url, api_key="action-test-key",
                               signing_key=SIGNING_KEY, public_url="http://notifications.test",
                               environment="development")
    unused = NotificationSettings("http://127.0.0.1:9", "", "http://127.0.0.1:9", "k", "http://127.0.0.1:9", "k",
                                  100, 9, 60, 5)
    monkeypatch.setenv("NOTIFICATIONS_URL", serve_app(create_app(settings, unused)))
    monkeypatch.setenv("NOTIFICATIONS_API_KEY", "action-test-key")
    backend_calls.notifications_client.cache_clear()
    yield make_session_factory(engine)
    backend_calls.notifications_client.cache_clear()
    engine.dispose()


def tracker_after(intent: str, text: str, entities=None, channel: str = "whatsapp",
                  sender_id: str = "6281200000001") -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or []}
    events = [{"event": "user", "text": text, "parse_data": message, "input_channel": channel}]
    return Tracker(sender_id, {}, message, events, False, None, {}, "action_listen")


def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, rasa_domain()))
    return events, dispatcher.messages


def opted_out(sessions, channel: str, conversation_id: str) -> bool:
    with sessions() as session:
        return is_opted_out(session, recipient_hash(SIGNING_KEY, channel, conversation_id))


def test_reminder_renders_tomorrows_appointment_and_marks_the_conversation():
    tomorrow = today_in_indonesia() + dt.timedelta(days=1)
    entities = [{"entity": "date", "value": tomorrow.isoformat()}, {"entity": "session", "value": "pagi"},
                {"entity": "hours", "value": "08.00-12.00"}, {"entity": "site_name", "value": "Puskesmas Tebet"},
                {"entity": "site_address", "value": "Jl. Prof. DR. Soepomo No.54"}]
    events, messages = run(notification_actions.ActionNotifyAppointmentTomorrow(),
                           tracker_after("EXTERNAL_appointment_tomorrow", "EXTERNAL: x", entities))
    [message] = messages
    assert message["response"] == "utter_notification_appointment_tomorrow"
    assert message["when"].startswith("besok, ") and str(tomorrow.year) in message["when"]
    assert (message["site_name"], message["hours"], message["session"]) == ("Puskesmas Tebet", "08.00-12.00", "pagi")
    assert events == [{"event": "slot", "name": "notification_received", "value": True, "timestamp": None}]
    text = full_rasa_domain()["responses"]["utter_notification_appointment_tomorrow"][0]["text"]
    assert "KTP" in text and "tiket saya" in text and "Balas STOP untuk berhenti menerima notifikasi" in text


def test_reminder_for_a_later_date_names_the_date_without_besok():
    later = today_in_indonesia() + dt.timedelta(days=5)
    entities = [{"entity": "date", "value": later.isoformat()}]
    _, [message] = run(notification_actions.ActionNotifyAppointmentTomorrow(),
                       tracker_after("EXTERNAL_appointment_tomorrow", "x", entities))
    assert not message["when"].startswith("besok")


def test_a_malformed_event_gets_the_generic_reminder_not_a_broken_one():
    _, [message] = run(notification_actions.ActionNotifyAppointmentTomorrow(),
                       tracker_after("EXTERNAL_appointment_tomorrow", "x", [{"entity": "date", "value": "besok"}]))
    assert message["response"] == "utter_notification_appointment_generic"


def test_second_dose_notice_names_the_first_dose():
    entities = [{"entity": "first_dose_date", "value": "2026-10-26"}, {"entity": "brand", "value": "Sinovac"},
                {"entity": "days", "value": "28"}]
    _, [message] = run(notification_actions.ActionNotifySecondDoseDue(),
                       tracker_after("EXTERNAL_second_dose_due", "x", entities))
    assert (message["response"], message["first_dose_date"], message["brand"], message["days"]) == (
        "utter_notification_second_dose_due", "Senin, 26 Oktober 2026", "Sinovac", "28")


def test_stop_and_start_are_stored_for_this_conversation(live_notifications):
    events, [message] = run(notification_actions.ActionNotificationOptOut(), tracker_after("cancel", "STOP"))
    assert message["response"] == "utter_notification_opted_out"
    assert opted_out(live_notifications, "whatsapp", "6281200000001")
    assert not opted_out(live_notifications, "rest", "6281200000001")  # another channel, another conversation
    text = full_rasa_domain()["responses"]["utter_notification_opted_out"][0]["text"]
    assert "mulai notifikasi" in text  # the confirmation says how to undo it

    _, [message] = run(notification_actions.ActionNotificationOptIn(),
                       tracker_after("notification_opt_in", "mulai notifikasi lagi"))
    assert message["response"] == "utter_notification_opted_in"
    assert not opted_out(live_notifications, "whatsapp", "6281200000001")


def test_preference_backend_down_apologises(monkeypatch):
    monkeypatch.setenv("NOTIFICATIONS_URL", "http://127.0.0.1:9")
    backend_calls.notifications_client.cache_clear()
    try:
        events, [message] = run(notification_actions.ActionNotificationOptOut(), tracker_after("cancel", "STOP"))
    finally:
        backend_calls.notifications_client.cache_clear()
    assert message["response"] == "utter_notification_preference_failed" and events == []


def test_booking_stores_the_conversation_to_remind(live_registration):
    site_id = live_registration.sites("Kota Bandung")[0].id
    state = {"is_health_worker": True, "nik_suffix": sealed("nik_suffix", "880021"), "target_match": "unique",
             "site_confirmed": True, "site_id": site_id, "site_name": "x",
             "target_id": demo_target_id(live_registration, "880021")}
    for slot in SCREENING_SLOTS:
        state[slot] = False
    offered = live_registration.offerable_slots(site_id)[0]
    state.update(slot_choice="1", chosen_slot={"id": offered.id, "date": offered.date.isoformat(),
                                               "session": offered.session, "hours": offered.hours})
    tracker = form_tracker(FORM, "booking_confirmed", "ya", state, "affirm", sender_id="6281399990000")
    tracker.events[1]["input_channel"] = "whatsapp"
    asyncio.run(ValidateVaccineRegistrationForm().run(CollectingDispatcher(), tracker, rasa_domain()))
    with live_registration.sessions() as session:
        appointment = session.query(Appointment).filter_by(slot_id=offered.id, status="booked").one()
        assert (appointment.contact_channel, appointment.contact_conversation_id) == ("whatsapp", "6281399990000")
