"""One recipient's message, as a worker sends it: the use case behind each queue task.

`deliver(id)`: move the ledger row from `queued` to `sending` (only one worker can), open the
sealed address, then by channel:

- **WhatsApp**: a template when the 24-hour window is closed or unknown (it takes one message
  of the messaging tier; none left: the row is `deferred`), free-form text inside it; wait for
  the number's throughput and the user's pair rate; send with the row's reference as callback
  data. Meta's answer decides: accepted -> `sent`; 130429 -> every worker backs off and the row
  goes back to the queue; 131056 -> retried after the pair interval; 131047 -> the template
  instead; not on WhatsApp / undeliverable -> the SMS, if the campaign has one; our own
  configuration wrong -> `failed`, no SMS flood. No answer at all after the request went out:
  the row stays `sending` (in doubt) until a status webhook settles it.
- **SMS**: the campaign's PEDULICOVID text through the SMS gateway.
- **another Rasa channel** (web chat, REST): the `EXTERNAL_<campaign>` intent through Rasa.

`record_events(events)`: Meta's statuses and the replies, from the webhook; a `failed` status
may turn the row into an SMS or send the WhatsApp message again.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Dict, List, Mapping, Optional

from sqlalchemy.orm import sessionmaker

from backends.notifications import domain, services, templates
from backends.notifications.rasa import DeliveryFailed, RasaEvents
from backends.notifications.sealing import Sealer
from backends.notifications.whatsapp import template_or_text
from backends.shared.errors import DomainError
from channels.whatsapp_reports import message_digest

log = logging.getLogger(__name__)
THROTTLE_BACKOFF_SECONDS = (2.0, 4.0, 8.0, 16.0, 32.0, 60.0)
PARKED_AFTER_ATTEMPTS = 20


class DeliveryWorker:
    def __init__(self, sessions: sessionmaker, sealer: Sealer, *, whatsapp=None, sms=None,
                 rasa: Optional[RasaEvents] = None, limits=None, state=None, queue=None,
                 rasa_limiter: Optional[domain.TokenBucket] = None, max_attempts: int = 5,
                 pair_interval_seconds: float = 6.0, clock: Callable[[], float] = time.time):
        self.sessions, self.sealer = sessions, sealer
        self.whatsapp, self.sms, self.rasa = whatsapp, sms, rasa
        self.limits, self.state, self.queue = limits, state, queue
        self.rasa_limiter = rasa_limiter
        self.max_attempts, self.pair_interval = max_attempts, pair_interval_seconds
        self.clock = clock
        self._throttled = 0

    # --- one row ---

    def deliver(self, delivery_id: int) -> Optional[str]:
        """Sends the row's message if it is queued; returns the row's state afterwards (None: not ours)."""
        with self.sessions() as session:
            row = services.begin_sending(session, delivery_id)
        if row is None:
            return None  # another worker has it, or it is settled: this task was a duplicate
        values = self.sealer.unseal(row.sealed)
        campaign = _campaign_of(row.campaign_id)
        if values is None or campaign is None:
            return self._fail(row.id, None, "unreadable ledger row (sealing key changed?)")
        if row.channel == domain.SMS_CHANNEL:
            return self._send_sms(row, campaign, values)
        if row.channel == domain.WHATSAPP_CHANNEL:
            return self._send_whatsapp(row, campaign, values)
        return self._send_through_rasa(row, campaign, values)

    def _send_whatsapp(self, row: services.Sending, campaign: domain.Campaign, values: Dict) -> str:
        wa_id = str(values["to"])
        last = self.state.last_inbound(wa_id) if self.state is not None else None
        kind = domain.TEMPLATE if row.message_kind == domain.TEMPLATE else domain.whatsapp_message_kind(
            last, self.clock())
        wait = self.limits.pair_wait(wa_id)
        if wait > 0:
            return self._later(row.id, wait, kind, row.attempts)
        if kind == domain.TEMPLATE and not self.limits.take_tier():
            with self.sessions() as session:
                services.mark_deferred(session, row.id)
            return domain.DEFERRED
        try:
            messages = template_or_text(campaign.template, values.get("params") or {}, kind == domain.TEXT)
        except templates.TemplateError as error:
            return self._fail(row.id, None, str(error))
        first_digest: Optional[str] = None
        for index, message in enumerate(messages):
            self.limits.wait_for_throughput()
            outcome = self.whatsapp.send(wa_id, message, callback_data=services.reference(row.id))
            if outcome.accepted:
                first_digest = first_digest or (message_digest(outcome.message_id) if outcome.message_id else None)
                continue
            if index > 0:
                break  # the words went out; a missing button message is not worth a second copy
            if kind == domain.TEMPLATE and not outcome.may_have_been_sent:
                self.limits.give_back_tier()
            return self._refused(row, values, kind, outcome)
        with self.sessions() as session:
            services.mark_sent(session, row.id, kind, first_digest)
        self._throttled = 0
        if self.state is not None:
            self.state.note_notified(wa_id, services.reference(row.id))
        return domain.SENT

    def _refused(self, row: services.Sending, values: Dict, kind: str, outcome) -> Optional[str]:
        if outcome.may_have_been_sent:
            # The request went out and no answer came back: Meta may have sent it. Left `sending`;
            # its status webhook settles it, or the in-doubt grace period re-queues it.
            log.warning("notification %s in doubt: no answer from the Graph API", row.id)
            return domain.SENDING
        consequence = domain.classify_send_error(outcome.http_status, outcome.error_code)
        if consequence == domain.THROTTLED:
            backoff = outcome.retry_after or THROTTLE_BACKOFF_SECONDS[min(self._throttled,
                                                                          len(THROTTLE_BACKOFF_SECONDS) - 1)]
            self._throttled += 1
            self.limits.pause(backoff)
            log.warning("WhatsApp throughput limit (%s): every worker pauses %.0f s", outcome.error_code, backoff)
            return self._later(row.id, backoff, kind, row.attempts)
        if consequence == domain.PAIR_LIMITED:
            return self._later(row.id, self.pair_interval * 2, kind, row.attempts)
        if consequence == domain.WINDOW_CLOSED and kind != domain.TEMPLATE:
            return self._later(row.id, 0, domain.TEMPLATE)
        if consequence == domain.RETRY and row.attempts < self.max_attempts:
            return self._later(row.id, min(300.0, 2.0 ** row.attempts), kind)
        if consequence in (domain.UNDELIVERABLE, domain.RETRY) and values.get("sms") and \
                services.sms_allowed(row.campaign_id):
            with self.sessions() as session:
                switched = services.switch_to_sms(session, row.id, outcome.error_code)
            if switched and self.queue is not None:
                self.queue.deliver([row.id])
            return domain.QUEUED
        return self._fail(row.id, outcome.error_code, f"whatsapp refused: HTTP {outcome.http_status}, "
                                                      f"code {outcome.error_code} ({consequence})")

    def _send_sms(self, row: services.Sending, campaign: domain.Campaign, values: Dict) -> str:
        from backends.certificate.domain import SmsUnavailable

        phone = values.get("sms")
        try:
            text = templates.get(campaign.template).render_sms(values.get("params") or {})
        except templates.TemplateError as error:
            return self._fail(row.id, None, str(error))
        if not phone:
            return self._fail(row.id, None, "no SMS number")
        try:
            self.sms.send(str(phone), text)
        except SmsUnavailable:
            if row.attempts < self.max_attempts:
                return self._later(row.id, min(300.0, 2.0 ** row.attempts), domain.SMS_CHANNEL)
            return self._fail(row.id, None, "sms gateway unavailable")
        with self.sessions() as session:
            services.mark_sent(session, row.id, domain.SMS_CHANNEL, None)
        return domain.SENT

    def _send_through_rasa(self, row: services.Sending, campaign: domain.Campaign, values: Dict) -> str:
        if self.rasa_limiter is not None:
            self.rasa_limiter.acquire()
        try:
            self.rasa.trigger_intent(row.channel, str(values["to"]), campaign.intent,
                                     values.get("entities") or {})
        except DeliveryFailed as failure:
            # As before queues: a failed trigger is retried by the next run of the campaign.
            return self._fail(row.id, None, str(failure))
        with self.sessions() as session:
            services.mark_sent(session, row.id, "event", None)
        return domain.SENT

    def _later(self, delivery_id: int, delay: float, kind: Optional[str], attempts: int = 0) -> str:
        with self.sessions() as session:
            services.requeue(session, delivery_id, kind)
        if self.queue is not None and attempts < PARKED_AFTER_ATTEMPTS:
            self.queue.deliver([delivery_id], delay_seconds=delay or None)
        # Past that many attempts (Meta throttling for a long time) the row stays queued: the next
        # run of the campaign resumes it.
        return domain.QUEUED

    def _fail(self, delivery_id: int, code: Optional[int], error: str) -> str:
        with self.sessions() as session:
            services.mark_failed(session, delivery_id, code, error)
        log.warning("notification %s failed: %s", delivery_id, error[:120])
        return domain.FAILED

    # --- delivery reports ---

    def record_events(self, events: List[Mapping]) -> None:
        with self.sessions() as session:
            follow_ups = services.record_events(session, events)
        for action, delivery_id in follow_ups:
            if self.queue is not None:
                self.queue.deliver([delivery_id])


def _campaign_of(campaign_id: str) -> Optional[domain.Campaign]:
    try:
        return domain.template(campaign_id.split(":", 1)[0])
    except DomainError:
        return None
