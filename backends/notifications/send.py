"""Send a notification template to its cohort, with a progress bar and a final summary.

    python -m backends.notifications.send appointment_tomorrow [--date 2026-11-24] [--dry-run]
    python -m backends.notifications.send second_dose_due [--days 28] [--dry-run]

Re-running the same command sends nothing twice (the ledger); failed sends are retried.
Exit status: 0 when nothing failed, 1 when some sends failed, 2 when the cohort was unavailable.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Optional

from backends.notifications import domain
from backends.notifications.cohorts import BackendCohorts, CohortUnavailable
from backends.notifications.rasa import RasaEvents
from backends.notifications.sender import CampaignSender
from backends.shared.clock import today_wib
from backends.shared.database import make_engine, make_session_factory
from backends.shared.settings import load_notification_settings, load_settings
from backends.shared.web import configure_logging


def build_sender(engine) -> CampaignSender:
    settings, options = load_settings("notifications"), load_notification_settings()
    return CampaignSender(make_session_factory(engine), settings.signing_key, BackendCohorts.from_settings(options),
                          RasaEvents(options.rasa_url, options.rasa_token, options.timeout_seconds),
                          domain.TokenBucket(options.messages_per_second))


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backends.notifications.send", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template", choices=sorted(domain.TEMPLATES))
    parser.add_argument("--date", type=dt.date.fromisoformat, help="appointment date (appointment_tomorrow)")
    parser.add_argument("--days", type=int, help="days since the first dose (second_dose_due, default 28)")
    parser.add_argument("--dry-run", action="store_true", help="count who would get it; send nothing")
    args = parser.parse_args(argv)
    configure_logging()
    try:
        cohort = domain.choose_cohort(args.template, today_wib(), args.date, args.days)
    except domain.DomainError as error:
        parser.error(error.message)
    engine = make_engine(load_settings("notifications").database_url)
    try:
        summary = build_sender(engine).send(cohort, dry_run=args.dry_run, progress=True)
    except CohortUnavailable as error:
        print(f"cohort unavailable: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(summary.line())
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
