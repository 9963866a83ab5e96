"""Synthetic Indonesian identities for the load benchmark: NIK, name, phone, per person.

Pure Python (no database, no Rasa) so the Locust users of a bot without backends (the stock bot)
and tests/unit can make the very same identities that `bench.seed` stores in the backends.

A NIK is 16 digits: province (2), regency (2), district (2), birth date DDMMYY with the day + 40
for women, and a serial (4, never 0000). A health worker is found by its last six digits (YY +
serial), which must be unique among all targets. A phone is an Indonesian mobile number in local
form, 0815 + 8 digits: no demo or seeded number starts with +62815, and the certificate service
sends at most 3 codes per phone per hour, so each person has a phone of their own.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Set

WOMEN = ("Ayu", "Dian", "Fitri", "Indah", "Kartika", "Sari", "Dewi", "Rina", "Wulan", "Nur", "Siti", "Putri",
         "Anisa", "Lestari", "Ratna", "Yuni", "Mega", "Nadia", "Rahma", "Tiara")
MEN = ("Agus", "Bambang", "Dedi", "Eko", "Fajar", "Hendra", "Joko", "Budi", "Rizky", "Andi", "Yusuf", "Arif",
       "Dimas", "Gilang", "Hadi", "Imam", "Rudi", "Teguh", "Wahyu", "Yoga")
LAST = ("Saputra", "Wijaya", "Hidayat", "Kurniawan", "Setiawan", "Pratama", "Siregar", "Lubis", "Utami", "Wibowo",
        "Nasution", "Harahap", "Simanjuntak", "Susanto", "Permana", "Rahayu", "Santoso", "Gunawan", "Purnomo",
        "Maharani", "Hutagalung", "Sembiring", "Tanjung", "Nugroho", "Ramadhan")
REGENCIES = ("3171", "3172", "3173", "3174", "3175")   # DKI Jakarta
PHONE_PREFIX = "0815"


@dataclass(frozen=True)
class Identity:
    nik: str
    name: str
    sex: str              # "L" or "P", as the NIK says
    birth_date: dt.date
    phone: str            # local form as people type it: 0815xxxxxxxx

    @property
    def nik_suffix(self) -> str:
        return self.nik[-6:]


def make_nik(rng: random.Random, born: dt.date, sex: str, regency: str) -> str:
    day = born.day + (40 if sex == "P" else 0)
    return f"{regency}{rng.randint(1, 20):02d}{day:02d}{born.month:02d}{born.year % 100:02d}{rng.randint(1, 9999):04d}"


def make_name(rng: random.Random, sex: str) -> str:
    first = rng.choice(WOMEN if sex == "P" else MEN)
    return f"{first} {rng.choice(LAST)}" if rng.random() < 0.8 else f"{first} {rng.choice(LAST)} {rng.choice(LAST)}"


def identities(count: int, seed: int = 7, first_year: int = 1960, last_year: int = 1999,
               regencies: Sequence[str] = REGENCIES, taken_niks: Iterable[str] = (),
               taken_suffixes: Optional[Set[str]] = None, phone_offset: int = 0) -> List[Identity]:
    """`count` people with distinct NIKs (and distinct last six digits when `taken_suffixes` is
    given: the set is extended), a name matching the NIK's sex, and a phone of their own."""
    rng = random.Random(seed)
    niks: Set[str] = set(taken_niks)
    people: List[Identity] = []
    while len(people) < count:
        born = dt.date(rng.randint(first_year, last_year), rng.randint(1, 12), rng.randint(1, 28))
        sex = rng.choice("LP")
        nik = make_nik(rng, born, sex, rng.choice(regencies))
        if nik in niks or (taken_suffixes is not None and nik[-6:] in taken_suffixes):
            continue
        niks.add(nik)
        if taken_suffixes is not None:
            taken_suffixes.add(nik[-6:])
        people.append(Identity(nik=nik, name=make_name(rng, sex), sex=sex, birth_date=born,
                               phone=f"{PHONE_PREFIX}{phone_offset + len(people):08d}"))
    return people


def corrected_name(person: Identity) -> str:
    """The name a person asks the certificate to show instead (one more given name)."""
    extra = "Putri" if person.sex == "P" else "Putra"
    return f"{person.name} {extra}"
