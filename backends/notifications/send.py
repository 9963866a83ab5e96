"""Send a notification campaign to its cohort, with a progress bar, a summary and the funnel.

    python -m backends.notifications.send invitation [--round 1] [--dry-run]
    python -m backends.notifications.send appointment_tomorrow [--date 2026-11-24] [--dry-run]
    python -m backends.notifications.send second_dose_due [--days 28] [--dry-run]

With NOTIFICATIONS_BROKER_URL set the recipients are queued for the workers and the command
follows them for up to --wait seconds (default 600; 0 returns at once); without it, this process
sends them itself. Re-running the same command sends nothing twice (the ledger) and resumes what
an earlier run left (queued, deferred by the messaging tier, or in doubt). `--dry-run` shows the
cohort and what it would cost in template messages, and claims nothing.
Exit status: 0 when nothing failed, 1 when some sends failed, 2 when the cohort was unavailable.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Optional

from backends.notifications import domain, templates
from backends.notifications.cohorts import CohortUnavailable
from backends.notifications.settings import load_delivery_settings
from backends.notifications.wiring import build_sender
from backends.shared.clock import today_wib
from backends.shared.database import make_engine, make_session_factory
from backends.shared.settings import load_settings
from backends.shared.web import configure_logging


def dry_run_report(summary: domain.Summary, campaign: domain.Campaign, tier: Optional[int]) -> str:
    """What the operator needs before a national run: who, through what, and what it costs."""
    template = templates.get(campaign.template)
    tier_text = "unlimited" if tier is None else f"{tier:,}"
    lines = [
        f"cohort {summary.campaign_id}: {summary.total:,} recipients",
        f"  skipped: opted out {summary.skipped_opted_out:,}, already sent {summary.skipped_already_sent:,}, "
        f"no contact {summary.skipped_no_contact:,}",
        f"  would send {summary.would_send:,}:",
        f"    WhatsApp template {template.meta_name} ({template.category}, language {template.language}): "
        f"{summary.would_send_template:,} template messages",
        f"    WhatsApp free-form inside the 24-hour window (no template): {summary.would_send_text:,}",
        f"    other channels through Rasa (web chat, REST): {summary.would_send_other_channel:,}",
        f"  messaging tier {tier_text} per 24 h: {domain.days_to_send(summary.would_send_template, tier)} day(s) "
        f"for the template messages",
    ]
    if template.has_sms_fallback:
        lines.append("  SMS (PEDULICOVID) only where WhatsApp reports the number unreachable or delivery failed")
    return "\n".join(lines)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backends.notifications.send", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template", choices=sorted(domain.CAMPAIGNS))
    parser.add_argument("--date", type=dt.date.fromisoformat, help="appointment date (appointment_tomorrow)")
    parser.add_argument("--days", type=int, help="days since the first dose (second_dose_due, default 28)")
    parser.add_argument("--round", help="invitation round (invitation, default 1): a new round invites again")
    parser.add_argument("--dry-run", action="store_true", help="show the cohort and the cost; send nothing")
    parser.add_argument("--wait", type=float, default=600.0,
                        help="with a broker: seconds to follow the workers before returning (default 600)")
    args = parser.parse_args(argv)
    configure_logging()
    try:
        cohort = domain.choose_cohort(args.template, today_wib(), args.date, args.days, args.round)
    except domain.DomainError as error:
        parser.error(str(error.detail))
    engine = make_engine(load_settings("notifications").database_url)
    try:
        sender = build_sender(make_session_factory(engine))
        summary = sender.send(cohort, dry_run=args.dry_run, progress=True, wait_seconds=args.wait)
        funnel = None if args.dry_run else sender.funnel(cohort.template, cohort.campaign_id)
    except CohortUnavailable as error:
        print(f"cohort unavailable: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.dry_run:
        print(dry_run_report(summary, cohort.template, load_delivery_settings().messaging_tier))
        return 0
    print(summary.line())
    print(funnel.line())
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
