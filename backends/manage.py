"""Operator commands for the backends: schema migrations and demo data.

    python -m backends.manage init            # migrate both services, seed demo data if empty
    python -m backends.manage migrate [--service registration|certificate|notifications]
    python -m backends.manage seed [--service ...] [--seed 2021]

The notification service has no demo data: `seed` leaves it empty.
"""
from __future__ import annotations

import argparse
import importlib
import random
from typing import Iterable

from backends.shared.clock import today_wib
from backends.shared.database import make_engine, make_session_factory, upgrade_schema
from backends.shared.settings import load_settings

SERVICES = ("registration", "certificate", "notifications")
SEEDED_SERVICES = ("registration", "certificate")


def migrate(service: str) -> None:
    package = importlib.import_module(f"backends.{service}")
    upgrade_schema(package.MIGRATIONS_DIR, package.VERSION_TABLE, load_settings(service).database_url)


def seed_if_empty(service: str, rng_seed: int) -> bool:
    seed_module = importlib.import_module(f"backends.{service}.seed")
    engine = make_engine(load_settings(service).database_url)
    try:
        with make_session_factory(engine)() as session:
            return seed_module.seed_if_empty(session, today_wib(), random.Random(rng_seed))
    finally:
        engine.dispose()


def _selected(service: str) -> Iterable[str]:
    return SERVICES if service == "all" else (service,)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m backends.manage", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("init", "migrate", "seed"))
    parser.add_argument("--service", choices=("all",) + SERVICES, default="all")
    parser.add_argument("--seed", type=int, default=2021, help="random seed of the demo data")
    args = parser.parse_args(argv)
    for service in _selected(args.service):
        if args.command in ("init", "migrate"):
            migrate(service)
            print(f"{service}: schema up to date")
        if args.command in ("init", "seed") and service in SEEDED_SERVICES:
            seeded = seed_if_empty(service, args.seed)
            print(f"{service}: demo data {'seeded' if seeded else 'already present'}")


if __name__ == "__main__":
    main()
