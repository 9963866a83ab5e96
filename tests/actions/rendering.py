"""What the Rasa server would say for an action's message: its response's text, filled in."""
from __future__ import annotations

import re

from tests.actions.conftest import full_rasa_domain

_PLACEHOLDER = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


def placeholders(response: str) -> set:
    """The template values every variation of a response uses."""
    texts = [variation.get("text") or "" for variation in full_rasa_domain()["responses"][response]]
    return {name for text in texts for name in _PLACEHOLDER.findall(text)}


def rendered(message: dict) -> str:
    """The first variation of the message's response with its values filled in; an unknown value stays
    `{name}` (as Rasa leaves it), so a test sees it."""
    if message.get("text"):
        return message["text"]
    text = full_rasa_domain()["responses"][message["response"]][0]["text"]
    return _PLACEHOLDER.sub(lambda m: str(message[m.group(1)]) if m.group(1) in message else m.group(0), text)
