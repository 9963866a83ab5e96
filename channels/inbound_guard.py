"""What a channel lets through to Rasa: the checks every input channel makes before the NLU runs.

1. Length. WhatsApp caps a text at 4,096 characters; no real message to this service is longer, and
   the NLU's cost grows with the square of a message's length (a 20,000-word message took 29 s and
   14 GB). A longer message is answered at once, politely, without reaching the NLU or the tracker.
2. Typed payloads. Any user can type Rasa's `/intent{"entity": value}` syntax on any channel, with
   entity values of any JSON type, or an internal intent (`/EXTERNAL_appointment_tomorrow`). A text
   starting with "/" is let through only when it is the payload of a button the bot itself showed in
   this conversation's current session (or one of the few commands users may type, `/restart`);
   anything else gets a polite request to type in words. Button presses a channel knows as presses
   (WhatsApp's interactive replies, signed by Meta) carry payloads the bot sent, and are not checked.

3. Blank and control characters. A message of only spaces or invisible characters gets a request to
   type; control characters (NUL breaks PostgreSQL's text columns) are removed before Rasa sees a text.

The replies' wording lives in the domain (`utter_message_too_long`, `utter_payload_not_offered`,
`utter_message_empty`).
"""
from __future__ import annotations

import logging
import re
from typing import Any, Optional, Set

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4096
PAYLOAD_PREFIX = "/"
USER_COMMANDS = frozenset({"/restart"})
TOO_LONG_RESPONSE = "utter_message_too_long"
NOT_OFFERED_RESPONSE = "utter_payload_not_offered"
EMPTY_RESPONSE = "utter_message_empty"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INVISIBLE = " \t\r\n\u200b\u200c\u200d\u2060\ufeff\u00a0"
# How far back a conversation is searched for the buttons it showed (its current session only).
MAX_EVENTS_SEARCHED = 400

_FALLBACK_TEXTS = {  # only if the domain lacks the response (an old model): never an empty reply
    TOO_LONG_RESPONSE: "Mohon maaf, pesan Anda terlalu panjang. Silakan kirim pesan yang lebih singkat.",
    NOT_OFFERED_RESPONSE: "Mohon maaf, pesan tersebut tidak dapat kami proses. Silakan ketik pesan Anda.",
    EMPTY_RESPONSE: "Pesan Anda kosong. Silakan ketik pesan Anda.",
}


def cleaned(text: str) -> str:
    """The text Rasa may see: control characters removed (tabs and line breaks stay)."""
    return _CONTROL.sub("", text)


def response_text(agent: Any, name: str) -> str:
    """The first text variation of a domain response (the channel answers without Rasa's NLG)."""
    try:
        return str(agent.domain.responses[name][0]["text"])
    except (AttributeError, KeyError, IndexError, TypeError):
        return _FALLBACK_TEXTS.get(name, _FALLBACK_TEXTS[NOT_OFFERED_RESPONSE])


def is_too_long(text: str) -> bool:
    return len(text) > MAX_MESSAGE_CHARS


async def offered_payloads(agent: Any, sender_id: str) -> Set[str]:
    """The button payloads the bot showed in the conversation's current session."""
    tracker = await agent.tracker_store.retrieve(sender_id) if agent is not None else None
    if tracker is None:
        return set()
    payloads: Set[str] = set()
    for searched, event in enumerate(reversed(tracker.events)):
        kind = getattr(event, "type_name", "")
        if kind == "session_started" or searched >= MAX_EVENTS_SEARCHED:
            break
        if kind == "bot":
            for button in (event.data or {}).get("buttons") or []:
                if isinstance(button, dict) and isinstance(button.get("payload"), str):
                    payloads.add(button["payload"])
    return payloads


async def refusal(agent: Any, sender_id: str, text: str, typed: bool = True) -> Optional[str]:
    """The reply that stops `text` before Rasa, or None when it may go on. `typed`: the user typed it
    (False for a button press the channel itself vouches for)."""
    if not text.strip(_INVISIBLE):
        return response_text(agent, EMPTY_RESPONSE)
    if is_too_long(text):
        log.info("over-long message (%d characters) answered without the NLU", len(text),
                 extra={"event": "message_too_long"})
        return response_text(agent, TOO_LONG_RESPONSE)
    stripped = text.strip()
    if typed and stripped.startswith(PAYLOAD_PREFIX):
        if stripped in USER_COMMANDS or stripped in await offered_payloads(agent, sender_id):
            return None
        log.info("typed payload not offered by the bot: refused", extra={"event": "payload_refused"})
        return response_text(agent, NOT_OFFERED_RESPONSE)
    return None
