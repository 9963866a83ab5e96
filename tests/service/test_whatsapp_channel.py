"""The WhatsApp channel end to end on loopback, without a Rasa model.

The channel's blueprint is mounted by Rasa's own `register()` (so the webhook is at
/webhooks/whatsapp/webhook) on a Sanic app served by uvicorn in a thread. A fake agent stands in
for Rasa: it records each `UserMessage` and replies through `message.output_channel`. A fake
Graph API (http.server in a thread) records what the channel sends and can be told to fail.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import shutil
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional

import pytest
import requests
import uvicorn
from rasa.core.channels.channel import UserMessage, register
from rasa.shared.exceptions import RasaException
from sanic import Sanic

from channels.message_dedup import RecentMessageIds, SharedMessageIds
from channels.whatsapp import TEXT_ONLY_REPLY, WhatsAppInput, WhatsAppOutput, WhatsAppSettings
from channels.whatsapp_cloud_api import CloudApiClient
from channels.whatsapp_messages import split_text, template_payloads
from channels.whatsapp_window import MemoryConversationState
from tests.service.conftest import free_port

pytestmark = pytest.mark.filterwarnings("ignore:You have set a listener:UserWarning")

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
ACCESS_TOKEN = "test-access-token"
PHONE_NUMBER_ID = "106540352242922"
WA_ID = "6281234567890"
TICKET_URL = "https://tiket.example.test/tickets/ABC123.png"


# ------------------------------------------------------------------------------ fake Graph API

class FakeGraphApi:
    """Records every POST; `fail_next(status, ...)` queues answers given before the normal 200."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self._failures: List[tuple] = []
        self._lock = threading.Lock()
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with graph._lock:
                    graph.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                           "body": body})
                    status, headers, answer = graph._failures.pop(0) if graph._failures else (
                        200, {}, {"messaging_product": "whatsapp", "contacts": [{"input": body.get("to")}],
                                  "messages": [{"id": f"wamid.out.{len(graph.requests)}"}]})
                data = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v17.0"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def fail_next(self, status: int, times: int = 1, headers: Optional[dict] = None, error_code: int = 1,
                  message: str = "error") -> None:
        body = {"error": {"message": message, "type": "OAuthException", "code": error_code, "fbtrace_id": "Ab1"}}
        with self._lock:
            self._failures.extend([(status, headers or {}, body)] * times)

    @property
    def sent(self) -> List[Dict[str, Any]]:
        """The message bodies the Graph API accepted or refused, in order."""
        with self._lock:
            return [r["body"] for r in self.requests]


@pytest.fixture
def graph():
    fake = FakeGraphApi()
    yield fake
    fake.server.shutdown()


def make_client(graph: FakeGraphApi, **kwargs) -> CloudApiClient:
    kwargs.setdefault("retry_base_delay", 0.01)
    return CloudApiClient(graph.url, PHONE_NUMBER_ID, ACCESS_TOKEN, timeout_seconds=5, **kwargs)


# --------------------------------------------------------------------------- the webhook server

class FakeAgent:
    """Rasa's agent as `register()` calls it: records messages and replies like a bot would."""

    def __init__(self) -> None:
        self.messages: List[UserMessage] = []
        self.gate = threading.Event()
        self.gate.set()

    async def handle_message(self, message: UserMessage) -> None:
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        if message.text == "lambat":
            await asyncio.sleep(0.3)   # a slow turn: NLU, actions, backends
        self.messages.append(message)
        send = message.output_channel.send_response
        await send(message.sender_id, {"text": "Halo! Ada yang bisa kami bantu?"})
        await send(message.sender_id, {"text": "Apakah Anda tenaga kesehatan?",
                                       "buttons": [{"title": "Ya", "payload": "/affirm"},
                                                   {"title": "Tidak", "payload": "/deny"}]})
        await send(message.sender_id, {"image": TICKET_URL})

    @property
    def texts(self) -> List[str]:
        return [m.text for m in self.messages]


class WebhookServer:
    def __init__(self, channel: WhatsAppInput) -> None:
        self.channel = channel
        self.agent = FakeAgent()
        app = Sanic(f"whatsapp_test_{uuid.uuid4().hex}", configure_logging=False)
        app.ctx.agent = self.agent
        register([channel], app, route="/webhooks/")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/webhooks/whatsapp/webhook"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    access_log=False, ws="none", lifespan="on"))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.server.serve(),),
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "webhook server did not start"
            time.sleep(0.01)

    def post(self, payload: Any, signature: Optional[str] = "valid") -> requests.Response:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "valid":
            headers["X-Hub-Signature-256"] = sign(body)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return requests.post(self.url, data=body, headers=headers, timeout=5)

    def wait(self) -> None:
        """Until every webhook received so far has been handled, replies included."""
        asyncio.run_coroutine_threadsafe(self.channel.wait_for_background_tasks(), self.loop).result(10)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(autouse=True, scope="module")
def sanic_test_mode():
    """Sanic 21.12 rewrites some of its methods when an app starts; a second app in the same
    process then fails to start unless test mode keeps the originals."""
    previous, Sanic.test_mode = Sanic.test_mode, True
    yield
    Sanic.test_mode = previous


def settings_for(graph: FakeGraphApi) -> WhatsAppSettings:
    return WhatsAppSettings(access_token=ACCESS_TOKEN, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN,
                            phone_number_id=PHONE_NUMBER_ID, graph_api_url=graph.url)


class RecordingReports:
    """Stands in for the hand-over to the notification ledger (channels/whatsapp_reports.py)."""

    def __init__(self) -> None:
        self.events: List[Dict[str, Any]] = []

    async def publish(self, events) -> bool:
        self.events.extend(events)
        return True

    async def close(self) -> None:
        return None


@pytest.fixture
def webhook(graph):
    server = WebhookServer(WhatsAppInput(settings_for(graph), client=make_client(graph),
                                         state=MemoryConversationState(), reports=RecordingReports()))
    yield server
    server.stop()


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def wamid(n: int, sender: str = WA_ID) -> str:
    """Shaped like Meta's ids, which encode the sender's number (so logs must not carry them)."""
    return "wamid." + base64.b64encode(b"\x1c\x18\x0d" + sender.encode() + b"\x15\x02" + str(n).encode()).decode()


def webhook_body(*messages: dict, statuses: Optional[list] = None, phone_number_id: str = PHONE_NUMBER_ID) -> dict:
    value: Dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": "6281100001111", "phone_number_id": phone_number_id},
                             "contacts": [{"profile": {"name": "Siti Rahmawati"}, "wa_id": WA_ID}]}
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]}


def text_from_user(text: str, n: int = 1) -> dict:
    return {"from": WA_ID, "id": wamid(n), "timestamp": "1700000000", "type": "text", "text": {"body": text}}


def reply_from_user(kind: str, reply_id: str, title: str, n: int = 1) -> dict:
    return {"from": WA_ID, "id": wamid(n), "timestamp": "1700000000", "type": "interactive",
            "interactive": {"type": kind, kind: {"id": reply_id, "title": title}}}


# ------------------------------------------------------------------------------- verification

def test_verification_handshake_returns_the_challenge_for_the_right_token(webhook):
    answer = requests.get(webhook.url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                               "hub.challenge": "1158201444"}, timeout=5)
    assert answer.status_code == 200
    assert answer.text == "1158201444"
    assert answer.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
    {"hub.challenge": "1"},
])
def test_verification_handshake_refuses_a_wrong_token_or_mode(webhook, params):
    answer = requests.get(webhook.url, params=params, timeout=5)
    assert answer.status_code == 403
    assert "1" not in answer.text


# ------------------------------------------------------------------------------------ incoming

def test_a_signed_text_reaches_rasa_with_the_sender_and_text_and_the_reply_goes_out(webhook, graph):
    answer = webhook.post(webhook_body(text_from_user("halo, saya mau daftar vaksin")))
    assert answer.status_code == 200
    webhook.wait()

    [message] = webhook.agent.messages
    assert (message.sender_id, message.text, message.input_channel) == (WA_ID, "halo, saya mau daftar vaksin",
                                                                        "whatsapp")
    assert message.message_id == wamid(1)
    assert message.metadata == {"whatsapp": {"type": "text"}}
    text, buttons, image = graph.sent
    assert all(m["to"] == WA_ID and m["messaging_product"] == "whatsapp" for m in graph.sent)
    assert text["type"] == "text" and text["text"]["body"] == "Halo! Ada yang bisa kami bantu?"
    assert buttons["interactive"]["type"] == "button"
    assert image == {**image, "type": "image", "image": {"link": TICKET_URL}}
    assert graph.requests[0]["path"] == f"/v17.0/{PHONE_NUMBER_ID}/messages"
    assert graph.requests[0]["authorization"] == f"Bearer {ACCESS_TOKEN}"


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", "garbage"])
def test_a_missing_or_wrong_signature_gets_403_and_nothing_is_processed(webhook, graph, signature):
    answer = webhook.post(webhook_body(text_from_user("halo")), signature=signature)
    assert answer.status_code == 403
    webhook.wait()
    assert webhook.agent.messages == [] and graph.sent == []


def test_a_body_signed_with_another_secret_gets_403(webhook, graph):
    body = json.dumps(webhook_body(text_from_user("halo"))).encode()
    answer = requests.post(webhook.url, data=body, timeout=5,
                           headers={"X-Hub-Signature-256": sign(body, "another-secret")})
    assert answer.status_code == 403
    webhook.wait()
    assert webhook.agent.messages == []


def test_the_same_message_delivered_again_is_processed_once(webhook, graph):
    body = webhook_body(text_from_user("halo", n=7))
    assert webhook.post(body).status_code == 200
    assert webhook.post(body).status_code == 200   # WhatsApp redelivers, e.g. after a slow answer
    webhook.wait()
    assert webhook.post(body).status_code == 200
    webhook.wait()
    assert webhook.agent.texts == ["halo"]
    assert len(graph.sent) == 3   # one reply (text, buttons, image), not three


def test_messages_of_one_webhook_are_processed_in_order(webhook):
    webhook.post(webhook_body(text_from_user("satu", n=1), text_from_user("dua", n=2), text_from_user("tiga", n=3)))
    webhook.wait()
    assert webhook.agent.texts == ["satu", "dua", "tiga"]


def test_one_users_messages_are_handled_in_order_of_arrival_even_when_a_turn_is_slow(webhook):
    webhook.post(webhook_body(text_from_user("lambat", n=1)))
    webhook.post(webhook_body(text_from_user("cepat", n=2)))
    webhook.wait()
    assert webhook.agent.texts == ["lambat", "cepat"]


@pytest.mark.parametrize("kind, reply_id, title", [
    ("button_reply", "/register_vaccine", "Daftar vaksinasi"),
    ("list_reply", "2", "Jumat, 22 Jan pagi"),
])
def test_a_tapped_button_or_list_row_reaches_rasa_as_its_payload(webhook, kind, reply_id, title):
    webhook.post(webhook_body(reply_from_user(kind, reply_id, title)))
    webhook.wait()
    [message] = webhook.agent.messages
    assert message.text == reply_id
    assert message.metadata == {"whatsapp": {"type": kind}}


@pytest.mark.parametrize("kind, content", [
    ("image", {"id": "1479537139650973", "mime_type": "image/jpeg", "caption": "foto KTP saya"}),
    ("audio", {"id": "1479537139650974", "mime_type": "audio/ogg; codecs=opus", "voice": True}),
    ("sticker", {"id": "1479537139650975", "mime_type": "image/webp", "animated": False}),
    ("location", {"latitude": -6.2, "longitude": 106.8, "name": "Puskesmas"}),
    ("document", {"id": "1479537139650976", "filename": "surat.pdf"}),
    ("contacts", [{"name": {"formatted_name": "Budi"}, "phones": [{"phone": "+6281298765432"}]}]),
])
def test_a_non_text_message_gets_the_please_type_reply_and_is_not_processed(webhook, graph, kind, content):
    answer = webhook.post(webhook_body({"from": WA_ID, "id": wamid(3), "timestamp": "1700000000", "type": kind,
                                        kind: content}))
    assert answer.status_code == 200
    webhook.wait()
    assert webhook.agent.messages == []
    assert graph.sent == [{"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_ID,
                           "type": "text", "text": {"body": TEXT_ONLY_REPLY, "preview_url": False}}]


def test_status_updates_go_to_the_ledger_without_the_number_and_are_not_messages(webhook, graph, caplog):
    statuses = [{"id": wamid(9), "status": "delivered", "timestamp": "1700000001", "recipient_id": WA_ID,
                 "biz_opaque_callback_data": "vb1:41"},
                {"id": wamid(10), "status": "read", "timestamp": "1700000002", "recipient_id": WA_ID},
                {"id": wamid(11), "status": "failed", "timestamp": "1700000003", "recipient_id": WA_ID,
                 "errors": [{"code": 131047, "title": "Re-engagement message"}]}]
    with caplog.at_level(logging.INFO):
        assert webhook.post(webhook_body(statuses=statuses)).status_code == 200
        webhook.wait()
    assert webhook.agent.messages == [] and graph.sent == []
    assert "error code 131047" in caplog.text
    assert WA_ID not in caplog.text
    events = webhook.channel.reports.events
    assert [(e["status"], e["reference"], e["error_code"]) for e in events] == [
        ("delivered", "vb1:41", None), ("read", None, None), ("failed", None, 131047)]
    assert events[0]["message"] == hashlib.sha256(wamid(9).encode()).hexdigest()
    assert WA_ID not in json.dumps(events)  # neither the number nor the number-bearing message id


def test_unsigned_status_updates_are_refused_and_not_recorded(webhook):
    statuses = [{"id": wamid(12), "status": "delivered", "timestamp": "1700000001", "recipient_id": WA_ID,
                 "biz_opaque_callback_data": "vb1:41"}]
    assert webhook.post(webhook_body(statuses=statuses), signature="sha256=" + "0" * 64).status_code == 403
    webhook.wait()
    assert webhook.channel.reports.events == []


def test_a_quick_reply_press_on_a_template_continues_like_a_button_and_counts_as_a_reply(webhook):
    press = {"from": WA_ID, "id": wamid(20), "timestamp": "1700000100", "type": "button",
             "context": {"from": "6281100001111", "id": "wamid.template.1"},
             "button": {"payload": "/register_vaccine", "text": "Daftar sekarang"}}
    webhook.post(webhook_body(press))
    webhook.wait()
    (message,) = webhook.agent.messages
    assert message.text == "/register_vaccine" and message.metadata == {"whatsapp": {"type": "button"}}
    assert message.text in template_payloads()
    (event,) = webhook.channel.reports.events
    assert event["type"] == "reply" and event["message"] == hashlib.sha256(b"wamid.template.1").hexdigest()
    # Writing opened the user's 24-hour window, as Meta's timestamp says.
    assert webhook.channel.state.last_inbound(WA_ID) == 1700000100


def test_a_message_from_a_notified_user_counts_as_a_reply_once(webhook):
    webhook.channel.state.note_notified(WA_ID, "vb1:77")
    webhook.post(webhook_body(text_from_user("mau daftar", n=30)))
    webhook.post(webhook_body(text_from_user("halo lagi", n=31)))
    webhook.wait()
    assert [e["reference"] for e in webhook.channel.reports.events] == ["vb1:77"]


def test_a_notification_template_payload_is_sent_as_template_or_text_by_the_window(graph):
    state = MemoryConversationState()
    output = WhatsAppOutput(make_client(graph), state)
    payload = {"notification_template": "invitation", "parameters": {"facility": "Puskesmas Tebet"}}
    asyncio.run(output.send_custom_json(WA_ID, payload))
    state.note_inbound(WA_ID, time.time() - 60)
    asyncio.run(output.send_custom_json(WA_ID, payload))
    closed, opened = graph.sent[0], graph.sent[-1]
    assert closed["type"] == "template" and closed["template"]["name"] == "vaksinbot_invitation_v1"
    assert opened["type"] == "interactive" and "Puskesmas Tebet" in opened["interactive"]["body"]["text"]


def test_messages_for_another_phone_number_of_the_app_are_ignored(webhook, graph):
    webhook.post(webhook_body(text_from_user("halo"), phone_number_id="999999999999999"))
    webhook.wait()
    assert webhook.agent.messages == [] and graph.sent == []


def test_the_webhook_answers_before_rasa_has_finished(webhook, graph):
    webhook.agent.gate.clear()   # Rasa is "busy" until the test opens the gate
    started = time.monotonic()
    answer = webhook.post(webhook_body(text_from_user("halo")))
    assert answer.status_code == 200 and time.monotonic() - started < 2
    assert webhook.agent.messages == []
    webhook.agent.gate.set()
    webhook.wait()
    assert webhook.agent.texts == ["halo"]


def test_a_rasa_failure_tells_the_user_to_try_again_later(webhook, graph):
    async def broken(message):
        raise RuntimeError("action server down")

    webhook.agent.handle_message = broken
    webhook.post(webhook_body(text_from_user("halo")))
    webhook.wait()
    [reply] = graph.sent
    assert "coba beberapa saat lagi" in reply["text"]["body"]


# ------------------------------------------------------------------------------------ outgoing

def send(graph: FakeGraphApi, response: dict, **client_kwargs) -> List[dict]:
    async def scenario():
        client = make_client(graph, **client_kwargs)
        try:
            await WhatsAppOutput(client).send_response(WA_ID, response)
        finally:
            await client.close()

    asyncio.run(scenario())
    return graph.sent


def test_a_text_longer_than_4096_characters_is_split_at_paragraphs(graph):
    paragraphs = [f"Paragraf {i}: " + "kata " * 700 for i in range(3)]   # ~3,500 characters each
    sent = send(graph, {"text": "\n\n".join(paragraphs)})
    bodies = [m["text"]["body"] for m in sent]
    assert [m["type"] for m in sent] == ["text", "text", "text"]
    assert all(len(b) <= 4096 for b in bodies)
    assert bodies == [p.strip() for p in paragraphs]


def test_split_text_falls_back_to_lines_spaces_and_hard_cuts():
    assert split_text("a" * 10, limit=4) == ["aaaa", "aaaa", "aa"]
    assert split_text("satu dua tiga empat", limit=9) == ["satu dua", "tiga", "empat"]
    assert split_text("baris satu\nbaris dua", limit=15) == ["baris satu", "baris dua"]
    words = " ".join(["vaksin"] * 2000)
    parts = split_text(words)
    assert all(len(p) <= 4096 for p in parts) and " ".join(parts) == words
    assert split_text("   ") == []


def test_two_buttons_become_reply_buttons_carrying_the_payloads(graph):
    [message] = send(graph, {"text": "Apakah data sudah benar?", "buttons": [
        {"title": "Ya, benar", "payload": "/affirm"}, {"title": "Ubah", "payload": "2"}]})
    assert message["interactive"] == {
        "type": "button", "body": {"text": "Apakah data sudah benar?"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "/affirm", "title": "Ya, benar"}},
                               {"type": "reply", "reply": {"id": "2", "title": "Ubah"}}]}}


def test_five_buttons_become_a_list(graph):
    buttons = [{"title": f"Pilihan {i}", "payload": str(i)} for i in range(1, 6)]
    [message] = send(graph, {"text": "Pilih jadwal:", "buttons": buttons})
    interactive = message["interactive"]
    assert interactive["type"] == "list" and interactive["body"] == {"text": "Pilih jadwal:"}
    assert len(interactive["action"]["button"]) <= 20
    [section] = interactive["action"]["sections"]
    assert section["rows"] == [{"id": str(i), "title": f"Pilihan {i}"} for i in range(1, 6)]


def test_a_long_button_title_turns_two_buttons_into_a_list_with_truncated_titles(graph):
    [message] = send(graph, {"text": "Ada yang bisa kami bantu?", "buttons": [
        {"title": "Cek status pengajuan data nakes", "payload": "/check_submission_status"},
        {"title": "Hubungi petugas", "payload": "/human_handoff"}]})
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert message["interactive"]["type"] == "list"
    assert rows[0] == {"id": "/check_submission_status", "title": "Cek status pengajuan da…",
                       "description": "Cek status pengajuan data nakes"}
    assert len(rows[0]["title"]) == 24
    assert rows[1] == {"id": "/human_handoff", "title": "Hubungi petugas"}


def test_more_than_ten_buttons_keep_ten_rows_and_number_every_option_in_the_body(graph):
    buttons = [{"title": f"Puskesmas nomor {i}", "payload": str(i)} for i in range(1, 13)]
    [message] = send(graph, {"text": "Pilih lokasi:", "buttons": buttons})
    interactive = message["interactive"]
    assert len(interactive["action"]["sections"][0]["rows"]) == 10
    assert interactive["body"]["text"].startswith("Pilih lokasi:\n\n1. Puskesmas nomor 1\n")
    assert "12. Puskesmas nomor 12" in interactive["body"]["text"]


def test_a_text_too_long_for_an_interactive_body_goes_first_as_text(graph):
    long_text = "Jadwal tersedia di beberapa lokasi. " * 40   # ~1,440 characters
    text, buttons = send(graph, {"text": long_text, "buttons": [{"title": "Ya", "payload": "/affirm"},
                                                                {"title": "Tidak", "payload": "/deny"}]})
    assert text["text"]["body"] == long_text.strip()
    assert buttons["interactive"]["type"] == "button"
    assert buttons["interactive"]["body"]["text"] == "Silakan pilih salah satu:"


def test_an_image_is_sent_by_link_and_an_attachment_as_a_document(graph):
    sent = send(graph, {"image": TICKET_URL,
                        "attachment": "https://sertifikat.example.test/certificates/dose-2.pdf?token=SECRET"})
    assert sent[0]["type"] == "image" and sent[0]["image"] == {"link": TICKET_URL}
    assert sent[1]["type"] == "document"
    assert sent[1]["document"] == {"link": "https://sertifikat.example.test/certificates/dose-2.pdf?token=SECRET",
                                   "filename": "dose-2.pdf"}


def test_a_custom_whatsapp_message_is_passed_through_and_other_json_is_not_shown(graph):
    location = {"type": "location", "location": {"latitude": -6.2, "longitude": 106.8, "name": "Puskesmas"}}
    sent = send(graph, {"custom": {"whatsapp": location}})
    sent = send(graph, {"custom": {"some": "json"}})
    assert [m["type"] for m in sent] == ["location"]


def test_429_and_500_are_retried_with_backoff_and_retry_after_then_delivered(graph):
    graph.fail_next(429, headers={"Retry-After": "0"}, error_code=130429)
    graph.fail_next(500, error_code=2)
    delays = []

    async def record_sleep(seconds):
        delays.append(seconds)

    sent = send(graph, {"text": "Tiket Anda sudah terbit."}, sleep=record_sleep)
    assert [m["text"]["body"] for m in sent] == ["Tiket Anda sudah terbit."] * 3   # 429, 500, 200
    assert delays == [0.0, 0.02]   # Retry-After first, then the exponential backoff (0.01 * 2)


def test_retries_stop_after_three(graph, caplog):
    graph.fail_next(503, times=10)
    with caplog.at_level(logging.INFO):
        sent = send(graph, {"text": "halo"})
    assert len(sent) == 4
    assert "HTTP 503" in caplog.text and "after 4 attempts" in caplog.text


def test_a_400_is_not_retried_and_is_logged_without_personal_data(webhook, graph, caplog):
    graph.fail_next(400, error_code=131030, message=f"(#131030) Recipient phone number {WA_ID} not in allowed list")
    with caplog.at_level(logging.DEBUG):
        webhook.post(webhook_body(text_from_user("nama saya Siti, NIK 3171055306900012")))
        webhook.wait()
    assert len(graph.sent) == 3   # the refused text (once, not retried), then the buttons and the image
    assert "HTTP 400, error code 131030" in caplog.text
    assert "+62812*****890" in caplog.text   # the sender, masked
    for personal in (WA_ID, "3171055306900012", "Siti", "not in allowed list", wamid(1)):
        assert personal not in caplog.text


# ------------------------------------------------------------------------ configuration, dedup

def test_settings_come_from_credentials_else_from_the_environment():
    environ = {"WHATSAPP_ACCESS_TOKEN": "env-token", "WHATSAPP_APP_SECRET": "env-secret",
               "WHATSAPP_VERIFY_TOKEN": "env-verify", "WHATSAPP_PHONE_NUMBER_ID": "123"}
    settings = WhatsAppSettings.from_credentials({"access_token": "yml-token", "app_secret": ""}, environ)
    assert (settings.access_token, settings.app_secret, settings.phone_number_id) == ("yml-token", "env-secret", "123")
    assert settings.graph_api_url == "https://graph.facebook.com/v17.0"
    assert WhatsAppSettings.from_credentials(None, {}).missing() == [
        "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_PHONE_NUMBER_ID"]


def test_an_unconfigured_channel_refuses_everything_and_production_refuses_to_start(monkeypatch, graph):
    for variable in WhatsAppSettings.ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RasaException, match="WHATSAPP_APP_SECRET"):
        WhatsAppInput.from_credentials(None)
    monkeypatch.setenv("APP_ENV", "development")
    channel = WhatsAppInput.from_credentials({"graph_api_url": graph.url})
    server = WebhookServer(channel)
    try:
        body = webhook_body(text_from_user("halo"))
        assert server.post(body, signature=sign(json.dumps(body).encode(), "")).status_code == 403
        assert requests.get(server.url, params={"hub.mode": "subscribe", "hub.verify_token": "",
                                                "hub.challenge": "1"}, timeout=5).status_code == 403
        server.wait()
        assert server.agent.messages == []
    finally:
        server.stop()


def test_recent_message_ids_are_bounded_and_expire():
    now = [0.0]
    seen = RecentMessageIds(capacity=3, ttl_seconds=60, clock=lambda: now[0])
    assert [seen.remember(i) for i in ("a", "b", "a")] == [True, True, False]
    for i in ("c", "d", "e"):
        seen.remember(i)
    assert len(seen) == 3 and seen.remember("a")   # "a" was pushed out by capacity
    now[0] = 61.0
    assert seen.remember("e") and len(seen) == 1    # everything older expired


def test_recent_message_ids_let_exactly_one_of_many_threads_through():
    seen = RecentMessageIds()
    results = []
    threads = [threading.Thread(target=lambda: results.append(seen.remember("wamid.same"))) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1


def test_without_redis_the_shared_deduplicator_still_deduplicates_in_memory(caplog):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"

    async def scenario():
        seen = SharedMessageIds(url)
        try:
            return [await seen.first_time("wamid.x"), await seen.first_time("wamid.x")]
        finally:
            await seen.close()

    with caplog.at_level(logging.WARNING):
        assert asyncio.run(scenario()) == [True, False]
    assert "Redis unavailable" in caplog.text


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_two_servers_sharing_redis_process_a_message_once():
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)

        async def scenario():
            first, second = (SharedMessageIds(f"redis://127.0.0.1:{port}/0") for _ in range(2))
            try:
                return [await first.first_time("wamid.y"), await second.first_time("wamid.y"),
                        await second.first_time("wamid.z")]
            finally:
                await first.close()
                await second.close()

        assert asyncio.run(scenario()) == [True, False, True]
    finally:
        redis.terminate()
        redis.wait(timeout=5)
