"""Sealed slot values: personal data that must survive between turns but not be readable in the
tracker store (NIK digits, birth date, phone numbers, names, the verification token).

The Rasa server's tracker store keeps sealed values and redacts every slot value that is not declared
safe (privacy/slots.py); only the action server holds the key (SLOT_SEALING_KEY). A sealed value is
bound to the conversation and the slot it was sealed for: copied into another conversation or
another slot, it unseals to nothing.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from typing import Any, Optional

from cryptography.fernet import Fernet, InvalidToken
from rasa_sdk import Tracker

from privacy.slots import SEALED_PREFIX, SEALED_SLOTS


@functools.lru_cache(maxsize=None)
def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def _key() -> Fernet:
    return _fernet(os.environ.get("SLOT_SEALING_KEY", "").strip() or "dev-slot-sealing-key")


def seal(tracker: Tracker, slot: str, value: Any) -> str:
    """The value of `slot`, readable only by this action server and only in this conversation."""
    if slot not in SEALED_SLOTS:
        raise KeyError(f"{slot} is not declared in privacy.slots.SEALED_SLOTS")
    body = json.dumps({"c": tracker.sender_id, "s": slot, "v": value}, separators=(",", ":"))
    return SEALED_PREFIX + _key().encrypt(body.encode()).decode()


def unseal(tracker: Tracker, slot: str, value: Any = None) -> Any:
    """The clear value of `slot` (or of `value` as if it were that slot's); None for anything else:
    absent, redacted, tampered, or sealed for another conversation or slot."""
    value = tracker.get_slot(slot) if value is None else value
    if not isinstance(value, str) or not value.startswith(SEALED_PREFIX):
        return None
    try:
        body = json.loads(_key().decrypt(value[len(SEALED_PREFIX):].encode()))
    except (InvalidToken, ValueError):
        return None
    if not isinstance(body, dict) or body.get("c") != tracker.sender_id or body.get("s") != slot:
        return None
    return body.get("v")


def unsealed_text(tracker: Tracker, slot: str) -> Optional[str]:
    value = unseal(tracker, slot)
    return value if isinstance(value, str) else None
