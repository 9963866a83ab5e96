"""WhatsApp Cloud API message formats, with no I/O: what a webhook tells us, what we send back.

Incoming: `incoming_messages(payload)` turns a webhook body into `IncomingMessage`s; a tapped reply
button or list row comes back as the `id` we gave it, which is the Rasa button payload, so
`/register_vaccine` or `2` round-trips exactly as if typed.

Status updates: `delivery_statuses(payload)` reads Meta's sent / delivered / read / failed
reports of the messages we sent (with Meta's error code and our `biz_opaque_callback_data`).

Outgoing: builders return the type-specific part of a message (`{"type": "text", "text": {...}}`);
the client adds `messaging_product` and `to`. The limits below are WhatsApp's: a longer value is
rejected with HTTP 400, so every builder stays inside them. `template_message` builds an approved
template (`type: template`) with its parameters and quick-reply payloads.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import unquote, urlparse

TEXT_LIMIT = 4096            # text.body
BODY_LIMIT = 1024            # interactive body.text
REPLY_BUTTONS_MAX = 3
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
LIST_ROWS_MAX = 10
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
ROW_ID_LIMIT = 200
CAPTION_LIMIT = 1024

ELLIPSIS = "…"
LIST_BUTTON_LABEL = "Lihat pilihan"      # the button that opens a list (max 20 characters)
LIST_SECTION_TITLE = "Pilihan"           # max 24 characters
CHOOSE_PROMPT = "Silakan pilih salah satu:"
DEFAULT_DOCUMENT_NAME = "dokumen"

# Read as text by Rasa: the typed text, or the id (= Rasa payload) of the tapped button or row.
READABLE_TYPES = frozenset({"text", "interactive", "button"})
# Not a message from the user to answer: an emoji reaction, a number change, the first chat opening.
SILENT_TYPES = frozenset({"reaction", "system", "request_welcome"})


@dataclass(frozen=True)
class IncomingMessage:
    message_id: str
    sender: str                 # the wa_id: the user's phone number in E.164 without "+"
    kind: str                   # "text", "button_reply", "list_reply", "button", or the media type
    text: Optional[str]         # None when the message is not something Rasa can read
    timestamp: Optional[int] = None    # when the user sent it (Unix seconds, from Meta)
    context_id: Optional[str] = None   # the message of ours it answers (a quick-reply press, a quoted reply)

    @property
    def readable(self) -> bool:
        return self.text is not None

    @property
    def silent(self) -> bool:
        return self.kind in SILENT_TYPES


def incoming_messages(payload: Any, phone_number_id: Optional[str] = None) -> Iterator[IncomingMessage]:
    """The user messages of a webhook body, in order. Status updates are not messages. Messages
    sent to another phone number of the same Meta app are skipped when `phone_number_id` is set."""
    for value in _message_change_values(payload):
        receiver = (value.get("metadata") or {}).get("phone_number_id")
        if phone_number_id and receiver and str(receiver) != str(phone_number_id):
            continue
        for message in value.get("messages") or []:
            if not isinstance(message, dict) or not message.get("id") or not message.get("from"):
                continue
            kind, text = _read(message)
            context = message.get("context") if isinstance(message.get("context"), dict) else {}
            yield IncomingMessage(message_id=str(message["id"]), sender=str(message["from"]), kind=kind, text=text,
                                  timestamp=_int(message.get("timestamp")),
                                  context_id=str(context["id"]) if context.get("id") else None)


STATUSES = frozenset({"sent", "delivered", "read", "failed"})


@dataclass(frozen=True)
class DeliveryStatus:
    """Meta's report on a message we sent. `recipient_id` (the phone number) is deliberately not
    kept: nothing downstream needs it."""

    message_id: str
    status: str                      # sent | delivered | read | failed
    timestamp: Optional[int]
    callback_data: Optional[str]     # our biz_opaque_callback_data: which ledger row it belongs to
    error_code: Optional[int] = None


def delivery_statuses(payload: Any, phone_number_id: Optional[str] = None) -> Iterator[DeliveryStatus]:
    """The status updates of a webhook body, in order (`failed` with Meta's error code, e.g.
    131026 when the number is not on WhatsApp, 131047 when the 24-hour window had closed)."""
    for value in _message_change_values(payload):
        sender = (value.get("metadata") or {}).get("phone_number_id")
        if phone_number_id and sender and str(sender) != str(phone_number_id):
            continue
        for status in value.get("statuses") or []:
            if not isinstance(status, dict) or status.get("status") not in STATUSES or not status.get("id"):
                continue
            errors = status.get("errors") or [{}]
            code = _int((errors[0] or {}).get("code")) if status["status"] == "failed" else None
            callback = status.get("biz_opaque_callback_data")
            yield DeliveryStatus(message_id=str(status["id"]), status=str(status["status"]),
                                 timestamp=_int(status.get("timestamp")),
                                 callback_data=str(callback) if callback else None, error_code=code)


def delivery_failures(payload: Any) -> Iterator[Optional[int]]:
    """The error code of every `failed` status update."""
    for status in delivery_statuses(payload):
        if status.status == "failed":
            yield status.error_code


def _int(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _message_change_values(payload: Any) -> Iterator[Dict[str, Any]]:
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            if isinstance(change, dict) and change.get("field") == "messages" and isinstance(change.get("value"), dict):
                yield change["value"]


def _read(message: Dict[str, Any]) -> Tuple[str, Optional[str]]:
    kind = str(message.get("type") or "unknown")
    if kind == "text":
        return kind, str((message.get("text") or {}).get("body") or "")
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        reply_kind = str(interactive.get("type") or "unknown")
        reply = interactive.get(reply_kind) or {}
        if reply_kind in ("button_reply", "list_reply"):
            return reply_kind, str(reply.get("id") or reply.get("title") or "")
        return reply_kind, None
    if kind == "button":  # a quick-reply button of a template message
        button = message.get("button") or {}
        return kind, str(button.get("payload") or button.get("text") or "")
    return kind, None


# ----------------------------------------------------------------------------------------- outgoing

def template_message(name: str, language: str, body_values: Sequence[str],
                     quick_reply_payloads: Sequence[str] = ()) -> Dict[str, Any]:
    """An approved template (`type: template`): the body's parameters in order, and the payload
    each quick-reply button returns when pressed (it comes back as a `button` message)."""
    components: List[Dict[str, Any]] = []
    if body_values:
        components.append({"type": "body", "parameters": [{"type": "text", "text": v} for v in body_values]})
    for index, payload in enumerate(quick_reply_payloads):
        components.append({"type": "button", "sub_type": "quick_reply", "index": str(index),
                           "parameters": [{"type": "payload", "payload": payload}]})
    template: Dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = components
    return {"type": "template", "template": template}


def template_payloads() -> FrozenSet[str]:
    """Every payload a quick-reply button of our approved templates returns (e.g.
    `/register_vaccine` for "Daftar sekarang"): a `button` message carrying one of them is a
    button the bot offered, like a reply button of an interactive message."""
    from backends.notifications.templates import template_payloads as payloads

    return payloads()


def text_messages(text: str) -> List[Dict[str, Any]]:
    return [{"type": "text", "text": {"body": part, "preview_url": False}} for part in split_text(text)]


def image_message(link: str, caption: Optional[str] = None) -> Dict[str, Any]:
    image: Dict[str, Any] = {"link": link}
    if caption:
        image["caption"] = truncate(caption, CAPTION_LIMIT)
    return {"type": "image", "image": image}


def document_message(link: str, filename: Optional[str] = None, caption: Optional[str] = None) -> Dict[str, Any]:
    document: Dict[str, Any] = {"link": link, "filename": filename or filename_from_url(link)}
    if caption:
        document["caption"] = truncate(caption, CAPTION_LIMIT)
    return {"type": "document", "document": document}


def filename_from_url(link: str) -> str:
    """What the user's phone shows as the file name: the last path segment (never the query,
    where signed download tokens travel)."""
    name = PurePosixPath(unquote(urlparse(link).path)).name
    return name or DEFAULT_DOCUMENT_NAME


def split_text(text: str, limit: int = TEXT_LIMIT) -> List[str]:
    """Parts of at most `limit` characters, cut at a paragraph break, else a line break, else a
    space (each only when it keeps at least half of the part), else anywhere."""
    text = (text or "").strip()
    parts: List[str] = []
    while len(text) > limit:
        cut = _cut_position(text, limit)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def _cut_position(text: str, limit: int) -> int:
    window = text[:limit + 1]  # a separator right after the limit still ends a full-size part
    fallback = 0
    for separator in ("\n\n", "\n", " "):
        position = window.rfind(separator, 0, limit + 1)
        if position >= limit // 2:
            return position
        fallback = max(fallback, position)
    return fallback if fallback > 0 else limit


def truncate(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + ELLIPSIS


def button_messages(text: str, buttons: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Rasa buttons as WhatsApp sees them, in sending order:

    - up to 3 buttons whose titles fit 20 characters: reply buttons;
    - otherwise a list (up to 10 rows, titles cut at 24 characters with "…", the full title as the
      row description); with more than 10 the body also numbers every option, so the user can
      type the number of one the list cannot show;
    - payloads too long or repeated (WhatsApp needs unique ids): the options as numbered text.

    A text longer than an interactive body allows goes first as text of its own.
    """
    choices = [_choice(button) for button in buttons]
    choices = [(payload, title) for payload, title in choices if payload or title]
    if not choices:
        return text_messages(text)
    ids = [payload for payload, _ in choices]
    titles = [title for _, title in choices]
    numbered = "\n".join(f"{number}. {title}" for number, title in enumerate(titles, start=1))
    if len(set(ids)) != len(ids) or any(len(i) > BUTTON_ID_LIMIT for i in ids):
        return text_messages(_join(text, numbered))
    if (len(choices) <= REPLY_BUTTONS_MAX and all(0 < len(t) <= BUTTON_TITLE_LIMIT for t in titles)
            and len(set(titles)) == len(titles)):
        preface, body = _body(text)
        action = {"buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in choices]}
        return preface + [{"type": "interactive",
                           "interactive": {"type": "button", "body": {"text": body}, "action": action}}]
    if any(len(i) > ROW_ID_LIMIT for i in ids):
        return text_messages(_join(text, numbered))
    preface, body = _body(_join(text, numbered) if len(choices) > LIST_ROWS_MAX else text)
    rows = [_row(payload, title) for payload, title in choices[:LIST_ROWS_MAX]]
    action = {"button": LIST_BUTTON_LABEL, "sections": [{"title": LIST_SECTION_TITLE, "rows": rows}]}
    return preface + [{"type": "interactive",
                       "interactive": {"type": "list", "body": {"text": body}, "action": action}}]


def _choice(button: Dict[str, Any]) -> Tuple[str, str]:
    title = " ".join(str(button.get("title") or "").split())
    payload = str(button.get("payload") or title).strip()
    return payload, title or payload


def _row(payload: str, title: str) -> Dict[str, Any]:
    row = {"id": payload, "title": truncate(title, ROW_TITLE_LIMIT)}
    if row["title"] != title:
        row["description"] = truncate(title, ROW_DESCRIPTION_LIMIT)
    return row


def _body(text: str) -> Tuple[List[Dict[str, Any]], str]:
    """(text messages to send first, body of the interactive message)."""
    text = (text or "").strip()
    if not text:
        return [], CHOOSE_PROMPT
    if len(text) <= BODY_LIMIT:
        return [], text
    return text_messages(text), CHOOSE_PROMPT


def _join(text: str, numbered: str) -> str:
    return f"{text.strip()}\n\n{numbered}" if (text or "").strip() else numbered
