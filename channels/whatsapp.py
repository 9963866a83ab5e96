"""The WhatsApp Business Cloud API channel: `channels.whatsapp.WhatsAppInput` in credentials.yml.

Webhook (Rasa serves it at /webhooks/whatsapp/webhook):
- GET: Meta's verification handshake (`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`);
- POST: messages and status updates, signed by Meta (`X-Hub-Signature-256`, HMAC-SHA256 of the
  raw body with the app secret). An unsigned or wrongly signed body gets 403 and is not read.
  A signed one gets 200 at once and is handled in a background task: WhatsApp redelivers webhooks
  that answer slowly, and a Rasa turn (NLU, actions, backends) can take seconds.

Each message id is handled once (`message_dedup`). Texts, reply buttons, list rows and the
quick-reply buttons of our templates go to Rasa with the sender's wa_id as the conversation id;
pictures, voice notes, stickers, locations and the like get a short reply asking the user to type
instead. Replies go out through `WhatsAppOutput` and `whatsapp_cloud_api.CloudApiClient`.

For the notification campaigns (docs/notifications.md): every user message opens that user's
24-hour window (`whatsapp_window`), and status updates (sent, delivered, read, failed) and replies
to notifications go to the notification ledger (`whatsapp_reports`), with no phone number.

Privacy: phone numbers are logged masked (+62812*****890), message texts never, and message ids
only as a short digest (a WhatsApp message id encodes the sender's number). Guide: docs/whatsapp.md.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, ClassVar, Dict, List, Mapping, Optional, Set, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from privacy.logs import install_log_redaction
from privacy.masking import mask_phone
from channels import inbound_guard
from channels import whatsapp_messages as formats
from channels.message_dedup import message_ids_seen
from channels.whatsapp_cloud_api import DEFAULT_GRAPH_API_URL, CloudApiClient, log_delivery_failure
from channels.whatsapp_reports import DeliveryReports, reply_event, status_event
from channels.whatsapp_window import conversation_state

log = logging.getLogger(__name__)
install_log_redaction()

CHANNEL_NAME = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
TEXT_ONLY_REPLY = "Mohon maaf, saat ini kami hanya dapat membaca pesan teks. Silakan ketik pesan Anda."
FAILURE_REPLY = ("Mohon maaf, sedang terjadi gangguan pada layanan kami. Silakan coba beberapa saat lagi "
                 "atau hubungi hotline 119 ext 9.")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class WhatsAppSettings:
    """Each value from credentials.yml when given there, else from the environment variable."""

    access_token: str = ""
    app_secret: str = ""
    verify_token: str = ""
    phone_number_id: str = ""
    graph_api_url: str = DEFAULT_GRAPH_API_URL
    dedup_redis_url: str = ""
    timeout_seconds: float = 10.0

    ENVIRONMENT: ClassVar[Dict[str, str]] = {
        "access_token": "WHATSAPP_ACCESS_TOKEN", "app_secret": "WHATSAPP_APP_SECRET",
        "verify_token": "WHATSAPP_VERIFY_TOKEN", "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
        "graph_api_url": "WHATSAPP_GRAPH_API_URL", "dedup_redis_url": "WHATSAPP_DEDUP_REDIS_URL",
        "timeout_seconds": "WHATSAPP_TIMEOUT_SECONDS"}
    REQUIRED: ClassVar[tuple] = ("access_token", "app_secret", "verify_token", "phone_number_id")

    @classmethod
    def from_credentials(cls, credentials: Optional[Mapping[str, Any]],
                         environ: Mapping[str, str] = os.environ) -> "WhatsAppSettings":
        credentials = credentials or {}
        values: Dict[str, Any] = {}
        for key, variable in cls.ENVIRONMENT.items():
            value = str(credentials.get(key) or "").strip() or environ.get(variable, "").strip()
            if value:
                values[key] = float(value) if key == "timeout_seconds" else value
        return cls(**values)

    def missing(self) -> List[str]:
        return [self.ENVIRONMENT[key] for key in self.REQUIRED if not getattr(self, key)]


class WhatsAppOutput(OutputChannel):
    """Rasa's replies as WhatsApp messages; `recipient_id` is the user's wa_id."""

    def __init__(self, client: CloudApiClient, state: Any = None) -> None:
        self.client = client
        self.state = state

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send_all(recipient_id, formats.text_messages(text))

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        await self._send_all(recipient_id, formats.button_messages(text, buttons))

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self.client.send(recipient_id, formats.image_message(image))

    async def send_attachment(self, recipient_id: Text, attachment: Any, **kwargs: Any) -> None:
        """A document by link: a URL, or `{"url" or "link", "filename", "caption"}`."""
        if isinstance(attachment, dict):
            link = attachment.get("url") or attachment.get("link")
            message = formats.document_message(link, attachment.get("filename"),
                                               attachment.get("caption")) if link else None
        else:
            message = formats.document_message(str(attachment))
        if message is None:
            log.warning("WhatsApp attachment without a link: not sent")
            return
        await self.client.send(recipient_id, message)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """A WhatsApp message object as Rasa's `custom` payload, e.g. `{"type": "location",
        "location": {...}}`, or the same under a `whatsapp` key; or an approved notification
        template, `{"notification_template": "appointment_tomorrow", "parameters": {...}}`.
        Anything else is not shown to the user (Rasa's default would send the raw JSON as text)."""
        if isinstance(json_message, dict) and json_message.get("notification_template"):
            await self.send_template(recipient_id, str(json_message["notification_template"]),
                                     json_message.get("parameters") or {})
            return
        message = json_message.get("whatsapp", json_message) if isinstance(json_message, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            log.warning("Custom payload without a WhatsApp message type: not sent")
            return
        await self.client.send(recipient_id, message)

    async def send_template(self, recipient_id: Text, name: Text, parameters: Dict[Text, Any]) -> None:
        """An approved template when the user's 24-hour window is closed or unknown, else the same
        words as free-form text with its quick replies as reply buttons (WhatsApp refuses free-form
        messages outside the window, error 131047)."""
        from backends.notifications.domain import TEXT, whatsapp_message_kind
        from backends.notifications.whatsapp import template_or_text

        last = self.state.last_inbound(recipient_id) if self.state is not None else None
        kind = whatsapp_message_kind(last, time.time())
        try:
            messages = template_or_text(name, {k: str(v) for k, v in parameters.items()}, kind == TEXT)
        except ValueError as error:
            log.warning("WhatsApp template %s not sent: %s", name, type(error).__name__)
            return
        await self._send_all(recipient_id, messages)

    async def _send_all(self, recipient_id: Text, messages: List[Dict[str, Any]]) -> None:
        for message in messages:
            await self.client.send(recipient_id, message)


class WhatsAppInput(InputChannel):
    def __init__(self, settings: WhatsAppSettings, client: Optional[CloudApiClient] = None,
                 seen_message_ids: Any = None, state: Any = None, reports: Optional[DeliveryReports] = None) -> None:
        self.settings = settings
        self.client = client or CloudApiClient(settings.graph_api_url, settings.phone_number_id,
                                               settings.access_token, timeout_seconds=settings.timeout_seconds)
        self.seen_message_ids = seen_message_ids or message_ids_seen(settings.dedup_redis_url)
        self.state = state if state is not None else conversation_state()
        self.reports = reports if reports is not None else DeliveryReports.from_environment()
        self._background: Set[asyncio.Task] = set()
        self._per_sender: Dict[str, list] = {}  # wa_id -> [lock, number of messages holding or awaiting it]
        self._agent: Any = None  # Rasa's agent (domain, tracker store), known from the first webhook

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WhatsAppInput":
        settings = WhatsAppSettings.from_credentials(credentials)
        missing = settings.missing()
        if missing and os.environ.get("APP_ENV", "development").strip().lower() == "production":
            raise RasaException(f"The WhatsApp channel needs {', '.join(missing)} (docs/whatsapp.md).")
        if missing:
            log.warning("WhatsApp channel not configured (%s unset): its webhook answers 403 until they are set.",
                        ", ".join(missing))
        return cls(settings)

    def get_output_channel(self) -> WhatsAppOutput:
        """Lets Rasa message a user unprompted (`/conversations/<wa_id>/trigger_intent?output_channel=
        whatsapp`); WhatsApp delivers such free-form messages only within 24 h of the user's last one,
        so notifications go as `notification_template` payloads (`WhatsAppOutput.send_template`)."""
        return WhatsAppOutput(self.client, self.state)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("whatsapp_webhook")

        @webhook.get("/")
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.get("/webhook")
        async def verify(request: Request) -> HTTPResponse:
            return self.verification_response(*(request.args.get(name) or "" for name in
                                                 ("hub.mode", "hub.verify_token", "hub.challenge")))

        @webhook.post("/webhook")
        async def receive(request: Request) -> HTTPResponse:
            if not self.signature_is_valid(request.body, request.headers.get(SIGNATURE_HEADER)):
                log.warning("WhatsApp webhook refused: missing or invalid %s", SIGNATURE_HEADER)
                return response.text("forbidden", status=403)
            try:
                payload = json.loads(request.body)
            except ValueError:
                log.warning("WhatsApp webhook refused: body is not JSON")
                return response.text("bad request", status=400)
            self._agent = getattr(request.app.ctx, "agent", None) or self._agent
            self._start_background(self.handle_webhook(payload, on_new_message))
            return response.text("ok")

        @webhook.listener("after_server_stop")
        async def close_connections(*_: Any) -> None:
            await self.wait_for_background_tasks()
            await self.client.close()
            if hasattr(self.seen_message_ids, "close"):
                await self.seen_message_ids.close()
            await self.state.close()
            await self.reports.close()

        return webhook

    def verification_response(self, mode: str, token: str, challenge: str) -> HTTPResponse:
        expected = self.settings.verify_token
        if expected and mode == "subscribe" and hmac.compare_digest(token.encode(), expected.encode()):
            log.info("WhatsApp webhook verified")
            return response.text(challenge, content_type="text/plain")
        log.warning("WhatsApp webhook verification refused")
        return response.text("forbidden", status=403)

    def signature_is_valid(self, body: bytes, signature: Optional[str]) -> bool:
        if not self.settings.app_secret or not signature:
            return False
        expected = "sha256=" + hmac.new(self.settings.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace"))

    async def handle_webhook(self, payload: Any, on_new_message: OnNewMessage) -> None:
        """Everything a signed webhook body carries, in order (run after the 200 has gone out)."""
        await self.handle_statuses(payload)
        for message in formats.incoming_messages(payload, self.settings.phone_number_id):
            try:
                await self.note_inbound(message)
                async with self._in_order_of_arrival(message.sender):
                    await self.handle_message(message, on_new_message)
            except Exception as error:  # one broken message must not drop the ones after it
                log.error("WhatsApp message %s not handled: %s", _ref(message.message_id), type(error).__name__)
                log.debug("Traceback of the failure above", exc_info=True)

    async def handle_statuses(self, payload: Any) -> None:
        """Meta's reports on the messages we sent, to the notification ledger (no phone number)."""
        statuses = list(formats.delivery_statuses(payload, self.settings.phone_number_id))
        for status in statuses:
            if status.status == "failed":
                log_delivery_failure(status.error_code)
        if statuses:
            await self.reports.publish(status_event(status) for status in statuses)

    async def note_inbound(self, message: formats.IncomingMessage) -> None:
        """The user wrote: their 24-hour window opens, and an answer to a notification is counted."""
        if message.kind == "system":
            return
        marker = await self.state.note_inbound_async(message.sender, message.timestamp)
        event = reply_event(message, marker)
        if event is not None:
            await self.reports.publish([event])

    async def handle_message(self, message: formats.IncomingMessage, on_new_message: OnNewMessage) -> None:
        ref, sender = _ref(message.message_id), mask_phone("+" + message.sender)
        if not await self.seen_message_ids.first_time(message.message_id):
            log.info("WhatsApp message %s (%s) from %s is a repeated delivery: skipped", ref, message.kind, sender)
            return
        if message.silent:
            log.info("WhatsApp message %s (%s) from %s: nothing to answer", ref, message.kind, sender)
            return
        output = WhatsAppOutput(self.client)
        if not message.readable:
            log.info("WhatsApp message %s (%s) from %s: not text, asked to type", ref, message.kind, sender)
            await output.send_text_message(message.sender, TEXT_ONLY_REPLY)
            return
        if not message.text.strip():
            log.info("WhatsApp message %s (%s) from %s: empty, skipped", ref, message.kind, sender)
            return
        text = inbound_guard.cleaned(message.text)
        refused = await inbound_guard.refusal(self._agent, message.sender, text, typed=message.kind == "text")
        if refused is not None:
            log.info("WhatsApp message %s (%s) from %s: refused before the NLU", ref, message.kind, sender)
            await output.send_text_message(message.sender, refused)
            return
        log.info("WhatsApp message %s (%s) from %s", ref, message.kind, sender)
        user_message = UserMessage(text, output, message.sender, input_channel=CHANNEL_NAME,
                                   message_id=message.message_id, metadata={"whatsapp": {"type": message.kind}})
        try:
            await on_new_message(user_message)
        except asyncio.CancelledError:
            log.error("WhatsApp message %s: handling cancelled", ref)
            raise
        except Exception as error:
            log.error("WhatsApp message %s: Rasa failed (%s); the user was told to try again", ref,
                      type(error).__name__)
            log.debug("Traceback of the failure above", exc_info=True)
            await output.send_text_message(message.sender, FAILURE_REPLY)

    async def wait_for_background_tasks(self) -> None:
        """Returns when every webhook received so far has been handled (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    @contextlib.asynccontextmanager
    async def _in_order_of_arrival(self, sender: str) -> AsyncIterator[None]:
        """One message of a user at a time, in the order the webhooks arrived: a user who types "1"
        and then "ya" must not have "ya" handled first while "1" waits for deduplication."""
        entry = self._per_sender.setdefault(sender, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:  # asyncio locks are granted first come, first served
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._per_sender[sender]

    def _start_background(self, work: Awaitable[None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)  # asyncio keeps only weak references to tasks
        task.add_done_callback(self._background.discard)


def _ref(message_id: str) -> str:
    """A short, stable digest to tell messages apart in logs without their (number-bearing) id.
    Letters only, so the log redaction never mistakes it for a number."""
    digest = hashlib.sha256(message_id.encode("utf-8")).digest()[:10]
    return "msg-" + "".join(chr(ord("a") + byte % 26) for byte in digest)
