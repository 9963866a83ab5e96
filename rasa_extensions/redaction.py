"""What of a conversation may be persisted: personal data is redacted before a tracker is saved.

Rasa keeps every user message verbatim. Under Indonesia's PDP law the stored conversation must
not contain an OTP, a full NIK or a full phone number, so before saving:
- user texts (and their parse data) lose every digit run of 5 or more digits: runs of 5-8 digits
  (OTP codes, NIK digits) are hidden entirely, longer ones (NIK, phone) keep their last 4;
- slots that carry such values keep only sealed values (`enc:`, encrypted by the action server
  with a key the Rasa server never sees); any other value they had is hidden.
Plain functions on event dicts; unit-tested in tests/unit/test_redaction.py.
"""
from __future__ import annotations

import re
from typing import Any, Dict

SEALED_PREFIX = "enc:"
SENSITIVE_SLOTS = frozenset({
    "nik_suffix", "birth_date", "submission_nik", "submission_phone",
    "pl_phone", "pl_otp", "pl_token", "pl_new_phone", "pl_new_phone_otp",
})
REDACTED = "[disamarkan]"
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s.\-]?\d)+")


def redact_text(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    return _DIGIT_RUN.sub(_mask_run, text)


def _mask_run(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if len(digits) < 5:
        return match.group(0)
    if len(digits) <= 8:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def redact_slot_value(name: str, value: Any) -> Any:
    if name not in SENSITIVE_SLOTS or value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.startswith(SEALED_PREFIX):
        return value
    return REDACTED


def redact_event(event: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of one serialized Rasa event with personal data removed."""
    kind = event.get("event")
    if kind == "user":
        event = dict(event, text=redact_text(event.get("text")))
        parse_data = event.get("parse_data")
        if isinstance(parse_data, dict):
            event["parse_data"] = _redacted_parse_data(parse_data)
        return event
    if kind == "slot":
        return dict(event, value=redact_slot_value(event.get("name", ""), event.get("value")))
    return event


def _redacted_parse_data(parse_data: Dict[str, Any]) -> Dict[str, Any]:
    redacted = dict(parse_data, text=redact_text(parse_data.get("text")))
    redacted["entities"] = [dict(e, value=redact_text(e.get("value")), text=redact_text(e.get("text")))
                            for e in parse_data.get("entities") or []]
    return redacted
