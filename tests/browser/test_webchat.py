"""The web chat page (webchat/) in real headless Chromium, against the running assistant.

Skipped only when Chromium is not installed and CI is not set; in CI a missing browser fails.
"""
from __future__ import annotations

import json
import re
import time

import pytest

from tests.browser.conftest import find_chromium, in_ci
from tests.service.conftest import free_port

pytestmark = pytest.mark.skipif(
    find_chromium() is None and not in_ci(),
    reason="Chromium is not installed (scripts/install_browser.sh installs it); CI never skips this",
)

ERROR_TEXT = "Maaf, layanan sedang tidak dapat dihubungi. Silakan coba lagi."
SCREENING_QUESTIONS = 7
REPLIES = ".message--bot, .message--error"


def open_chat(page, webchat, rasa_url):
    page.goto(f"{webchat.origin}/index.html?rasa={rasa_url}")
    page.wait_for_selector("#message")


def reply_count(page) -> int:
    return page.locator(REPLIES).count()


def wait_for_replies(page, before: int) -> str:
    """Waits until the answer to the last message is rendered; returns the text of the new bubbles."""
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length > n"
        " && document.getElementById('typing').hidden", arg=[REPLIES, before])
    return "\n".join(page.locator(REPLIES).all_inner_texts()[before:])


def type_message(page, text: str) -> str:
    before = reply_count(page)
    page.get_by_label("Ketik pesan Anda").fill(text)
    page.keyboard.press("Enter")
    return wait_for_replies(page, before)


def click_choice(page, title: str) -> str:
    before = reply_count(page)
    page.locator(".choice:not([disabled])").filter(has_text=re.compile(rf"^{re.escape(title)}$")).click()
    return wait_for_replies(page, before)


def last_user_bubble(page) -> str:
    return page.locator(".message--user .message__text").last.inner_text()


def test_unreachable_server_shows_a_polite_error(page, webchat):
    closed_port = free_port()           # nothing listens there
    open_chat(page, webchat, f"http://127.0.0.1:{closed_port}")
    # Accessible: a labelled input and a polite live region for new messages.
    assert page.get_by_label("Ketik pesan Anda").is_visible()
    log = page.locator("#messages")
    assert log.get_attribute("aria-live") == "polite" and log.get_attribute("role") == "log"
    replies = type_message(page, "halo")
    assert ERROR_TEXT in replies
    assert page.locator(".message--error").count() == 1
    assert last_user_bubble(page) == "halo"


def test_bot_markup_is_rendered_and_never_run_as_html(page, webchat):
    """Rendering rules, with the Rasa answer faked by Playwright (no backend needed)."""
    fake_rasa = f"http://127.0.0.1:{free_port()}"
    received = []

    def answer(route, request):
        headers = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type"}
        if request.method == "OPTIONS":
            return route.fulfill(status=204, headers=headers)
        received.append(json.loads(request.post_data))
        route.fulfill(status=200, headers=headers, content_type="application/json", body=json.dumps([
            {"recipient_id": "x", "text": "<img src=x onerror=\"window.hacked=1\"> Kirim *6 digit terakhir*.\n"
                                          "Baris kedua: https://example.org/video?v=1."},
            {"recipient_id": "x", "text": "Pilih:", "buttons": [{"title": "Lanjut", "payload": "/lanjut"},
                                                                 {"title": "javascript:x", "payload": "b"}]},
        ]))

    page.route(f"{fake_rasa}/webhooks/rest/webhook", answer)
    open_chat(page, webchat, fake_rasa)
    type_message(page, "halo")
    first = page.locator(".message--bot .message__text").first
    assert first.locator("img").count() == 0 and "<img src=x" in first.inner_text()
    assert page.evaluate("window.hacked") is None
    assert first.locator("strong").inner_text() == "6 digit terakhir"
    assert "terakhir.\nBaris kedua" in first.inner_text()           # line breaks kept
    link = first.locator("a")
    assert link.get_attribute("href") == "https://example.org/video?v=1"   # the full stop is not part of it
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    assert received[0]["message"] == "halo" and received[0]["sender"].startswith("web-")


def test_buttons_send_the_payload_and_show_the_title(page, webchat, assistant):
    open_chat(page, webchat, assistant.urls["rasa"])
    sender = page.evaluate("sessionStorage.getItem('vaksinbot.sender')")
    assert re.fullmatch(r"web-[0-9a-f]{16}", sender)
    assert "Daftar vaksinasi nakes" in type_message(page, "halo")
    reply = click_choice(page, "Daftar vaksinasi nakes")             # payload: /register_vaccine
    assert last_user_bubble(page) == "Daftar vaksinasi nakes"
    assert "/register_vaccine" not in page.locator("#messages").inner_text()
    assert "tenaga kesehatan" in reply                                 # the payload reached Rasa
    # The menu's buttons answered an earlier question: they are disabled, the picked one marked.
    menu = page.locator(".choice").filter(has_text="Lihat tiket vaksinasi")
    assert menu.is_disabled()
    assert page.locator(".choice--picked").inner_text() == "Daftar vaksinasi nakes"
    # The same conversation after a reload; a new tab starts its own.
    page.reload()
    assert page.evaluate("sessionStorage.getItem('vaksinbot.sender')") == sender
    other = page.context.new_page()
    other.goto(page.url)
    assert other.evaluate("sessionStorage.getItem('vaksinbot.sender')") != sender


def test_full_registration_ends_with_the_ticket(page, webchat, assistant, tmp_path):
    started = time.monotonic()
    open_chat(page, webchat, assistant.urls["rasa"])
    assert "tenaga kesehatan" in type_message(page, "Vaksin")
    asked = click_choice(page, "Ya")
    assert "6 digit terakhir" in asked
    assert page.locator(".message--bot strong").filter(has_text="6 digit terakhir").count() == 1
    # The web chat has no number the channel verified: the birth date is the second factor, and
    # nothing about the person is shown before it matches.
    asked = type_message(page, "900012")
    assert "tanggal lahir" in asked and "Siti" not in asked
    found = type_message(page, "13 Juni 1990")                          # NIK 317105 530690 0012
    assert "Siti Rahmawati" in found and "Puskesmas Kecamatan Tebet" in found
    assert "1/7" in click_choice(page, "Ya")                           # the site
    replies = ""
    for _ in range(SCREENING_QUESTIONS):
        replies = type_message(page, "tidak")
    assert "1. " in replies and "sesi" in replies
    assert "Apakah jadwal ini sudah benar" in click_choice(page, "1")
    assert last_user_bubble(page) == "1"
    page.screenshot(path=str(tmp_path / "webchat-confirm.png"))
    ticket = click_choice(page, "Ya, konfirmasi")                       # payload: ya
    assert last_user_bubble(page) == "Ya, konfirmasi"

    assert "Pendaftaran berhasil" in ticket
    assert "************0012" in ticket and "3171055306900012" not in ticket
    image = page.locator(".message--bot img").last
    assert "kode QR" in image.get_attribute("alt")
    assert "/v1/tickets/qr.png?code=" in image.get_attribute("src")
    # An image still loading has no size and so is not "visible": wait for it first (on a busy machine).
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    image.scroll_into_view_if_needed()
    assert image.is_visible()
    video = page.locator(".message--bot a[target=_blank]").filter(has_text="https://").last
    assert video.get_attribute("href").startswith("https://") and "noopener" in video.get_attribute("rel")
    assert page.locator(".message--error").count() == 0

    page.locator(".message--bot").last.scroll_into_view_if_needed()
    screenshot = tmp_path / "webchat-ticket.png"
    page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 10_000
    print(f"\nscreenshot: {screenshot} (conversation took {time.monotonic() - started:.1f} s)")
