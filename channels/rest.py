"""The REST channel (web chat, terminal chat, tests), with the inbound checks every channel makes.

Rasa's own `rest` channel trusts its body: it takes `input_channel` and `metadata` from the client
(so a web client could claim to be WhatsApp, whose sender ids are verified numbers), answers 500 to a
body that is not a JSON object, and logs the message text when a turn fails. This one, at the same
URL (`/webhooks/rest/webhook`):
- answers 400 with a JSON error to a body that is not an object with string `sender` and `message`;
- always names its input channel `rest`, and replaces any client `metadata` with `requester`, a digest
  of the client's address (what backends throttle per client, beside the conversation);
- refuses over-long messages and typed payloads the bot never offered (`channels.inbound_guard`);
- answers a failed turn with an apology instead of nothing, and logs only the error's type.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import inbound_guard
from privacy.logs import install_log_redaction

log = logging.getLogger(__name__)
install_log_redaction()

MAX_SENDER_CHARS = 128
FAILURE_RESPONSE = "utter_backend_unavailable"
# The address of the client as the proxy in front of Rasa saw it (nginx sets it; see cluster/).
FORWARDED_HEADER = "X-Real-IP"


def _bad_request(message: str) -> HTTPResponse:
    return response.json({"error": {"code": "invalid_request", "message": message}}, status=400)


def client_digest(request: Request) -> str:
    address = request.headers.get(FORWARDED_HEADER) or request.ip or "unknown"
    return hashlib.sha256(f"rest-client:{address}".encode()).hexdigest()[:32]


class GuardedRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("guarded_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return _bad_request("Isi permintaan harus berupa JSON.")
            if not isinstance(body, dict):
                return _bad_request("Isi permintaan harus berupa objek JSON dengan 'sender' dan 'message'.")
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_CHARS:
                return _bad_request(f"'sender' harus berupa teks 1 sampai {MAX_SENDER_CHARS} karakter.")
            if not isinstance(text, str):
                return _bad_request("'message' harus berupa teks.")
            agent = getattr(request.app.ctx, "agent", None)
            text = inbound_guard.cleaned(text)
            refused = await inbound_guard.refusal(agent, sender, text)
            if refused is not None:
                return response.json([{"recipient_id": sender, "text": refused}])
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender, input_channel=self.name(),
                                  metadata={"requester": client_digest(request)})
            try:
                await on_new_message(message)
            except asyncio.CancelledError:
                log.error("REST message not handled: cancelled (timeout)")
                return response.json(_apology(agent, sender))
            except Exception as error:  # never the text, never the tracker
                log.error("REST message not handled: %s", type(error).__name__)
                return response.json(_apology(agent, sender))
            return response.json(collector.messages)

        return webhook


def _apology(agent: Optional[Any], sender: str) -> list:
    return [{"recipient_id": sender, "text": inbound_guard.response_text(agent, FAILURE_RESPONSE)}]
