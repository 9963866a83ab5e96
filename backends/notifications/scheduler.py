"""Day-before appointment reminders: `python -m backends.notifications.scheduler` (in the Procfile).

Every NOTIFICATIONS_SCHEDULER_INTERVAL_SECONDS (60) it asks whether reminders are due (from
NOTIFICATIONS_REMINDER_HOUR, 09:00 WIB, until midnight) and, if so, runs the
"appointment_tomorrow" campaign for tomorrow's date. The ledger makes every tick after the first
send only to bookings made since; a cancelled appointment leaves the cohort and gets nothing.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Callable, Optional

from backends.notifications import domain
from backends.notifications.cohorts import CohortUnavailable
from backends.notifications.sender import CampaignSender
from backends.shared.clock import WIB
from backends.shared.database import make_engine
from backends.shared.settings import load_notification_settings, load_settings
from backends.shared.web import configure_logging

log = logging.getLogger(__name__)
REMINDER_TEMPLATE = "appointment_tomorrow"


def now_wib() -> dt.datetime:
    return dt.datetime.now(WIB)


class ReminderScheduler:
    def __init__(self, sender: CampaignSender, reminder_hour: int, clock: Callable[[], dt.datetime] = now_wib):
        self.sender, self.reminder_hour, self.clock = sender, reminder_hour, clock

    def tick(self) -> Optional[domain.Summary]:
        """One look at the clock; the summary of the run it made, or None when nothing was due."""
        date = domain.reminder_date_due(self.clock(), self.reminder_hour)
        if date is None:
            return None
        cohort = domain.choose_cohort(REMINDER_TEMPLATE, date - dt.timedelta(days=1), date=date)
        try:
            summary = self.sender.send(cohort)
        except CohortUnavailable:
            return None  # logged by the sender; the next tick tries again
        if summary.sent or summary.failed:
            log.info("reminders: %s", summary.line(), extra={"event": "reminders_sent"})
        return summary

    def run_forever(self, interval_seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
        log.info("reminder scheduler started: every %ss, from %02d:00 WIB", interval_seconds, self.reminder_hour)
        while True:
            try:
                self.tick()
            except Exception as error:  # noqa: BLE001 - e.g. the database restarting: retry next tick
                log.warning("reminder tick failed: %s", type(error).__name__)
            sleep(interval_seconds)


def main() -> None:
    from backends.notifications.wiring import build_sender
    from backends.shared.database import make_session_factory

    configure_logging()
    options = load_notification_settings()
    engine = make_engine(load_settings("notifications").database_url)
    ReminderScheduler(build_sender(make_session_factory(engine)), options.reminder_hour).run_forever(
        options.scheduler_interval_seconds)


if __name__ == "__main__":
    main()
