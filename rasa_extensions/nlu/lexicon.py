"""The trainer-editable lexicon of informal Indonesian spellings, and the text rewrite it drives.

File format (data/lexicon/normalization.txt): one `informal = standard` pair a line, `#` starts a
comment. Matching is per word and case-insensitive; the standard form may be several words.
A letter typed three or more times in a row is one letter ("makasiiih", "halooo", "vaksinnnn"):
no Indonesian word repeats a letter three times, and chat stretches words for emphasis.
Plain Python, unit-tested in tests/unit/test_normalizer.py.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Tuple

# Whole words only: letters inside codes such as NKS-HJ7KL8MN or 4B are never rewritten.
_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]+(?:'[A-Za-z]+)?(?![A-Za-z0-9])")
_STRETCHED = re.compile(r"([A-Za-z])\1{2,}")
# A submission reference's eight characters may be letters only ("NKS-PPQRSTUV"): never rewritten.
_REFERENCE_PREFIX = re.compile(r"nks[\s-]?$", re.IGNORECASE)


def load_lexicon(path: Path) -> Dict[str, str]:
    lexicon: Dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" not in line:
            raise ValueError(f"{path}:{number}: expected 'informal = standard', got {raw!r}")
        informal, standard = (part.strip().lower() for part in line.split("=", 1))
        if not informal or not standard or " " in informal:
            raise ValueError(f"{path}:{number}: one informal word and its standard form are needed")
        lexicon[informal] = standard
    return lexicon


def normalize(text: str, lexicon: Dict[str, str]) -> Tuple[str, List[int]]:
    """Rewrites informal words; returns the new text and where each old offset went.

    `offsets[i]` is the position in the new text of the character at position `i` of the old text
    (with `offsets[len(text)]` its end), so entity annotations can follow the rewrite.
    """
    pieces: List[str] = []
    offsets: List[int] = []
    position = 0
    length = 0
    for match in _WORD.finditer(text):
        gap = text[position:match.start()]
        offsets.extend(range(length, length + len(gap)))
        pieces.append(gap)
        length += len(gap)
        word = match.group(0)
        replacement = _standard_form(word, lexicon, text[max(0, match.start() - 4):match.start()])
        offsets.extend([length] * len(word) if replacement != word else range(length, length + len(word)))
        pieces.append(replacement)
        length += len(replacement)
        position = match.end()
    tail = text[position:]
    offsets.extend(range(length, length + len(tail)))
    offsets.append(length + len(tail))
    return "".join(pieces) + tail, offsets


def _standard_form(word: str, lexicon: Dict[str, str], before: str) -> str:
    if _REFERENCE_PREFIX.search(before):
        return word
    key = word.lower()
    if key in lexicon:
        return lexicon[key]
    unstretched = _STRETCHED.sub(r"\1", key)
    if unstretched != key:
        return lexicon.get(unstretched, unstretched)
    return word
