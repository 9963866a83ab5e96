"""Masking of personal data (PDP law): what may be shown to users and written to logs."""
from __future__ import annotations

import logging
import re

_LONG_DIGITS = re.compile(r"(?<!\d)(\+?\d[\d \-]{7,}\d)(?!\d)")
_SIX_DIGITS = re.compile(r"(?<!\d)\d{6}(?!\d)")


def mask_nik(nik: str, visible: int = 4) -> str:
    """`3171234567890001` -> `************0001`: only the last digits stay readable."""
    digits = (nik or "").strip()
    return "*" * max(len(digits) - visible, 0) + digits[-visible:]


def mask_phone(phone: str) -> str:
    """`+6281234567890` -> `+62812*****890`."""
    phone = (phone or "").strip()
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:6] + "*" * (len(phone) - 9) + phone[-3:]


def mask_name(name: str) -> str:
    """`Siti Rahmawati` -> `S*** R*********` (for audit entries)."""
    return " ".join(word[:1] + "*" * (len(word) - 1) for word in (name or "").split())


def redact_text(text: str) -> str:
    """Safety net for free text in logs: hides long digit runs (NIK, phone) and 6-digit codes."""
    text = _LONG_DIGITS.sub(lambda m: "[redacted-number]", text)
    return _SIX_DIGITS.sub("[redacted-code]", text)


class RedactingFilter(logging.Filter):
    """Attached to every log handler: personal data that slipped into a message is hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
