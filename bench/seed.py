"""Throw-away PostgreSQL databases for one benchmark run, filled with synthetic people.

Runs in the Rasa venv (it uses the backends' own ORM and seeders):

    python -m bench.seed create --prefix bench_1234 --count 3000 --manifest var/bench/run/manifest.json
    python -m bench.seed drop --prefix bench_1234

`create` makes `<prefix>_backends` (both services, migrated by Alembic and given the demo data) and
`<prefix>_rasa` (the Rasa tracker store), then adds `count` health workers, each with last-6 NIK
digits no one else has, and `count` PeduliLindungi users with two certified doses and a phone of
their own (the certificate service sends at most 3 codes per phone per hour); the NIKs, names and phones
come from bench/identities.py. Slot capacities are raised so that thousands of bookings fit.
The identities go to the manifest for the Locust users.
Never pointed at the development databases: the names always carry the run's prefix.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import List, Set

import psycopg2
from sqlalchemy import select, update

from backends.certificate import domain as certificate_domain
from backends.certificate.orm import Certificate, Person, Vaccination
from backends.registration.orm import Site, Slot, Target
from backends.shared.clock import today_wib
from backends.shared.database import make_engine, make_session_factory
from backends.shared.identity import parse_nik
from bench import identities

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SLOT_CAPACITY = 100_000


def database_url(prefix: str, purpose: str) -> str:
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{prefix}_{purpose}"


def _admin(statement: str) -> None:
    connection = psycopg2.connect(ADMIN_URL)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def create(prefix: str, count: int, manifest: Path, rng_seed: int = 7) -> None:
    for purpose in ("backends", "rasa"):
        _admin(f'DROP DATABASE IF EXISTS "{prefix}_{purpose}"')
        _admin(f'CREATE DATABASE "{prefix}_{purpose}"')
    env = dict(os.environ, DATABASE_URL=database_url(prefix, "backends"))
    subprocess.run([sys.executable, "-m", "backends.manage", "init"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    rng = random.Random(rng_seed)
    engine = make_engine(database_url(prefix, "backends"))
    try:
        with make_session_factory(engine)() as session:
            workers = _add_health_workers(session, rng, count)
            persons = _add_persons(session, rng, count)
            session.execute(update(Slot).values(capacity=SLOT_CAPACITY))
            session.commit()
    finally:
        engine.dispose()
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"health_workers": workers, "persons": persons}))
    print(f"bench data: {len(workers)} health workers, {len(persons)} PeduliLindungi users in {prefix}_backends")


def _add_health_workers(session, rng: random.Random, count: int) -> List[dict]:
    sites = session.execute(select(Site)).scalars().all()
    taken: Set[str] = set(session.execute(select(Target.nik_suffix)).scalars())
    workers = []
    for person in identities.identities(count, seed=rng.randint(0, 10**9), taken_suffixes=taken):
        site = rng.choice(sites)
        regency_prefix = session.execute(select(Target.nik).where(Target.assigned_site_id == site.id)).scalars().first()
        nik = (regency_prefix[:4] if regency_prefix else person.nik[:4]) + person.nik[4:]
        info = parse_nik(nik)
        session.add(Target(nik=nik, nik_suffix=person.nik_suffix, name=person.name, birth_date=info.birth_date,
                           profession="perawat", facility=site.name, assigned_site_id=site.id,
                           phone=f"+62813{rng.randint(10**7, 10**8 - 1)}", regency=site.regency,
                           province=site.province, status="not_vaccinated"))
        workers.append({"nik_suffix": person.nik_suffix, "name": person.name,
                        "birth_date": info.birth_date.isoformat()})
    session.flush()
    return workers


def _add_persons(session, rng: random.Random, count: int) -> List[dict]:
    niks: Set[str] = set(session.execute(select(Person.nik)).scalars())
    numbers: Set[str] = set(session.execute(select(Certificate.number)).scalars())
    persons = []
    for someone in identities.identities(count, seed=rng.randint(0, 10**9), first_year=1950, last_year=2000,
                                         regencies=("3174",), taken_niks=niks):
        person = Person(nik=someone.nik, name=someone.name, birth_date=parse_nik(someone.nik).birth_date,
                        phone="+62" + someone.phone[1:])
        for dose, day in ((1, dt.date(2021, 7, 12)), (2, dt.date(2021, 8, 9))):
            vaccination = Vaccination(dose=dose, date=day, brand="Sinovac/CoronaVac", site="RSUD Cengkareng",
                                      batch=f"A{day:%Y%m}{dose:03d}")
            number = certificate_domain.new_certificate_number(rng)
            while number in numbers:
                number = certificate_domain.new_certificate_number(rng)
            numbers.add(number)
            vaccination.certificate = Certificate(number=number, issued_at=dt.datetime.combine(day, dt.time(14)))
            person.vaccinations.append(vaccination)
        session.add(person)
        persons.append({"phone": someone.phone, "new_name": identities.corrected_name(someone)})
    session.flush()
    return persons


def drop(prefix: str) -> None:
    for purpose in ("backends", "rasa"):
        _admin(f'DROP DATABASE IF EXISTS "{prefix}_{purpose}" WITH (FORCE)')


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("create", "drop"))
    parser.add_argument("--prefix", required=True, help="database name prefix, e.g. bench_1234")
    parser.add_argument("--count", type=int, default=3000, help="synthetic identities of each kind")
    parser.add_argument("--manifest", type=Path, default=ROOT / "var" / "bench" / "manifest.json")
    args = parser.parse_args(argv)
    if not args.prefix.startswith("bench_"):
        parser.error("the prefix must start with bench_ (throw-away databases only)")
    if args.command == "create":
        create(args.prefix, args.count, args.manifest)
    else:
        drop(args.prefix)


if __name__ == "__main__":
    main()
