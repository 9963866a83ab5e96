"""Identity rules shared by both services: NIK structure, phone numbers and names.

Plain Python, no I/O: unit-tested in tests/unit/test_identity.py.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Optional

import phonenumbers

# Province codes of the Ministry of Home Affairs (Kemendagri), the first two NIK digits.
# 91-96 cover Papua before and after the 2022 split (older NIKs use the BPS codes 91/94).
PROVINCE_CODES = {
    "11": "Aceh", "12": "Sumatera Utara", "13": "Sumatera Barat", "14": "Riau", "15": "Jambi",
    "16": "Sumatera Selatan", "17": "Bengkulu", "18": "Lampung", "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau", "31": "DKI Jakarta", "32": "Jawa Barat", "33": "Jawa Tengah",
    "34": "DI Yogyakarta", "35": "Jawa Timur", "36": "Banten", "51": "Bali",
    "52": "Nusa Tenggara Barat", "53": "Nusa Tenggara Timur", "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah", "63": "Kalimantan Selatan", "64": "Kalimantan Timur",
    "65": "Kalimantan Utara", "71": "Sulawesi Utara", "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan", "74": "Sulawesi Tenggara", "75": "Gorontalo", "76": "Sulawesi Barat",
    "81": "Maluku", "82": "Maluku Utara", "91": "Papua", "92": "Papua Barat",
    "93": "Papua Selatan", "94": "Papua Tengah", "95": "Papua Pegunungan", "96": "Papua Barat Daya",
}

NIK_LENGTH = 16
NIK_SUFFIX_LENGTH = 6
_SEPARATORS = re.compile(r"[\s.\-]")


class InvalidIdentity(ValueError):
    """A value that breaks an identity rule; `reason` is a stable machine-readable code, `data` the
    numbers a client needs to word it (the assistant's words: domain/backend_errors.yml), and the
    exception's text an English detail for developers."""

    def __init__(self, reason: str, detail: str, **data):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.data = data


@dataclass(frozen=True)
class NikInfo:
    nik: str
    province: str
    birth_date: dt.date
    sex: str  # "L" (laki-laki) or "P" (perempuan)


def strip_separators(raw: str) -> str:
    return _SEPARATORS.sub("", raw or "")


def parse_nik(raw: str, today: Optional[dt.date] = None) -> NikInfo:
    """Validates a full 16-digit NIK: province code, then DDMMYY birth date (women: day + 40)."""
    nik = strip_separators(raw)
    if not nik.isdigit():
        raise InvalidIdentity("nik_not_digits", "A NIK has digits only.")
    if len(nik) != NIK_LENGTH:
        raise InvalidIdentity("nik_length", f"A NIK has {NIK_LENGTH} digits, not {len(nik)}.",
                              length=len(nik))
    if nik[:2] not in PROVINCE_CODES:
        raise InvalidIdentity("nik_province", "The first two digits are not a province code.")
    if nik[2:4] == "00" or nik[4:6] == "00":
        raise InvalidIdentity("nik_region", "The regency or district code is not valid.")
    if nik[12:] == "0000":
        raise InvalidIdentity("nik_serial", "The serial number is not valid.")
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = "L"
    if day > 40:
        day, sex = day - 40, "P"
    birth_date = _birth_date(day, month, year, today or dt.date.today())
    if birth_date is None:
        raise InvalidIdentity("nik_birth_date", "Digits 7-12 are not a birth date.")
    return NikInfo(nik=nik, province=PROVINCE_CODES[nik[:2]], birth_date=birth_date, sex=sex)


def _birth_date(day: int, month: int, two_digit_year: int, today: dt.date) -> Optional[dt.date]:
    century = 2000 if 2000 + two_digit_year <= today.year else 1900
    try:
        born = dt.date(century + two_digit_year, month, day)
    except ValueError:
        return None
    return born if born <= today else None


def parse_nik_suffix(raw: str) -> str:
    """The last 6 digits of a NIK as a health worker types them (spaces or dashes allowed)."""
    digits = strip_separators(raw)
    if not digits.isdigit():
        raise InvalidIdentity("suffix_not_digits", "Digits only, no letters or symbols.")
    if len(digits) == NIK_LENGTH:
        raise InvalidIdentity("suffix_full_nik", "The last 6 digits, not the whole NIK.")
    if len(digits) != NIK_SUFFIX_LENGTH:
        raise InvalidIdentity(
            "suffix_length", f"The last 6 digits of the NIK, not {len(digits)}.",
            length=len(digits))
    return digits


def normalize_phone(raw: str) -> str:
    """An Indonesian mobile number (08…, +62…, 62…, with spaces or dashes) in E.164 form."""
    text = (raw or "").strip()
    compact = strip_separators(text).replace("(", "").replace(")", "")
    if compact.startswith("62"):
        compact = "+" + compact
    try:
        number = phonenumbers.parse(compact, "ID")
    except phonenumbers.NumberParseException:
        raise InvalidIdentity("phone_format", "Not a phone number.")
    if number.country_code != 62 or not phonenumbers.is_valid_number(number):
        raise InvalidIdentity("phone_invalid", "Not an Indonesian phone number.")
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise InvalidIdentity("phone_not_mobile", "A landline, not a mobile number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


NAME_MIN, NAME_MAX = 2, 100
_NAME_PUNCTUATION = set(" .'-")


def normalize_name(raw: str) -> str:
    """A person's name as on the KTP: letters, spaces and . ' - only, 2-100 characters."""
    name = " ".join((raw or "").split())
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise InvalidIdentity("name_length", f"A name has {NAME_MIN} to {NAME_MAX} characters.",
                              min=NAME_MIN, max=NAME_MAX)
    if not all(ch.isalpha() or ch in _NAME_PUNCTUATION for ch in name):
        raise InvalidIdentity("name_characters", "Letters, spaces, dots, apostrophes and hyphens only.")
    if sum(ch.isalpha() for ch in name) < NAME_MIN:
        raise InvalidIdentity("name_letters", "A name needs letters.")
    return name
