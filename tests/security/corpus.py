"""Personal values as people type them: generated NIKs, phone numbers and OTP codes in many spellings.

Each spelling carries the needles a leak would show: the value's digits, and the part of them that
masking never shows (a masked NIK or phone keeps only its last 4 digits)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import List, Tuple

from backends.shared.identity import PROVINCE_CODES


@dataclass(frozen=True)
class Spelling:
    kind: str      # "nik" | "phone" | "otp"
    text: str      # what the user types
    needles: Tuple[str, ...]  # digit strings that must appear nowhere


def _groups(digits: str, sizes) -> List[str]:
    out, position = [], 0
    for size in sizes:
        out.append(digits[position:position + size])
        position += size
    if position < len(digits):
        out.append(digits[position:])
    return [g for g in out if g]


SEPARATORS = (" ", "  ", "-", " - ", ".", " . ", "   ", "/")
FRAMES = ("{}", "nik saya {}", "NIK: {}", "ini nik ku {} ya min", "{} itu nik sy", "no hp {}", "hp saya {} kak",
          "kode {}", "otp nya {}", "kodenya {} min", "{}.", "ya {}", "{} ok", "nomor: {}")


def nik(rng: random.Random) -> str:
    province = rng.choice(sorted(PROVINCE_CODES))
    day = rng.randint(1, 28) + (40 if rng.random() < 0.5 else 0)
    return (f"{province}{rng.randint(1, 79):02d}{rng.randint(1, 40):02d}{day:02d}{rng.randint(1, 12):02d}"
            f"{rng.randint(50, 99):02d}{rng.randint(1, 9999):04d}")


def phone(rng: random.Random) -> str:
    return "8" + rng.choice("1235789") + "".join(rng.choice("0123456789") for _ in range(rng.choice((8, 9, 10))))


def spellings(count: int = 1200, seed: int = 2021) -> List[Spelling]:
    rng = random.Random(seed)
    out: List[Spelling] = []
    seen = set()
    while len(out) < count:
        kind = ("nik", "phone", "otp")[len(out) % 3]
        if kind == "nik":
            digits = nik(rng)
            needles = (digits, digits[:12])
            sizes = rng.choice(((4, 4, 4, 4), (6, 6, 4), (2, 2, 2, 6, 4), (16,), (3, 3, 3, 3, 4)))
            body_digits = digits
        elif kind == "phone":
            national = phone(rng)
            body_digits = rng.choice(("0" + national, "62" + national, "+62" + national))
            needles = (national, national[:-4])
            sizes = rng.choice(((4, 4, 4), (3, 4, 4), (4, 3, 3, 3), (2, 3, 4, 4), (20,)))
        else:
            digits = f"{rng.randrange(10 ** 6):06d}"
            body_digits, needles = digits, (digits,)
            sizes = rng.choice(((6,), (3, 3), (2, 2, 2), (1, 1, 1, 1, 1, 1)))
        plus = body_digits.startswith("+")
        groups = _groups(body_digits.lstrip("+"), sizes)
        body = rng.choice(SEPARATORS).join(groups)
        if plus:
            body = "+" + body
        if kind == "phone" and rng.random() < 0.15 and not plus:
            body = f"({groups[0]}) " + " ".join(groups[1:])
        text = rng.choice(FRAMES).format(body)
        if text not in seen:
            seen.add(text)
            out.append(Spelling(kind, text, needles))
    return out
