"""Pulling values out of what users type."""
from __future__ import annotations

import re
from typing import Optional

_SUBMISSION_REFERENCE = re.compile(r"\bNKS[\s-]?([A-HJ-NP-Z2-9]{8})\b", re.IGNORECASE)


def submission_reference(text: str) -> Optional[str]:
    """`nks-ab23cd45` or `NKS AB23CD45` -> `NKS-AB23CD45`."""
    match = _SUBMISSION_REFERENCE.search(text or "")
    return f"NKS-{match.group(1).upper()}" if match else None
