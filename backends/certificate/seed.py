"""Demo data for the certificate service: fixed demo identities plus a deterministic random population.

`python -m backends.manage init` migrates the configured database and seeds it once.
All people here are invented; the NIKs follow the real structure so validation code is exercised.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import List, Optional, Set, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backends.certificate import domain
from backends.certificate.orm import Certificate, Person, Vaccination
from backends.shared.identity import normalize_phone, parse_nik

RANDOM_PERSONS = 300
DEFAULT_SEED = 2021
CERTIFICATE_MISSING_RATE = 0.04
# Adults when the programme started in 2021; all born after 1925, so two-digit NIK years stay unambiguous.
OLDEST_BIRTH, YOUNGEST_BIRTH = dt.date(1946, 1, 1), dt.date(2003, 12, 31)

# (regency code, vaccination sites there); the regency code is the first 4 NIK digits.
REGENCIES: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("3171", ("Puskesmas Kecamatan Kebayoran Baru", "RSUP Fatmawati")),
    ("3173", ("Puskesmas Kecamatan Menteng", "RSPAD Gatot Soebroto", "Sentra Vaksinasi Gelora Bung Karno")),
    ("3174", ("Puskesmas Kecamatan Kebon Jeruk", "RSUD Cengkareng")),
    ("3273", ("Puskesmas Garuda", "RSUP Dr. Hasan Sadikin", "Sentra Vaksinasi Sabuga ITB")),
    ("3374", ("Puskesmas Pandanaran", "RSUP Dr. Kariadi")),
    ("3471", ("Puskesmas Gondokusuman I", "RSUD Kota Yogyakarta")),
    ("3578", ("Puskesmas Ketabang", "RSUD Dr. Soetomo", "Sentra Vaksinasi Grand City Surabaya")),
    ("1271", ("Puskesmas Padang Bulan", "RSUP H. Adam Malik")),
    ("1671", ("Puskesmas Dempo", "RSUP Dr. Mohammad Hoesin")),
    ("5171", ("Puskesmas I Denpasar Timur", "RSUP Sanglah")),
    ("6471", ("Puskesmas Klandasan Ilir", "RSUD Beriman Balikpapan")),
    ("7371", ("Puskesmas Kassi-Kassi", "RSUP Dr. Wahidin Sudirohusodo")),
    ("9171", ("Puskesmas Jayapura Utara", "RSUD Dok II Jayapura")),
)
MALE_NAMES = ("Budi", "Agus", "Andi", "Bambang", "Dedi", "Eko", "Fajar", "Hendra", "Irfan", "Joko", "Rizky",
              "Slamet", "Teguh", "Wahyu", "Yusuf", "Ahmad", "Muhammad", "Rudi", "Arif", "Dimas", "I Gede",
              "I Made", "Asep", "Ujang", "Daniel", "Yohanes", "La Ode", "Andi Muhammad")
FEMALE_NAMES = ("Siti", "Sri", "Dewi", "Ayu", "Rina", "Wulan", "Indah", "Fitri", "Nur", "Ratna", "Putri", "Intan",
                "Maria", "Yuliana", "Kartika", "Anisa", "Rahma", "Dian", "Eka", "Ni Luh", "Ni Made", "Neng",
                "Theresia", "Wa Ode")
MALE_SECOND = ("Santoso", "Wijaya", "Saputra", "Pratama", "Hidayat", "Nugroho", "Setiawan", "Kurniawan",
               "Gunawan", "Wibowo", "Syahputra", "Hakim", "Firmansyah", "Ramadhan")
FEMALE_SECOND = ("Rahmawati", "Handayani", "Susanti", "Wulandari", "Lestari", "Utami", "Purnamasari",
                 "Permatasari", "Anggraini", "Safitri", "Maharani", "Kusumawati")
FAMILY_NAMES = ("Siregar", "Nasution", "Harahap", "Simanjuntak", "Lubis", "Hasibuan", "Manurung", "Sitompul",
                "Tanjung", "Halim", "Salim", "Kusuma", "Pangaribuan", "Rumbiak", "Wenda")

# Brand, first day it was given in Indonesia, days between dose 1 and 2 (min, max), weight.
PRIMARY_BRANDS = (
    ("Sinovac/CoronaVac", dt.date(2021, 1, 13), (28, 35), 50),
    ("AstraZeneca", dt.date(2021, 3, 22), (70, 84), 25),
    ("Pfizer", dt.date(2021, 8, 16), (21, 28), 10),
    ("Moderna", dt.date(2021, 8, 2), (28, 35), 7),
    ("Sinopharm", dt.date(2021, 5, 18), (21, 28), 8),
)
BOOSTER_BRANDS = (("Pfizer", 35), ("AstraZeneca", 30), ("Moderna", 25), ("Sinovac/CoronaVac", 10))
BOOSTER_START, BOOSTER_MIN_GAP, LAST_SEEDED_DAY = dt.date(2022, 1, 12), 90, dt.date(2022, 12, 31)


@dataclass(frozen=True)
class DemoDose:
    dose: int
    date: dt.date
    brand: str
    site: str
    batch: str
    certified: bool = True


@dataclass(frozen=True)
class DemoPerson:
    nik: str
    name: str
    phone: str
    doses: Tuple[DemoDose, ...]


# Fixed identities listed in the README for manual testing; their numbers (+62811…) never clash with
# the random population (+62812…).
DEMO_PERSONS: Tuple[DemoPerson, ...] = (
    DemoPerson("3174054508900003", "Rina Wulandari", "+6281110000001", (
        DemoDose(1, dt.date(2021, 7, 12), "Sinovac/CoronaVac", "Puskesmas Kecamatan Kebon Jeruk", "A202106087"),
        DemoDose(2, dt.date(2021, 8, 9), "Sinovac/CoronaVac", "Puskesmas Kecamatan Kebon Jeruk", "A202107112"),
        DemoDose(3, dt.date(2022, 2, 21), "Pfizer", "RSUD Cengkareng", "FK5127"),
    )),
    DemoPerson("3273121203850012", "Agus Setiawan", "+6281110000002", (
        DemoDose(1, dt.date(2021, 4, 5), "AstraZeneca", "RSUP Dr. Hasan Sadikin", "CTMAV547"),
        DemoDose(2, dt.date(2021, 6, 28), "AstraZeneca", "RSUP Dr. Hasan Sadikin", "CTMAV563"),
    )),
    DemoPerson("5171036311980007", "Ni Luh Putu Ayu Lestari", "+6281110000003", (
        DemoDose(1, dt.date(2022, 11, 28), "Pfizer", "Puskesmas I Denpasar Timur", "GH9702", certified=False),
    )),
    DemoPerson("1271053001720004", "Yohanes Manurung", "+6281110000004", ()),
)


def _weighted(rng: random.Random, options, weights):
    return rng.choices(options, weights=weights, k=1)[0]


def _random_name(rng: random.Random, female: bool) -> str:
    first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
    roll = rng.random()
    if roll < 0.12:
        return first  # single names are common, especially in Java
    if roll < 0.35:
        return f"{first} {rng.choice(FAMILY_NAMES)}"
    return f"{first} {rng.choice(FEMALE_SECOND if female else MALE_SECOND)}"


def _random_nik(rng: random.Random, regency: str, female: bool, today: dt.date, taken: Set[str]) -> str:
    while True:
        born = OLDEST_BIRTH + dt.timedelta(days=rng.randint(0, (YOUNGEST_BIRTH - OLDEST_BIRTH).days))
        day = born.day + (40 if female else 0)
        nik = f"{regency}{rng.randint(1, 30):02d}{day:02d}{born:%m%y}{rng.randint(1, 9999):04d}"
        info = parse_nik(nik, today)  # raises if the generator ever drifts from the NIK rules
        if info.birth_date == born and info.sex == ("P" if female else "L") and nik not in taken:
            taken.add(nik)
            return nik


def _random_phone(rng: random.Random, taken: Set[str]) -> str:
    while True:
        phone = normalize_phone(f"+62812{rng.randint(0, 99_999_999):08d}")
        if phone not in taken:
            taken.add(phone)
            return phone


def _batch(rng: random.Random, brand: str, day: dt.date) -> str:
    if brand == "Sinovac/CoronaVac":
        return f"A{day:%Y%m}{rng.randint(1, 999):03d}"
    if brand == "AstraZeneca":
        return f"CTMAV{rng.randint(500, 599)}"
    if brand == "Pfizer":
        return f"F{rng.choice('AEFGKL')}{rng.randint(1000, 9999)}"
    if brand == "Moderna":
        return f"{rng.randint(0, 999):03d}F21A"
    return f"{day:%Y%m}{rng.randint(10, 99)}B{rng.randint(10, 99)}"


def _random_history(rng: random.Random, sites: Tuple[str, ...], today: dt.date) -> List[DemoDose]:
    count = _weighted(rng, (0, 1, 2, 3), (10, 15, 40, 35))
    if count == 0:
        return []
    brand, first_day, gap, _ = _weighted(rng, PRIMARY_BRANDS, [b[3] for b in PRIMARY_BRANDS])
    first = first_day + dt.timedelta(days=rng.randint(0, (dt.date(2021, 12, 15) - first_day).days))
    site = rng.choice(sites)  # most people return to the same place for dose 2
    dates = [(first, brand, site)]
    if count >= 2:
        dates.append((first + dt.timedelta(days=rng.randint(*gap)), brand, site))
    if count == 3:
        earliest = max(BOOSTER_START, dates[1][0] + dt.timedelta(days=BOOSTER_MIN_GAP))
        if earliest <= LAST_SEEDED_DAY:
            booster_day = earliest + dt.timedelta(days=rng.randint(0, (LAST_SEEDED_DAY - earliest).days))
            booster_brand = _weighted(rng, [b[0] for b in BOOSTER_BRANDS], [b[1] for b in BOOSTER_BRANDS])
            dates.append((booster_day, booster_brand, rng.choice(sites)))
    return [DemoDose(number, day, brand_, site_, _batch(rng, brand_, day), rng.random() >= CERTIFICATE_MISSING_RATE)
            for number, (day, brand_, site_) in enumerate(dates, start=1) if day <= today]


def _add_person(session: Session, rng: random.Random, nik: str, name: str, phone: str, doses, today: dt.date,
                numbers: Set[str]) -> None:
    person = Person(nik=nik, name=name, birth_date=parse_nik(nik, today).birth_date, phone=phone)
    session.add(person)
    for dose in doses:
        vaccination = Vaccination(dose=dose.dose, date=dose.date, brand=dose.brand, site=dose.site, batch=dose.batch)
        person.vaccinations.append(vaccination)
        if dose.certified:
            number = domain.new_certificate_number(rng)
            while number in numbers:
                number = domain.new_certificate_number(rng)
            numbers.add(number)
            issued = dt.datetime.combine(dose.date, dt.time(10)) + dt.timedelta(hours=rng.randint(2, 60))
            vaccination.certificate = Certificate(number=number, issued_at=issued)


def seed(session: Session, today: dt.date, rng: random.Random, count: int = RANDOM_PERSONS) -> int:
    """Adds the demo persons and `count` random ones (same rng seed, same data); returns persons added."""
    niks = {p.nik for p in DEMO_PERSONS}
    phones = {p.phone for p in DEMO_PERSONS}
    numbers: Set[str] = set()
    for demo in DEMO_PERSONS:
        _add_person(session, rng, demo.nik, demo.name, demo.phone, demo.doses, today, numbers)
    for _ in range(count):
        regency, sites = rng.choice(REGENCIES)
        female = rng.random() < 0.5
        nik = _random_nik(rng, regency, female, today, niks)
        _add_person(session, rng, nik, _random_name(rng, female), _random_phone(rng, phones),
                    _random_history(rng, sites, today), today, numbers)
    session.commit()
    return len(DEMO_PERSONS) + count


def seed_if_empty(session: Session, today: dt.date, rng: Optional[random.Random] = None,
                  count: int = RANDOM_PERSONS) -> bool:
    if session.execute(select(func.count(Person.id))).scalar_one() > 0:
        return False
    seed(session, today, rng or random.Random(DEFAULT_SEED), count)
    return True
