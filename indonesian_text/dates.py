"""Indonesian dates as people type them: "15 Maret 1985", "15-03-1985", "20 jan", "besok", "lusa", "senin"."""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional

MONTHS = {
    "januari": 1, "jan": 1, "februari": 2, "pebruari": 2, "feb": 2, "maret": 3, "mar": 3, "april": 4, "apr": 4,
    "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "agustus": 8, "agu": 8, "agt": 8, "agus": 8,
    "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11, "nop": 11,
    "desember": 12, "des": 12,
}
MONTH_NAMES = ("", "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
               "Oktober", "November", "Desember")
DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
DAY_WORDS = {"senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "jum'at": 4, "sabtu": 5, "minggu": 6}
RELATIVE_DAYS = {"hari ini": 0, "besok": 1, "besuk": 1, "lusa": 2}

_MONTH_WORD = "|".join(sorted(MONTHS, key=len, reverse=True))
# Longest forms first: a full date with its year before a day and month without one.
DATE_PATTERNS = (
    ("iso", re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")),
    ("numeric_year", re.compile(r"(?<!\d)(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?![\d/.-])")),
    ("named_year", re.compile(rf"(?<!\d)(\d{{1,2}})\s+({_MONTH_WORD})\.?\s+(\d{{4}}|\d{{2}})(?!\d)", re.IGNORECASE)),
    ("named", re.compile(rf"(?<!\d)(\d{{1,2}})\s+({_MONTH_WORD})\b\.?", re.IGNORECASE)),
    ("numeric", re.compile(r"(?<![\d/.-])(\d{1,2})/(\d{1,2})(?![\d/])")),
    ("relative", re.compile(r"\b(hari ini|besok|besuk|lusa)\b", re.IGNORECASE)),
    # "minggu ini / depan / lalu" is a week, not Sunday.
    ("weekday", re.compile(r"\b(senin|selasa|rabu|kamis|jum'?at|sabtu|minggu(?!\s+(?:ini|depan|lalu|kemarin)\b))\b",
                           re.IGNORECASE)),
)


def full_year(year: int) -> int:
    """Two-digit years: the most recent past year with those digits (85 -> 1985, 03 -> 2003)."""
    if year >= 100:
        return year
    return year + (1900 if year > dt.date.today().year % 100 else 2000)


def safe_date(year: int, month: int, day: int) -> Optional[dt.date]:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def next_occurrence(month: int, day: int, today: dt.date) -> Optional[dt.date]:
    """A day and month without a year: today or the next time it comes round."""
    for year in (today.year, today.year + 1):
        candidate = safe_date(year, month, day)
        if candidate is None:
            return None
        if candidate >= today:
            return candidate
    return None


def next_weekday(weekday: int, today: dt.date) -> dt.date:
    """"senin" said on a Monday means next Monday: a day name always points forward."""
    return today + dt.timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def date_from_match(kind: str, match: re.Match, today: dt.date) -> Optional[dt.date]:
    """The date one of DATE_PATTERNS matched."""
    groups = match.groups()
    if kind == "iso":
        return safe_date(int(groups[0]), int(groups[1]), int(groups[2]))
    if kind == "numeric_year":
        return safe_date(full_year(int(groups[2])), int(groups[1]), int(groups[0]))
    if kind == "named_year":
        return safe_date(full_year(int(groups[2])), MONTHS[groups[1].lower()], int(groups[0]))
    if kind == "named":
        return next_occurrence(MONTHS[groups[1].lower()], int(groups[0]), today)
    if kind == "numeric":
        return next_occurrence(int(groups[1]), int(groups[0]), today)
    if kind == "relative":
        return today + dt.timedelta(days=RELATIVE_DAYS[groups[0].lower()])
    return next_weekday(DAY_WORDS[groups[0].lower()], today)


# Only where a birth date is asked for: "15 03 1985" (in free text, spaced digits are more often a code).
_SPACED_NUMERIC_WITH_YEAR = re.compile(r"(?<!\d)(\d{1,2})\s(\d{1,2})\s(\d{4}|\d{2})(?!\d)")


def birth_date(text: str) -> Optional[dt.date]:
    """`15-03-1985`, `15/3/1985`, `15 Maret 1985`, `15 mar 85`, `1985-03-15` -> date(1985, 3, 15)."""
    text = (text or "").strip()
    for kind, pattern in (*DATE_PATTERNS[:3], ("numeric_year", _SPACED_NUMERIC_WITH_YEAR)):
        match = pattern.search(text)
        if match:
            return date_from_match(kind, match, dt.date.today())
    return None


def mentioned_date(text: str, today: dt.date) -> Optional[dt.date]:
    """A date in a schedule choice: "20 Januari", "20/1", "besok", "lusa", "hari senin"."""
    text = text or ""
    for kind, pattern in DATE_PATTERNS[3:]:
        match = pattern.search(text)
        if match:
            return date_from_match(kind, match, today)
    return None


def indonesian_date(value: dt.date) -> str:
    """date(2021, 1, 25) -> "Senin, 25 Januari 2021"."""
    return f"{DAY_NAMES[value.weekday()]}, {value.day} {MONTH_NAMES[value.month]} {value.year}"


def today_in_indonesia() -> dt.date:
    """Today in Western Indonesian Time, where the programme's dates are set."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Asia/Jakarta")).date()
