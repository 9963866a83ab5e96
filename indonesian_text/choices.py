"""Which of the offered options a message means: "2", "nomor 2", "yang kedua", "yang terakhir", and for
schedules "tgl 7 desember siang", "tanggal 9 pagi aja", "besok", "senin sore", "jam 9".

A number is an option number only when the message is just that number or says so ("nomor 2",
"pilih 3", "yang ke-2"); a day of the month ("tgl 7"), a date ("7 desember", "7/12"), a weekday,
"besok/lusa", a session word or an hour each mean what they say, and they narrow the offered options
together. The answer is one option, or the options the message could mean (the caller asks back with
those), or none.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from indonesian_text.dates import DATE_PATTERNS, date_from_match
from indonesian_text.entities import OPTION

ORDINALS = {"pertama": 1, "kesatu": 1, "kedua": 2, "ketiga": 3, "keempat": 4, "kelima": 5, "keenam": 6,
            "ketujuh": 7, "kedelapan": 8, "kesembilan": 9, "kesepuluh": 10}
NUMBER_WORDS = {"satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7, "delapan": 8,
                "sembilan": 9, "sepuluh": 10}
_FIRST = re.compile(r"\b(?:paling\s+(?:awal|cepat|dekat)|secepatnya|(?:yang|yg)\s+(?:awal|duluan))\b")
_LAST = re.compile(r"\b(?:terakhir|paling\s+akhir)\b")
_ORDINAL = re.compile(r"\b(" + "|".join(ORDINALS) + r")\b")
_NUMBER_WORD_OPTION = re.compile(r"^\s*(?:(?:no|nomor|nomer|pilih|pilihan|opsi|yang|yg)\.?\s+)+(?:ke\s*-?\s*)?("
                                 + "|".join(NUMBER_WORDS) + r")\b")
_DAY_ONLY = re.compile(r"\b(?:tgl|tggl|tanggal|tangal|tg)\.?\s*(\d{1,2})\b(?!\s*[-/.]\s*\d)")
_HOUR = re.compile(r"\b(?:jam|pukul|pkl)\.?\s*(\d{1,2})(?:[.:]\d{2})?\b")
SESSION_WORDS = {"pagi": "pagi", "siang": "siang", "sore": "siang"}


@dataclass(frozen=True)
class Option:
    date: Optional[dt.date] = None
    session: Optional[str] = None


@dataclass
class Choice:
    """1-based option numbers: `picked` when the message means one option, else `candidates` it could mean."""

    picked: Optional[int] = None
    candidates: List[int] = field(default_factory=list)
    mentioned_date: bool = False

    @property
    def is_ambiguous(self) -> bool:
        return self.picked is None and len(self.candidates) > 1


def _words(text: str) -> str:
    return " ".join((text or "").lower().split())


_POLITE_HEAD = re.compile(r"^(?:(?:saya|sy|aku|ak|mau|mo|minta|ok|oke|baik)\s+)+")


def option_number(text: str, options: int) -> Optional[int]:
    """The option the message names by number or ordinal, or None; out of range is None.
    "2", "nomor 2", "saya pilih 2 min", "yang kedua" name one; "tgl 4 desember" does not."""
    text = _POLITE_HEAD.sub("", _words(text))
    number: Optional[int] = None
    match = OPTION.match(text)
    if match:
        number = int(match.group(1))
    elif _NUMBER_WORD_OPTION.match(text):
        number = NUMBER_WORDS[_NUMBER_WORD_OPTION.match(text).group(1)]
    elif _FIRST.search(text):
        number = 1
    elif _LAST.search(text):
        number = options
    else:
        ordinal = _ORDINAL.search(text)
        number = ORDINALS[ordinal.group(1)] if ordinal else None
    return number if number is not None and 1 <= number <= options else None


def _dates_mentioned(text: str, today: dt.date, offered_dates: Sequence[dt.date]) -> Tuple[bool, List[dt.date]]:
    """Whether the message mentions a day, and which dates it may mean (a day of the month alone fits
    every offered date with that day)."""
    for kind, pattern in DATE_PATTERNS:
        match = pattern.search(text)
        if match:
            value = date_from_match(kind, match, today)
            return True, [value] if value else []
    day = _DAY_ONLY.search(text)
    if day:
        return True, [d for d in offered_dates if d.day == int(day.group(1))]
    return False, []


def _session(text: str) -> Optional[str]:
    found = {SESSION_WORDS[w] for w in re.findall(r"[a-z]+", text) if w in SESSION_WORDS}
    hour = _HOUR.search(text)
    if hour:
        value = int(hour.group(1))
        found.add("pagi" if 7 <= value <= 11 else "siang" if value == 12 or 1 <= value <= 4 or 13 <= value <= 16
                  else "")
        found.discard("")
    return found.pop() if len(found) == 1 else None


def choose(text: str, options: Sequence[Option], today: dt.date) -> Choice:
    """The option(s) of `options` the message means."""
    words = _words(text)
    number = option_number(words, len(options))
    bare = _POLITE_HEAD.sub("", words)
    if OPTION.match(bare) or _NUMBER_WORD_OPTION.match(bare):
        return Choice(picked=number) if number else Choice()
    offered_dates = [o.date for o in options if o.date]
    mentioned, dates = _dates_mentioned(words, today, offered_dates)
    session = _session(words)
    indices = list(range(1, len(options) + 1))
    if mentioned:
        indices = [i for i in indices if options[i - 1].date in dates]
    if session:
        indices = [i for i in indices if options[i - 1].session == session]
    if not (mentioned or session):
        return Choice(picked=number) if number else Choice()
    if _ORDINAL.search(words) or _LAST.search(words) or _FIRST.search(words):
        # "tanggal 7 yang kedua", "yang terakhir hari senin": an ordinal among the narrowed options.
        ordinal = option_number(words, len(indices))
        if ordinal:
            return Choice(picked=indices[ordinal - 1], mentioned_date=mentioned)
    if len(indices) == 1:
        return Choice(picked=indices[0], mentioned_date=mentioned)
    return Choice(candidates=indices, mentioned_date=mentioned)
