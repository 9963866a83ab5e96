"""Redacting serialized Rasa events (dicts, as tracker stores persist them) before they are stored.

- A slot event keeps its value only as `slots.stored_slot_value` allows (default-deny, sealed values kept).
- A user message that answered a personal question (the form's requested slot is not a safe one:
  NIK digits, birth date, phone, OTP, name, …) is not stored at all: its text becomes REDACTED.
  Any other user message keeps its text with every personal number hidden (`text.hide_numbers`) and
  every name the NLU found replaced. Entity values are hidden the same way; a value that is not a
  string (typed JSON) is not stored.
- Channel metadata is kept only where declared (the WhatsApp message type); a WhatsApp message id,
  which encodes the sender's number, becomes a short digest.
Plain functions on dicts; tests/unit/test_redaction.py.
"""
from __future__ import annotations

import hashlib
from typing import Any, Dict, Iterable, List, Optional

from privacy.slots import REDACTED, is_safe_question, stored_slot_value
from privacy.text import hide_numbers

NAME_ENTITIES = frozenset({"person_name"})
_KEPT_METADATA = {"whatsapp": ("type",)}


def _entity(entity: Any) -> Any:
    if not isinstance(entity, dict):
        return REDACTED
    clean = dict(entity)
    for key in ("value", "text"):
        if key not in clean:
            continue
        value = clean[key]
        if entity.get("entity") in NAME_ENTITIES or not isinstance(value, str):
            clean[key] = REDACTED
        else:
            clean[key] = hide_numbers(value)
    return clean


def _entities(entities: Any) -> List[Any]:
    return [_entity(e) for e in entities] if isinstance(entities, list) else []


def _text(text: Any, entities: Any, answers_personal_question: bool) -> Any:
    if text is None:
        return None
    if answers_personal_question or not isinstance(text, str):
        return REDACTED
    for entity in entities if isinstance(entities, list) else []:
        if isinstance(entity, dict) and entity.get("entity") in NAME_ENTITIES and isinstance(entity.get("text"), str) \
                and entity["text"].strip():
            text = text.replace(entity["text"], REDACTED)
    return hide_numbers(text)


def _metadata(metadata: Any) -> Dict[str, Any]:
    if not isinstance(metadata, dict):
        return {}
    kept: Dict[str, Any] = {}
    for key, fields in _KEPT_METADATA.items():
        inner = metadata.get(key)
        if isinstance(inner, dict):
            kept[key] = {f: inner[f] for f in fields if isinstance(inner.get(f), str) and len(inner[f]) <= 40}
    return kept


def message_digest(message_id: Any) -> Optional[str]:
    if message_id is None:
        return None
    digest = hashlib.sha256(str(message_id).encode("utf-8")).digest()[:10]
    return "msg-" + "".join(chr(ord("a") + byte % 26) for byte in digest)


def _message_id(message_id: Any) -> Any:
    # Rasa's own ids are 32 hex characters; anything else (a channel's id) may encode the sender.
    if isinstance(message_id, str) and (message_id.startswith("msg-") or
                                        (len(message_id) == 32 and all(c in "0123456789abcdef" for c in message_id))):
        return message_id
    return message_digest(message_id)


def redact_user_event(event: Dict[str, Any], answers_personal_question: bool) -> Dict[str, Any]:
    parse_data = event.get("parse_data") if isinstance(event.get("parse_data"), dict) else {}
    entities = parse_data.get("entities")
    clean = dict(event, text=_text(event.get("text"), entities, answers_personal_question))
    if "metadata" in clean:
        clean["metadata"] = _metadata(clean.get("metadata"))
    if "message_id" in clean:
        clean["message_id"] = _message_id(clean.get("message_id"))
    if "parse_data" in event:
        data = dict(parse_data, text=_text(parse_data.get("text"), entities, answers_personal_question),
                    entities=_entities(entities))
        if "metadata" in data:
            data["metadata"] = _metadata(data.get("metadata"))
        if "message_id" in data:
            data["message_id"] = _message_id(data.get("message_id"))
        clean["parse_data"] = data
    return clean


class EventRedactor:
    """Redacts a conversation's events in order: it remembers which question the bot asked last, so an
    answer to a personal question is not stored."""

    def __init__(self) -> None:
        self.asked: Any = None

    def redact(self, event: Dict[str, Any]) -> Dict[str, Any]:
        kind = event.get("event")
        if kind == "slot":
            name = event.get("name", "")
            if name == "requested_slot":
                self.asked = event.get("value")
            return dict(event, value=stored_slot_value(name, event.get("value")))
        if kind == "user":
            return redact_user_event(event, self.asked is not None and not is_safe_question(self.asked))
        if kind in ("active_loop", "restart", "session_started"):
            if kind != "active_loop" or event.get("name") is None:
                self.asked = None
            return event
        if kind in ("entities", "reminder") and "entities" in event:
            return dict(event, entities=_entities(event.get("entities")))
        return event


def redact_events(events: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    redactor = EventRedactor()
    return [redactor.redact(event) for event in events]
