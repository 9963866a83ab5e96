"""Realistic demo data: 11 sites in 4 provinces, 60+ health workers, 14 days of slots."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Dict, List

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backends.registration.orm import Site, Slot, Target
from backends.shared.identity import parse_nik

# (code, name, address, regency, province, regency NIK prefix)
SITES = (
    ("JKS-01", "Puskesmas Kecamatan Tebet", "Jl. Prof. DR. Soepomo No.54, Tebet", "Kota Jakarta Selatan", "DKI Jakarta", "3171"),
    ("JKS-02", "RSUP Fatmawati", "Jl. RS. Fatmawati Raya, Cilandak", "Kota Jakarta Selatan", "DKI Jakarta", "3171"),
    ("JKP-01", "RSUPN Dr. Cipto Mangunkusumo", "Jl. Diponegoro No.71, Kenari", "Kota Jakarta Pusat", "DKI Jakarta", "3173"),
    ("JKP-02", "Puskesmas Kecamatan Menteng", "Jl. Pegangsaan Barat No.14, Menteng", "Kota Jakarta Pusat", "DKI Jakarta", "3173"),
    ("BDG-01", "RSUP Dr. Hasan Sadikin", "Jl. Pasteur No.38, Sukajadi", "Kota Bandung", "Jawa Barat", "3273"),
    ("BDG-02", "Puskesmas Puter", "Jl. Puter No.1, Coblong", "Kota Bandung", "Jawa Barat", "3273"),
    ("BGR-01", "RSUD Kota Bogor", "Jl. DR. Sumeru No.120, Bogor Barat", "Kota Bogor", "Jawa Barat", "3271"),
    ("SBY-01", "RSUD Dr. Soetomo", "Jl. Mayjen Prof. Dr. Moestopo No.6-8, Gubeng", "Kota Surabaya", "Jawa Timur", "3578"),
    ("SBY-02", "Puskesmas Ketabang", "Jl. Jaksa Agung Suprapto No.10, Genteng", "Kota Surabaya", "Jawa Timur", "3578"),
    ("SDA-01", "RSUD Sidoarjo", "Jl. Mojopahit No.667, Sidowayah", "Kabupaten Sidoarjo", "Jawa Timur", "3515"),
    ("MKS-01", "RSUP Dr. Wahidin Sudirohusodo", "Jl. Perintis Kemerdekaan KM.11, Tamalanrea", "Kota Makassar", "Sulawesi Selatan", "7371"),
    ("MKS-02", "Puskesmas Kassi-Kassi", "Jl. Tamalate I No.43, Rappocini", "Kota Makassar", "Sulawesi Selatan", "7371"),
)


@dataclass(frozen=True)
class DemoHealthWorker:
    nik: str
    name: str
    profession: str
    facility: str
    site_code: str
    phone: str
    note: str


# Fixed identities for trying each branch by hand (listed in the README).
DEMO_HEALTH_WORKERS = (
    DemoHealthWorker("3171055306900012", "Siti Rahmawati", "perawat", "Puskesmas Kecamatan Tebet", "JKS-01",
                     "+6281311110001", "unique last-6 digits 900012: the happy path"),
    DemoHealthWorker("3273011503850007", "Budi Santoso", "dokter", "RSUP Dr. Hasan Sadikin", "BDG-01",
                     "+6281311110002", "shares 850007 with Dewi; born 15-03-1985"),
    DemoHealthWorker("3578024708850007", "Dewi Lestari", "bidan", "Puskesmas Ketabang", "SBY-02",
                     "+6281311110003", "shares 850007 with Budi; born 07-08-1985"),
    DemoHealthWorker("7371034402880021", "Andi Nurhaliza", "apoteker", "Puskesmas Kassi-Kassi", "MKS-02",
                     "+6281311110004", "unique last-6 digits 880021"),
)

FIRST_NAMES_F = ("Ayu", "Dian", "Fitri", "Indah", "Kartika", "Lina", "Maya", "Nur", "Putri", "Rina", "Sri", "Wulan",
                 "Yuni", "Ratna", "Endang", "Nia")
FIRST_NAMES_M = ("Agus", "Bambang", "Dedi", "Eko", "Fajar", "Hendra", "Irfan", "Joko", "Rudi", "Slamet", "Teguh",
                 "Wahyu", "Yusuf", "Arif", "Hadi", "Rizky")
LAST_NAMES = ("Saputra", "Wijaya", "Hidayat", "Kurniawan", "Setiawan", "Pratama", "Siregar", "Nasution", "Lubis",
              "Sihombing", "Hasibuan", "Rahman", "Suryani", "Utami", "Wibowo", "Gunawan", "Syahputra", "Daeng")
PROFESSIONS = ("dokter", "dokter", "perawat", "perawat", "perawat", "bidan", "bidan", "apoteker", "dokter gigi",
               "tenaga kesehatan lainnya")
SESSIONS = ("pagi", "siang")
RANDOM_HEALTH_WORKERS = 60
SHARED_SUFFIX_PAIRS = 5
SLOT_DAYS = 14


def seed_if_empty(session: Session, today: dt.date, rng: random.Random) -> bool:
    if session.execute(select(func.count(Site.id))).scalar_one():
        return False
    seed(session, today, rng)
    return True


def seed(session: Session, today: dt.date, rng: random.Random) -> None:
    sites = {code: Site(code=code, name=name, address=address, regency=regency, province=province)
             for code, name, address, regency, province, _prefix in SITES}
    session.add_all(sites.values())
    session.flush()
    prefixes = {code: prefix for code, *_rest, prefix in SITES}
    used_niks = set()

    for demo in DEMO_HEALTH_WORKERS:
        session.add(_target(demo.nik, demo.name, demo.profession, demo.facility, sites[demo.site_code], demo.phone))
        used_niks.add(demo.nik)

    site_codes = list(sites)
    generated: List[Target] = []
    for index in range(RANDOM_HEALTH_WORKERS):
        site_code = rng.choice(site_codes)
        female = rng.random() < 0.6
        birth = dt.date(rng.randint(1960, 1999), rng.randint(1, 12), rng.randint(1, 28))
        # The first pairs reuse an earlier worker's birth year and serial: same last 6 digits.
        if index >= RANDOM_HEALTH_WORKERS - SHARED_SUFFIX_PAIRS:
            twin = generated[index - (RANDOM_HEALTH_WORKERS - SHARED_SUFFIX_PAIRS)]
            birth = birth.replace(year=twin.birth_date.year)
            serial = twin.nik[-4:]
        else:
            serial = f"{rng.randint(1, 9999):04d}"
        nik = _make_nik(prefixes[site_code], rng.randint(1, 20), birth, female, serial)
        if nik in used_niks:
            continue
        used_niks.add(nik)
        first = rng.choice(FIRST_NAMES_F if female else FIRST_NAMES_M)
        site = sites[site_code]
        target = _target(nik, f"{first} {rng.choice(LAST_NAMES)}", rng.choice(PROFESSIONS), site.name, site,
                         f"+62813{rng.randint(20000000, 99999999)}")
        generated.append(target)
        session.add(target)

    for site in sites.values():
        for offset in range(1, SLOT_DAYS + 1):
            day = today + dt.timedelta(days=offset)
            if day.weekday() == 6:  # no vaccination on Sundays
                continue
            for name in SESSIONS:
                session.add(Slot(site_id=site.id, date=day, session=name, capacity=rng.choice((20, 30, 40, 50)),
                                 booked=rng.randint(0, 10)))
    session.commit()


def _make_nik(regency_prefix: str, district: int, birth: dt.date, female: bool, serial: str) -> str:
    day = birth.day + 40 if female else birth.day
    nik = f"{regency_prefix}{district:02d}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial}"
    parse_nik(nik)  # the seed must obey the same rules as user input
    return nik


def _target(nik: str, name: str, profession: str, facility: str, site: Site, phone: str) -> Target:
    info = parse_nik(nik)
    return Target(nik=nik, nik_suffix=nik[-6:], name=name, birth_date=info.birth_date, profession=profession,
                  facility=facility, assigned_site_id=site.id, phone=phone, regency=site.regency,
                  province=site.province, status="not_vaccinated")


def summary(session: Session) -> Dict[str, int]:
    return {table.__tablename__: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (Site, Target, Slot)}
