"""Sealed slot values: personal data that must survive between turns but not be readable in the
tracker store (NIK digits, phone numbers, the verification token).

The Rasa server's RedactingTrackerStore keeps `enc:` values and hides every other value of the
sensitive slots; only the action server holds the key (SLOT_SEALING_KEY).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import os
from typing import Any, Optional

from cryptography.fernet import Fernet, InvalidToken

SEALED_PREFIX = "enc:"


@functools.lru_cache(maxsize=None)
def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def _key() -> Fernet:
    return _fernet(os.environ.get("SLOT_SEALING_KEY", "").strip() or "dev-slot-sealing-key")


def seal(value: str) -> str:
    return SEALED_PREFIX + _key().encrypt(value.encode()).decode()


def unseal(value: Any) -> Optional[str]:
    """The clear value of a sealed slot; None for anything else (absent, redacted, tampered)."""
    if not isinstance(value, str) or not value.startswith(SEALED_PREFIX):
        return None
    try:
        return _key().decrypt(value[len(SEALED_PREFIX):].encode()).decode()
    except InvalidToken:
        return None
