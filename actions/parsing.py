"""Pulling values out of what users type (yes/no, dates, list choices, reference numbers)."""
from __future__ import annotations

import datetime as dt
import re
from typing import List, Optional, Sequence

# Dates live in indonesian_text, shared with the NLU pipeline; re-exported for the actions.
from indonesian_text.dates import (  # noqa: F401
    MONTHS, birth_date, indonesian_date, mentioned_date, today_in_indonesia,
)
from indonesian_text.digits import digit_runs, only_digits, single_code  # noqa: F401
from indonesian_text.entities import SUBMISSION_REFERENCE


_YES = {"ya", "iya", "iyaa", "y", "yes", "betul", "benar", "bener", "ok", "oke", "okay", "sip", "setuju", "boleh",
        "yup", "yoi", "siap", "lanjut", "pernah", "ada", "sedang", "lagi", "sudah", "udah", "punya"}
_NO = {"tidak", "tdk", "tak", "gak", "ga", "nggak", "ngga", "enggak", "engga", "gk", "g", "no", "nope", "bukan",
       "belum", "blm", "nda", "ndak", "jangan", "salah", "kagak"}


def entity_texts(latest_message: dict, entity: str) -> List[str]:
    """The values of `entity` in the latest message that are text, as the NLU's extractor makes them.
    Anything else (a number or an object typed as `/intent{"entity": ...}`) is not a value."""
    entities = latest_message.get("entities") if isinstance(latest_message, dict) else None
    return [e["value"] for e in entities or [] if isinstance(e, dict) and e.get("entity") == entity
            and isinstance(e.get("value"), str) and 0 < len(e["value"]) <= 200]


def submission_reference(text: str) -> Optional[str]:
    """`nks-ab23cd45` or `NKS AB23CD45` -> `NKS-AB23CD45`; `rec ab23cd45` -> `REC-AB23CD45`."""
    match = SUBMISSION_REFERENCE.search(text if isinstance(text, str) else "")
    return f"{match.group(1).upper()}-{match.group(2).upper()}" if match else None


def iso_date(text: Optional[str]) -> Optional["dt.date"]:
    try:
        return dt.date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


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
    """A 1-based menu choice: "2", "nomor 2", "saya pilih 2 min", "yang ke-2", "yang kedua", "terakhir".
    A number inside other words ("tgl 4 desember") is not a choice (indonesian_text/choices.py)."""
    from indonesian_text.choices import option_number

    return option_number(text if isinstance(text, str) else "", options)


# Longest phone number as people type it ("+62 812 - 3456 - 7890"); a longer answer is a sentence.
MAX_PHONE_TEXT = 30


def typed_phone(latest_message: dict, answer: str) -> Optional[str]:
    """The phone number in the user's answer: the NLU's `phone_number` entity (E.164) when it found
    exactly one, else the one digit run of a short answer (the backend checks it), else None: a
    sentence without a recognisable mobile number. Runs are read with the rule the redaction uses."""
    found = set(entity_texts(latest_message, "phone_number"))
    if len(found) == 1:
        return found.pop()
    answer = answer if isinstance(answer, str) else ""
    runs = digit_runs(answer)
    if len(answer.strip()) > MAX_PHONE_TEXT or len(runs) != 1:
        return None
    return ("+" if runs[0].plus else "") + runs[0].digits


# "saya lupa no hp yg didaftarkan", "hp saya hilang", "nomornya udah mati", "kartu sim ilang min":
# a number (or the phone, the SIM card) together with a word saying it is lost, forgotten or dead, in
# any order and in the informal spellings people type.
_LOST_SUBJECT = re.compile(r"\b(no|nomor\w*|nomer\w*|nmr|nmor|hp\w*|handphone|henpon|ponsel|kartu\w*|sim\w*|"
                           r"simcard|akun)\b", re.IGNORECASE)
_LOST_STATE = re.compile(
    r"\b(hilang|ilang\w*|hilng|ilng|lupa\w*|lali|(ga|gak|nggak|ngga|enggak|tidak|tdk|tak|ndak|gk|g)\s*(inget|ingat|"
    r"ingt|aktif|aktip|bisa dipake|bisa dipakai|dipakai|dipake)|mati\w*|nonaktif|non aktif|hangus|"
    r"dicuri|kecurian|dicopet|kecopetan|dijambret|rusak|diblokir|terblokir|keblokir|sudah ganti|udah ganti|"
    r"udh ganti|dah ganti|tidak dipakai lagi|ga dipake lagi)\b", re.IGNORECASE)


def says_number_is_lost(text: str) -> bool:
    """The user says the registered number is lost, forgotten or no longer works (so a code sent to it
    can never arrive), rather than typing a number or a code."""
    words = text if isinstance(text, str) else ""
    return bool(_LOST_SUBJECT.search(words) and _LOST_STATE.search(words))
