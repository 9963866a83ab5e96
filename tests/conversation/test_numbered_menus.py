"""Numbered menus over the whole stack: a typed "1" works wherever the bot showed choices."""
from __future__ import annotations

import uuid

from tests.conversation.harness import texts


def new_user() -> str:
    return f"menu-{uuid.uuid4().hex[:8]}"


def test_the_main_menu_shows_numbers_and_a_typed_number_starts_that_service(assistant):
    user = new_user()
    menu = texts(assistant.say(user, "halo"))
    assert "1. Daftar vaksinasi nakes" in menu and "6. Hubungi petugas" in menu
    reply = texts(assistant.say(user, "1"))
    assert "Apakah Anda seorang tenaga kesehatan" in reply


def test_every_position_of_the_main_menu(assistant):
    expected = {"2": "identitas Anda", "4": "nomor referensi", "6": "petugas"}
    for number, phrase in expected.items():
        user = new_user()
        assistant.say(user, "menu")
        assert phrase in texts(assistant.say(user, f"nomor {number}")), number


def test_a_number_outside_the_menu_is_answered_with_the_range(assistant):
    user = new_user()
    assistant.say(user, "menu")
    reply = texts(assistant.say(user, "9"))
    assert "1 sampai 6" in reply
    # ...and the menu is still there to answer.
    assert "tenaga kesehatan" in texts(assistant.say(user, "1"))


def test_a_number_nobody_asked_for_gets_the_menu(assistant):
    user = new_user()
    assistant.say(user, "halo")
    assistant.say(user, "terima kasih")
    reply = assistant.say(user, "2")
    assert "tidak menanyakan" in texts(reply)
    assert any(m.get("buttons") for m in reply)


def test_yes_no_buttons_accept_their_number(assistant):
    user = new_user()
    assistant.say(user, "Vaksin")
    reply = texts(assistant.say(user, "1"))  # [Ya] [Tidak] -> "1" is "Ya"
    assert "6 digit terakhir" in reply
    user = new_user()
    assistant.say(user, "Vaksin")
    reply = texts(assistant.say(user, "2"))  # -> "Tidak"
    assert "masyarakat umum" in reply.lower()
