"""Outbound notifications through the real running assistant: a booking made in the chat gets its
day-before reminder through Rasa's external events, the user replies STOP, the next run skips them."""
from __future__ import annotations

import uuid

import requests
from sqlalchemy import create_engine, text

from tests.conversation.harness import texts

NOTIFICATIONS_KEY = {"X-API-Key": "dev-notifications-key"}
REGISTRATION_KEY = {"X-API-Key": "dev-registration-key"}


def book_in_the_chat(assistant, user: str) -> dict:
    """Andi Nurhaliza (880021) books the first offered slot; returns the appointment."""
    assistant.say(user, "Vaksin")
    assistant.say(user, "ya")
    assistant.say(user, "880021")
    assistant.say(user, "4 Februari 1988")
    assistant.say(user, "ya")
    for _ in range(7):
        assistant.say(user, "tidak")
    assistant.say(user, "1")
    assert "Pendaftaran berhasil" in texts(assistant.say(user, "ya"))
    lookup = requests.post(f"{assistant.urls['registration']}/v1/targets/lookup", json={"nik_suffix": "880021", "birth_date": "1988-02-04"},
                           headers=REGISTRATION_KEY, timeout=10).json()
    return requests.get(f"{assistant.urls['registration']}/v1/targets/{lookup['target_id']}/appointment",
                        headers=REGISTRATION_KEY, timeout=10).json()


def run_campaign(assistant, date: str) -> dict:
    response = requests.post(f"{assistant.urls['notifications']}/v1/campaigns/appointment_tomorrow/runs",
                             params={"wait": "true"}, json={"date": date}, headers=NOTIFICATIONS_KEY, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def reminders_in_tracker(assistant, user: str) -> list:
    tracker = requests.get(f"{assistant.urls['rasa']}/conversations/{user}/tracker", timeout=10).json()
    return [e["text"] for e in tracker["events"]
            if e["event"] == "bot" and "Pengingat jadwal vaksinasi" in (e.get("text") or "")]


def cancel_appointment(assistant, appointment_id: int) -> None:
    # Other conversation tests identify the same health worker and expect no active booking.
    engine = create_engine(f"sqlite:///{assistant.workdir / 'data' / 'registration.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE appointments SET status = 'cancelled' WHERE id = :id"), {"id": appointment_id})
    engine.dispose()


def test_reminder_reaches_the_conversation_and_stop_is_honoured(assistant):
    user = f"notif-{uuid.uuid4().hex[:8]}"
    appointment = book_in_the_chat(assistant, user)
    try:
        first = run_campaign(assistant, appointment["date"])
        assert first["sent"] >= 1 and first["failed"] == 0
        [reminder] = reminders_in_tracker(assistant, user)
        assert appointment["site"]["name"] in reminder and "KTP" in reminder
        assert "Balas STOP untuk berhenti menerima notifikasi" in reminder

        # The reminder is part of the conversation: the user can ask for the ticket in reply.
        assert "6 digit terakhir" in texts(assistant.say(user, "tiket saya"))
        assistant.say(user, "batal")

        stopped = texts(assistant.say(user, "STOP"))
        assert "tidak akan menerima notifikasi lagi" in stopped and "mulai notifikasi" in stopped
        second = run_campaign(assistant, appointment["date"])
        assert second["skipped_opted_out"] == 1 and second["failed"] == 0
        assert len(reminders_in_tracker(assistant, user)) == 1

        resumed = texts(assistant.say(user, "mulai notifikasi lagi"))
        assert "sudah kami aktifkan kembali" in resumed
        third = run_campaign(assistant, appointment["date"])
        assert third["skipped_opted_out"] == 0  # back in; this campaign was already sent to them
        assert len(reminders_in_tracker(assistant, user)) == 1
    finally:
        cancel_appointment(assistant, appointment["id"])


def test_opting_out_in_the_middle_of_a_form_answers_and_the_form_goes_on(assistant):
    user = f"notif-{uuid.uuid4().hex[:8]}"
    asked = texts(assistant.say(user, "unduh sertifikat"))
    assert "nomor HP" in asked or "nomor hp" in asked.lower()
    reply = texts(assistant.say(user, "tolong jangan kirim notifikasi lagi ke saya"))
    assert "tidak akan menerima notifikasi lagi" in reply
    assert "nomor hp" in reply.lower()  # the form asks its question again
    assert "dibatalkan" in texts(assistant.say(user, "batal"))


def test_a_reminder_arriving_in_the_middle_of_a_form_is_shown_and_the_form_goes_on(assistant):
    user = f"notif-{uuid.uuid4().hex[:8]}"
    assistant.say(user, "unduh sertifikat")
    entities = {"date": "2026-12-01", "session": "pagi", "hours": "08.00-12.00", "site_name": "Puskesmas Tebet",
                "site_address": "Jl. Prof. DR. Soepomo No.54"}
    response = requests.post(f"{assistant.urls['rasa']}/conversations/{user}/trigger_intent",
                             params={"output_channel": "rest"},
                             json={"name": "EXTERNAL_appointment_tomorrow", "entities": entities}, timeout=60)
    assert response.status_code == 200, response.text
    shown = texts(response.json()["messages"])
    assert "Puskesmas Tebet" in shown and "Selasa, 1 Desember 2026" in shown
    assert "nomor hp" in shown.lower()  # the form asks its question again
    assert "kode" in texts(assistant.say(user, "081110000001")).lower()  # and goes on to the OTP
