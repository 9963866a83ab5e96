"""Pulling values out of what users type (yes/no, dates, list choices, reference numbers)."""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional, Sequence

_SUBMISSION_REFERENCE = re.compile(r"\bNKS[\s-]?([A-HJ-NP-Z2-9]{8})\b", re.IGNORECASE)

MONTHS = {
    "januari": 1, "jan": 1, "februari": 2, "pebruari": 2, "feb": 2, "maret": 3, "mar": 3, "april": 4, "apr": 4,
    "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "agustus": 8, "agu": 8, "agt": 8, "agus": 8,
    "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11, "nop": 11,
    "desember": 12, "des": 12,
}
MONTH_NAMES = ("", "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
               "Oktober", "November", "Desember")
DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
_DAY_WORDS = {"senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "jum'at": 4, "sabtu": 5, "minggu": 6}

_YES = {"ya", "iya", "iyaa", "y", "yes", "betul", "benar", "bener", "ok", "oke", "okay", "sip", "setuju", "boleh",
        "yup", "yoi", "siap", "lanjut", "pernah", "ada", "sedang", "lagi", "sudah", "udah", "punya"}
_NO = {"tidak", "tdk", "tak", "gak", "ga", "nggak", "ngga", "enggak", "engga", "gk", "g", "no", "nope", "bukan",
       "belum", "blm", "nda", "ndak", "jangan", "salah", "kagak"}


def submission_reference(text: str) -> Optional[str]:
    """`nks-ab23cd45` or `NKS AB23CD45` -> `NKS-AB23CD45`."""
    match = _SUBMISSION_REFERENCE.search(text or "")
    return f"NKS-{match.group(1).upper()}" if match else None


def yes_or_no(text: str, intent: Optional[str] = None) -> Optional[bool]:
    """True/False for a yes/no answer in any phrasing, None when it is neither.

    The NLU intent decides when it is affirm/deny; otherwise the first word that is a clear
    yes or no does ("gak ada", "iya lagi hamil", "tdk pernah").
    """
    if intent == "affirm":
        return True
    if intent == "deny":
        return False
    for word in re.findall(r"[a-z']+", (text or "").lower()):
        if word in _NO:
            return False
        if word in _YES:
            return True
    return None


def choice_number(text: str, options: int) -> Optional[int]:
    """A 1-based menu choice typed as "2", "no 2", "nomor 2", "yang ke-2" -> 2."""
    numbers = re.findall(r"\d+", text or "")
    if len(numbers) != 1 or len(re.sub(r"\D", "", text)) > 2:
        return None
    value = int(numbers[0])
    return value if 1 <= value <= options else None


def birth_date(text: str) -> Optional[dt.date]:
    """`15-03-1985`, `15/3/1985`, `15 Maret 1985`, `15 mar 85` -> date(1985, 3, 15)."""
    text = (text or "").lower().strip()
    numeric = re.search(r"\b(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{2}|\d{4})\b", text)
    named = re.search(r"\b(\d{1,2})\s+([a-z]+)\s+(\d{2}|\d{4})\b", text)
    if numeric:
        day, month, year = int(numeric.group(1)), int(numeric.group(2)), int(numeric.group(3))
    elif named and named.group(2) in MONTHS:
        day, month, year = int(named.group(1)), MONTHS[named.group(2)], int(named.group(3))
    else:
        return None
    if year < 100:
        year += 1900 if year > dt.date.today().year % 100 else 2000
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def mentioned_date(text: str, today: dt.date) -> Optional[dt.date]:
    """A date in a schedule choice: "20 Januari", "20/1", "besok", "lusa", "hari senin"."""
    text = (text or "").lower()
    if "lusa" in text:
        return today + dt.timedelta(days=2)
    if "besok" in text:
        return today + dt.timedelta(days=1)
    named = re.search(r"\b(\d{1,2})\s+([a-z]+)", text)
    numeric = re.search(r"\b(\d{1,2})[-/](\d{1,2})\b", text)
    day = month = None
    if named and named.group(2) in MONTHS:
        day, month = int(named.group(1)), MONTHS[named.group(2)]
    elif numeric:
        day, month = int(numeric.group(1)), int(numeric.group(2))
    if day is not None:
        for year in (today.year, today.year + 1):
            try:
                candidate = dt.date(year, month, day)
            except ValueError:
                return None
            if candidate >= today:
                return candidate
        return None
    for word, weekday in _DAY_WORDS.items():
        if re.search(rf"\b{word}\b", text):
            return today + dt.timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    return None


def mentioned_session(text: str, sessions: Sequence[str]) -> Optional[str]:
    words = set(re.findall(r"[a-z]+", (text or "").lower()))
    found = [s for s in sessions if s in words]
    return found[0] if len(found) == 1 else None


def indonesian_date(value: dt.date) -> str:
    """date(2021, 1, 25) -> "Senin, 25 Januari 2021"."""
    return f"{DAY_NAMES[value.weekday()]}, {value.day} {MONTH_NAMES[value.month]} {value.year}"


def only_digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


def today_in_indonesia() -> dt.date:
    """Today in Western Indonesian Time, where the programme's dates are set."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Asia/Jakarta")).date()
