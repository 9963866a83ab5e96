"""One campaign run: read the cohort, skip (opted out, already sent, no contact), put everyone else
in the ledger (the recipient's address sealed) and hand the row ids to the workers.

With a broker (NOTIFICATIONS_BROKER_URL) the workers send, on as many machines as there are;
without one, `InlineQueue` sends here, one by one, with the same code. Re-running a campaign
resumes it: rows still queued (or deferred by the messaging tier, or in doubt for longer than the
grace period) are handed out again, and the ledger lets only one worker send each.

Used by the command (`python -m backends.notifications.send`), the HTTP endpoint and the scheduler.
"""
from __future__ import annotations

import datetime as dt
import itertools
import logging
import time
from typing import Callable, Iterable, Iterator, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from tqdm import tqdm

from backends.notifications import domain, services
from backends.notifications.cohorts import CohortSource, CohortUnavailable
from backends.notifications.orm import Delivery
from backends.notifications.sealing import Sealer
from backends.notifications.whatsapp import template_parameters
from backends.shared.clock import utcnow

log = logging.getLogger(__name__)
BATCH_SIZE = 500


class CampaignSender:
    def __init__(self, sessions: sessionmaker, key: bytes, cohorts: CohortSource, queue, sealer: Sealer,
                 limits=None, state=None, in_doubt_seconds: float = 900.0, registrations=None):
        self.sessions, self.key, self.cohorts, self.queue, self.sealer = sessions, key, cohorts, queue, sealer
        self.limits, self.state, self.in_doubt_seconds = limits, state, in_doubt_seconds
        self.registrations = registrations or (cohorts if hasattr(cohorts, "booked_since") else None)

    def start(self, cohort: domain.Cohort, dry_run: bool = False) -> int:
        """Records a new run and returns its id (the run itself is `run`)."""
        with self.sessions() as session:
            return services.start_run(session, cohort, dry_run).id

    def run(self, run_id: int, cohort: domain.Cohort, dry_run: bool = False, progress: bool = False,
            wait_seconds: float = 0.0) -> domain.Summary:
        """Queues the cohort; with `wait_seconds`, also follows the workers until the run's rows
        are settled (or the time is up) so the summary says what was sent."""
        summary = domain.Summary(campaign_id=cohort.campaign_id, dry_run=dry_run)
        try:
            recipients = self.cohorts.recipients(cohort)
            budget = None if dry_run or self.limits is None else self.limits.tier_remaining()
            if not dry_run:
                budget = self._resume(cohort, run_id, budget)
            with tqdm(desc=cohort.campaign_id, unit="recipient", disable=not progress) as bar:
                for batch in _batches(recipients, BATCH_SIZE):
                    budget = self._claim(run_id, cohort, batch, summary, dry_run, budget)
                    bar.update(len(batch))
                    bar.set_postfix(queued=summary.queued, skipped=summary.skipped, refresh=False)
        except CohortUnavailable as error:
            log.warning("campaign %s not run: %s", cohort.campaign_id, error)
            self._finish(run_id, summary, str(error))
            raise
        except Exception as error:
            # E.g. the database went away: the run is recorded as broken with what it did so far.
            self._finish(run_id, summary, type(error).__name__)
            raise
        if not dry_run:
            self._follow(run_id, summary, wait_seconds, progress)
        self._finish(run_id, summary)
        log.info("campaign run finished: %s", summary.line(), extra={"event": "campaign_finished"})
        return summary

    def send(self, cohort: domain.Cohort, dry_run: bool = False, progress: bool = False,
             wait_seconds: float = 0.0) -> domain.Summary:
        return self.run(self.start(cohort, dry_run), cohort, dry_run, progress, wait_seconds)

    # --- claiming ---

    def _resume(self, cohort: domain.Cohort, run_id: int, budget: Optional[int]) -> Optional[int]:
        """Hands out again what an earlier run left: queued rows, deferred ones the tier now has
        room for, and rows in doubt for longer than the grace period."""
        cutoff = utcnow() - dt.timedelta(seconds=self.in_doubt_seconds)
        with self.sessions() as session:
            ids = services.resumable_ids(session, cohort.campaign_id, cutoff)
            ids += services.requeue_deferred(session, cohort.campaign_id, budget)
        if ids:
            log.info("campaign %s: %d recipients of earlier runs handed out again", cohort.campaign_id, len(ids))
            self.queue.deliver(ids)
        return None if budget is None else max(0, budget - len(ids))

    def _claim(self, run_id: int, cohort: domain.Cohort, batch: List[domain.Recipient], summary: domain.Summary,
               dry_run: bool, budget: Optional[int]) -> Optional[int]:
        summary.total += len(batch)
        reachable = [r for r in batch if r.reachable]
        summary.skipped_no_contact += len(batch) - len(reachable)
        hashes = {services.recipient_hash(self.key, r.channel, r.conversation_id): r for r in reachable}
        with self.sessions() as session:
            opted_out = services.opted_out_among(session, list(hashes))
            summary.skipped_opted_out += len(opted_out)
            wanted = {h: r for h, r in hashes.items() if h not in opted_out}
            if dry_run:
                self._count_dry(session, cohort, wanted, summary)
                return budget
            claim = services.claim_batch(session, cohort.campaign_id, run_id,
                                         [self._entry(cohort, h, r) for h, r in wanted.items()])
            # The same person twice in a cohort (two bookings of one conversation) gets it once.
            summary.skipped_already_sent += claim.already_sent + len(reachable) - len(hashes)
            ids = claim.ids
            if budget is not None:
                ids, over, used = self._within_budget(session, ids, budget)
                budget -= used
                summary.deferred += len(over)
        summary.queued += len(ids)
        if ids:
            self.queue.deliver(ids)
        return budget

    def _within_budget(self, session, ids: List[int], budget: int):
        """The messaging tier's room today: WhatsApp rows beyond it wait, `deferred`."""
        whatsapp = set(session.execute(select(Delivery.id).where(
            Delivery.id.in_(ids), Delivery.channel == domain.WHATSAPP_CHANNEL)).scalars())
        keep, over, room = [], [], budget
        for delivery_id in ids:
            if delivery_id in whatsapp:
                if room <= 0:
                    over.append(delivery_id)
                    continue
                room -= 1
            keep.append(delivery_id)
        services.defer(session, over)
        return keep, over, budget - room

    def _entry(self, cohort: domain.Cohort, hashed: str, recipient: domain.Recipient) -> services.Entry:
        values = {"to": recipient.conversation_id, "entities": recipient.entities}
        if recipient.channel == domain.WHATSAPP_CHANNEL:
            values["params"] = template_parameters(cohort.template.name, recipient.entities)
            if recipient.sms_phone:
                values["sms"] = recipient.sms_phone
        return services.Entry(hashed, recipient.channel, self.sealer.seal(values), recipient.subject_ref)

    def _count_dry(self, session, cohort: domain.Cohort, wanted, summary: domain.Summary) -> None:
        statuses = services.statuses_among(session, cohort.campaign_id, list(wanted))
        now = time.time()
        for hashed, recipient in wanted.items():
            if not domain.may_claim(statuses.get(hashed)):
                summary.skipped_already_sent += 1
                continue
            summary.would_send += 1
            if recipient.channel != domain.WHATSAPP_CHANNEL:
                summary.would_send_other_channel += 1
                continue
            last = self.state.last_inbound(recipient.conversation_id) if self.state is not None else None
            if domain.whatsapp_message_kind(last, now) == domain.TEXT:
                summary.would_send_text += 1
            else:
                summary.would_send_template += 1

    # --- following the workers ---

    def _follow(self, run_id: int, summary: domain.Summary, wait_seconds: float, progress: bool) -> None:
        with self.sessions() as session:
            counts = services.run_progress(session, run_id)
        services.apply_progress(summary, counts)
        if wait_seconds <= 0 or not summary.queued:
            return
        deadline = time.monotonic() + wait_seconds
        total = sum(counts.values())
        with tqdm(total=total, desc="sending", unit="msg", disable=not progress) as bar:
            while True:
                with self.sessions() as session:
                    counts = services.run_progress(session, run_id)
                services.apply_progress(summary, counts)
                settled = total - summary.queued - summary.deferred
                bar.update(settled - bar.n)
                bar.set_postfix(sent=summary.sent, failed=summary.failed, refresh=False)
                if not summary.queued or time.monotonic() > deadline:
                    return
                time.sleep(0.5)

    def funnel(self, campaign: domain.Campaign, campaign_id: str, refresh_registrations: bool = True
               ) -> domain.Funnel:
        """The campaign's funnel; for invitations, first asks who has booked since."""
        if campaign.counts_registrations and refresh_registrations and self.registrations is not None:
            with self.sessions() as session:
                pending = services.unregistered_subjects(session, campaign_id)
            if pending:
                try:
                    booked = self.registrations.booked_since(min(pending.values()))
                except CohortUnavailable:
                    booked = None  # the figure stays as last counted; the rest of the funnel is ours
                if booked is not None:
                    with self.sessions() as session:
                        services.mark_registered(session, campaign_id, booked)
        with self.sessions() as session:
            return services.funnel(session, campaign_id, campaign.counts_registrations)

    def _finish(self, run_id: int, summary: domain.Summary, error: str = "") -> None:
        with self.sessions() as session:
            services.finish_run(session, run_id, summary, error)


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while True:
        batch = list(itertools.islice(iterator, size))
        if not batch:
            return
        yield batch
