"""The values a user supplies in a chat message, found by rule: NIK digits, phone numbers, OTP codes,
dates, names, menu numbers, submission references and (from a lookup table) professions.

    >>> [(e.entity, e.value) for e in find_entities("nik saya 3171 0553 0690 0012", TODAY)]
    [('nik', '3171055306900012')]

Each value is normalized (digits only, E.164 phone numbers, ISO dates, `NKS-XXXXXXXX`) so the
dialogue never re-parses it. Six digits alone are ambiguous (the last 6 NIK digits or an OTP code):
they are `nik_suffix` or `otp_code` only when the message says which, otherwise `number`, and the
question the bot asked decides. Rules rather than a learned model: these values have a fixed shape,
the rules are exact and cost well under a millisecond, and trainers cannot mislabel them.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import phonenumbers

from indonesian_text.dates import DATE_PATTERNS, date_from_match
from indonesian_text.digits import DigitRun, digit_runs as _all_digit_runs


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str
    start: int
    end: int


# NKS-… a missing health worker's submission, REC-… a lost number's recovery request.
SUBMISSION_REFERENCE = re.compile(r"\b(NKS|REC)[\s-]?([A-HJ-NP-Z2-9]{8})\b", re.IGNORECASE)
OTP_WORDS = re.compile(r"\b(otp|kode|kodenya|code|verifikasi|token)\b", re.IGNORECASE)
NIK_WORDS = re.compile(r"\b(nik|ktp|nomor induk|digit|belakang|belakangnya|terakhir)\b", re.IGNORECASE)
OPTION = re.compile(r"^\s*(?:(?:no|nomor|nomer|pilih|pilihan|opsi|angka|yang|yg)\.?\s*)*(?:ke\s*-?\s*)?(\d{1,2})\s*[.)]?\s*"
                    r"(?:aja|saja|ya|min|kak|dong)?\s*[.!]?\s*$", re.IGNORECASE)

_NAME_TRIGGER = re.compile(
    r"\b(?:nama\s+(?:lengkap\s+)?(?:saya|aku|sy|ku)|namaku|nama\s*:|atas\s+nama|namanya|nama\s+baru(?:nya)?"
    r"|nama\s+yang\s+benar|(?:ganti|ubah|diganti|diubah|koreksi)\s+(?:nama\s+)?(?:saya\s+)?(?:menjadi|jadi|ke)"
    r"|seharusnya|harusnya|yang\s+benar)\s*(?:adalah|ialah|:)?\s*", re.IGNORECASE)
_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'’`.\-]*")
_NOT_A_NAME = frozenset("""
    dan atau tapi tetapi namun mau ingin tolong mohon ya yah min kak gan sis bu pak bang di ke dari yang untuk
    karena soalnya terima kasih makasih sudah udah belum bukan tidak salah benar betul tertulis sertifikat
    saya aku kami dengan nik nomor no hp sama adalah ini itu bisa dapat dapet sih kok kan gimana bagaimana
    kenapa kapan besok lusa hari jam pagi siang sore malam sekarang nanti lagi juga masih pakai pake
""".split())
_TITLES = frozenset({"dr", "dr.", "drg", "drg.", "hj", "hj.", "h", "h.", "ir", "ir.", "ns", "ns.", "bd", "bd."})
_MAX_NAME_WORDS = 6


def find_entities(text: str, today: dt.date, lookups: Optional[Dict[str, Sequence[str]]] = None) -> List[Entity]:
    """Every value found in `text`, left to right; a span is never claimed by two entities."""
    found: List[Entity] = []
    claimed: List[Tuple[int, int]] = []

    def add(entity: str, value: str, start: int, end: int) -> None:
        if not any(start < other_end and other_start < end for other_start, other_end in claimed):
            found.append(Entity(entity, value, start, end))
            claimed.append((start, end))

    for match in SUBMISSION_REFERENCE.finditer(text):
        add("submission_reference", f"{match.group(1).upper()}-{match.group(2).upper()}", match.start(), match.end())
    # Digits with the separators people type between groups ("3171 0553 0690 0012", "0812 - 3456 - 7890"):
    # the same rule the privacy redaction hides them with.
    digit_runs = _all_digit_runs(text)
    for start, end, digits, plus in digit_runs:
        if len(digits) == 16 and not plus:
            add("nik", digits, start, end)
    for start, end, number in _phone_numbers(digit_runs):
        add("phone_number", number, start, end)
    for kind, pattern in DATE_PATTERNS:
        for match in pattern.finditer(text):
            value = date_from_match(kind, match, today)
            if value is not None:
                add("date", value.isoformat(), match.start(), match.end())
    _find_codes(text, digit_runs, add)
    option = OPTION.match(text)
    if option and not found:
        add("option_number", str(int(option.group(1))), option.start(1), option.end(1))
    for name_match in _names(text):
        add("person_name", *name_match)
    for entity, elements in (lookups or {}).items():
        for start, end, value in _lookup_matches(text, elements):
            add(entity, value, start, end)
    return sorted(found, key=lambda e: e.start)


def _phone_numbers(digit_runs: Sequence[DigitRun]) -> Iterable[Tuple[int, int, str]]:
    """Indonesian mobile numbers in any usual spelling (0812…, +62 812…, 62812…), as E.164."""
    for start, end, digits, _plus in digit_runs:
        if not 9 <= len(digits) <= 15:
            continue
        candidate = "+" + digits if digits.startswith("62") else digits
        try:
            number = phonenumbers.parse(candidate, "ID")
        except phonenumbers.NumberParseException:
            continue
        if (phonenumbers.is_valid_number(number)
                and phonenumbers.number_type(number) in (phonenumbers.PhoneNumberType.MOBILE,
                                                         phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)):
            yield start, end, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _find_codes(text: str, digit_runs: Sequence[DigitRun], add) -> None:
    """Digit runs of 4-8 digits: an OTP code or NIK digits when the message says so, else a number."""
    for start, end, digits, _plus in digit_runs:
        if not 4 <= len(digits) <= 8:
            continue
        if OTP_WORDS.search(text):
            add("otp_code", digits, start, end)
        elif len(digits) == 6 and NIK_WORDS.search(text):
            add("nik_suffix", digits, start, end)
        else:
            add("number", digits, start, end)


def _names(text: str) -> Iterable[Tuple[str, int, int]]:
    """A name after "nama saya", "atas nama", "ganti jadi", "seharusnya" …: up to six name words."""
    for trigger in _NAME_TRIGGER.finditer(text):
        words: List[re.Match] = []
        position = trigger.end()
        for word in _NAME_WORD.finditer(text, position):
            between = text[position:word.start()]
            if between.strip() or (words and len(between) > 2):
                break  # punctuation or a line break ends the name
            if word.group(0).lower().rstrip(".") in _NOT_A_NAME or len(words) == _MAX_NAME_WORDS:
                break
            words.append(word)
            position = word.end()
        while words and words[-1].group(0).lower() in _TITLES:
            words.pop()
        if words and any(w.group(0).lower() not in _TITLES for w in words):
            start, end = words[0].start(), words[-1].end()
            yield " ".join(w.group(0) for w in words).strip(".-'"), start, end


def _lookup_matches(text: str, elements: Sequence[str]) -> Iterable[Tuple[int, int, str]]:
    """Whole-word, case-insensitive matches of a lookup table, longest element first."""
    lowered = text.lower()
    for element in sorted(elements, key=len, reverse=True):
        for match in re.finditer(rf"(?<!\w){re.escape(element.lower())}(?!\w)", lowered):
            yield match.start(), match.end(), text[match.start():match.end()]
