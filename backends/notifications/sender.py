"""One campaign run: fetch the cohort, then for each recipient skip (opted out, already sent, no
contact) or claim the ledger row, wait for the rate limiter, trigger the intent, record the outcome.

Used by the command (`python -m backends.notifications.send`), the HTTP endpoint and the scheduler.
"""
from __future__ import annotations

import logging
from typing import Optional

from sqlalchemy.orm import sessionmaker
from tqdm import tqdm

from backends.notifications import domain, services
from backends.notifications.cohorts import CohortSource, CohortUnavailable
from backends.notifications.rasa import DeliveryFailed, RasaEvents

log = logging.getLogger(__name__)


class CampaignSender:
    def __init__(self, sessions: sessionmaker, key: bytes, cohorts: CohortSource, rasa: RasaEvents,
                 limiter: domain.TokenBucket):
        self.sessions, self.key, self.cohorts, self.rasa, self.limiter = sessions, key, cohorts, rasa, limiter

    def start(self, cohort: domain.Cohort, dry_run: bool = False) -> int:
        """Records a new run and returns its id (the run itself is `run`)."""
        with self.sessions() as session:
            return services.start_run(session, cohort, dry_run).id

    def run(self, run_id: int, cohort: domain.Cohort, dry_run: bool = False, progress: bool = False
            ) -> domain.Summary:
        summary = domain.Summary(campaign_id=cohort.campaign_id, dry_run=dry_run)
        try:
            recipients = self.cohorts.recipients(cohort)
        except CohortUnavailable as error:
            log.warning("campaign %s not run: %s", cohort.campaign_id, error)
            self._finish(run_id, summary, str(error))
            raise
        summary.total = len(recipients)
        try:
            with tqdm(recipients, desc=cohort.campaign_id, unit="msg", disable=not progress) as bar:
                for recipient in bar:
                    self._deliver(run_id, cohort, recipient, summary, dry_run)
                    bar.set_postfix(sent=summary.sent, skipped=summary.skipped, failed=summary.failed,
                                    refresh=False)
        except Exception as error:
            # E.g. the database went away: the run is recorded as broken with what it did so far.
            self._finish(run_id, summary, type(error).__name__)
            raise
        self._finish(run_id, summary)
        log.info("campaign run finished: %s", summary.line(), extra={"event": "campaign_finished"})
        return summary

    def send(self, cohort: domain.Cohort, dry_run: bool = False, progress: bool = False) -> domain.Summary:
        return self.run(self.start(cohort, dry_run), cohort, dry_run, progress)

    def _deliver(self, run_id: int, cohort: domain.Cohort, recipient: domain.Recipient, summary: domain.Summary,
                 dry_run: bool) -> None:
        if not recipient.reachable:
            summary.skipped_no_contact += 1
            return
        hashed = services.recipient_hash(self.key, recipient.channel, recipient.conversation_id)
        with self.sessions() as session:
            if services.is_opted_out(session, hashed):
                summary.skipped_opted_out += 1
                return
            if dry_run:
                if domain.may_claim(services.delivery_status(session, cohort.campaign_id, hashed)):
                    summary.would_send += 1
                else:
                    summary.skipped_already_sent += 1
                return
            if not services.claim_delivery(session, cohort.campaign_id, hashed, run_id):
                summary.skipped_already_sent += 1
                return
        self.limiter.acquire()
        error: Optional[str] = None
        try:
            self.rasa.trigger_intent(recipient.channel, recipient.conversation_id, cohort.template.intent,
                                     recipient.entities)
        except DeliveryFailed as failure:
            error = str(failure)
        with self.sessions() as session:
            services.finish_delivery(session, cohort.campaign_id, hashed, sent=error is None, error=error or "")
        if error is None:
            summary.sent += 1
        else:
            summary.failed += 1
            log.warning("notification not delivered (%s): %s", cohort.campaign_id, error)

    def _finish(self, run_id: int, summary: domain.Summary, error: str = "") -> None:
        with self.sessions() as session:
            services.finish_run(session, run_id, summary, error)
