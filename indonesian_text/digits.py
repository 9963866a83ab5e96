"""Digit runs as people type them: the one rule for reading NIKs, phone numbers and codes, and for
hiding them again.

People split long numbers into groups with whatever is at hand: "3171 0553 0690 0012",
"3171  0553  0690  0012", "0812-3456-7890", "0812 - 3456 - 7890", "+62 812.3456.7890",
"(0812) 3456 7890", "123 - 456". A run is digit groups joined by up to three spaces, or by one dash,
dot or slash with spaces around it, or wrapped in parentheses.

Two patterns share that separator rule:
- READ: what the assistant accepts as one value (the NLU's value extractor and the actions); a run
  glued to a letter ("nik3171…", "12abc") is not a value the bot reads;
- HIDE: what privacy redaction masks; the same runs, also glued to letters, because redaction must
  find at least everything the bot can read.
Stdlib only: the `privacy` package, the NLU component and the action server all import it.
"""
from __future__ import annotations

import re
from typing import Iterator, List, NamedTuple

# Between two digit groups: 1-3 spaces/tabs, or one of - . / with optional spaces around it,
# or a closing/opening parenthesis with optional spaces ("(0812) 3456").
_SEPARATOR = r"(?:[ \t]{0,3}[-./][ \t]{0,3}|[ \t]{1,3}|[ \t]{0,3}\)[ \t]{0,3}|[ \t]{0,3}\([ \t]{0,3})"
_GROUPS = rf"\(?\+?\(?\d+(?:{_SEPARATOR}\d+)*"

READ = re.compile(rf"(?<![\w+]){_GROUPS}(?![\w])")
HIDE = re.compile(_GROUPS)


class DigitRun(NamedTuple):
    start: int
    end: int
    digits: str
    plus: bool  # written with a leading "+" (an international phone number, never a NIK)


def only_digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


def _runs(pattern: re.Pattern, text: str) -> Iterator[DigitRun]:
    for match in pattern.finditer(text or ""):
        raw = match.group(0)
        # A separator or bracket may have been swallowed at the end of the match: trim to the last digit.
        end = match.start() + max(i for i, ch in enumerate(raw) if ch.isdigit()) + 1
        start = match.start() + min(i for i, ch in enumerate(raw) if ch.isdigit() or ch == "+")
        yield DigitRun(start, end, only_digits(raw), "+" in raw)


def digit_runs(text: str) -> List[DigitRun]:
    """Every digit run the assistant reads as one value, left to right."""
    return list(_runs(READ, text))


def hideable_runs(text: str) -> List[DigitRun]:
    """Every digit run redaction looks at (a superset of `digit_runs`)."""
    return list(_runs(HIDE, text))


def single_code(text: str, length: int) -> str:
    """The code of exactly `length` digits in an answer ("123 456", "kodenya 123-456"), or "" when the
    answer holds no such run or more than one number."""
    runs = digit_runs(text)
    if len(runs) != 1 or len(runs[0].digits) != length:
        return ""
    return runs[0].digits
