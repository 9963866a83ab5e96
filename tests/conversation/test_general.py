"""Whole conversations over the REST channel against the running services."""
from __future__ import annotations

import uuid

from actions.api.registration import RegistrationClient
from actions.settings import BackendSettings
from tests.conversation.harness import texts


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def test_halo_gets_an_indonesian_greeting_with_the_main_menu(assistant):
    replies = assistant.say(new_user(), "halo")
    assert "selamat datang" in texts(replies).lower()
    menu = [m for m in replies if m.get("buttons")]
    assert menu, replies
    assert {b["payload"] for b in menu[0]["buttons"]} >= {"/check_submission_status", "/human_handoff"}


def test_submission_status_over_the_whole_stack(assistant):
    client = RegistrationClient(BackendSettings(assistant.urls["registration"], "dev-registration-key", 10))
    submission = client.submit_missing_health_worker("3171016501920003", "Rini Marlina", "bidan",
                                                     "Klinik Pratama Sehat", "081234567890", uuid.uuid4().hex)
    user = new_user()
    asked = texts(assistant.say(user, "min sy mau cek status pengajuan data"))
    assert "nomor referensi" in asked.lower()
    answer = texts(assistant.say(user, submission.reference))
    assert submission.reference in answer and "sedang diverifikasi" in answer
    assert "belum memahami" not in answer   # the answer ends the turn: no fallback after it


def test_a_bare_reference_is_looked_up_whatever_its_characters(assistant):
    # DIET alone scored this one under the fallback threshold ("Maksud Anda …?").
    user = new_user()
    assistant.say(user, "cek status pengajuan")
    answer = texts(assistant.say(user, "NKS-S3E6WX8J"))
    assert "tidak ditemukan" in answer and "NKS-S3E6WX8J" in answer
    assert "belum memahami" not in answer


def test_unknown_reference_is_answered_politely(assistant):
    answer = texts(assistant.say(new_user(), "cek status pengajuan NKS-ZZZZZZZZ"))
    assert "tidak ditemukan" in answer and "NKS-ZZZZZZZZ" in answer


def test_backend_down_gets_an_apology_and_the_conversation_goes_on(assistant):
    user = new_user()
    assistant.stop_process("registration")
    try:
        answer = texts(assistant.say(user, "cek status pengajuan NKS-ABCDEFGH"))
        assert "gangguan" in answer and "coba lagi" in answer
    finally:
        assistant.start_process("registration")
        assistant.wait_until_ready("registration")
    retry = texts(assistant.say(user, "cek status pengajuan NKS-ABCDEFGH"))
    assert "tidak ditemukan" in retry
