"""Hiding personal numbers in free text: stored user messages and log records.

A number is found with the digit-run rule the assistant itself reads values with
(`indonesian_text.digits`), so whatever spelling the bot accepts as a NIK, phone number or code —
"0812 - 3456 - 7890", "3171  0553  0690  0012", "123 - 456" — is hidden too. Runs of 5-8 digits (OTP
codes, NIK digits, birth dates) are hidden entirely; longer runs (NIKs, phone numbers) keep their last
4 digits, as the masked NIK on a ticket does. Shorter runs (a menu number, a time, a year) stay.
"""
from __future__ import annotations

import re
from typing import Any

from indonesian_text.digits import hideable_runs

MIN_HIDDEN_DIGITS = 5
_VISIBLE_TAIL = 4
# In log records only: an ISO date or time stamp, an IPv4 address and Meta's error codes
# ("error code 131047") are operational, not personal.
_LOG_KEEP = re.compile(r"\b(?:\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?|\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?)\b"
                       r"|(?<=error code )\d{3,6}\b|(?<=subcode )\d{3,7}\b")


def _masked(digits: str) -> str:
    if len(digits) <= 8:
        return "*" * len(digits)
    return "*" * (len(digits) - _VISIBLE_TAIL) + digits[-_VISIBLE_TAIL:]


def hide_numbers(text: Any, for_logs: bool = False) -> Any:
    """`text` with every personal-looking number masked; anything that is not a string is returned as is."""
    if not isinstance(text, str) or not any(ch.isdigit() for ch in text):
        return text
    kept = [m.span() for m in _LOG_KEEP.finditer(text)] if for_logs else []
    pieces, position = [], 0
    for run in hideable_runs(text):
        if len(run.digits) < MIN_HIDDEN_DIGITS or any(start <= run.start and run.end <= end for start, end in kept):
            continue
        if len(run.digits) == MIN_HIDDEN_DIGITS and text[run.end:run.end + 1] == "*":
            continue  # the visible head of a masked phone number (+62812*****890)
        pieces.append(text[position:run.start])
        pieces.append(_masked(run.digits))
        position = run.end
    if not pieces:
        return text
    pieces.append(text[position:])
    return "".join(pieces)
