"""Use cases of the notification service: one function per operation, each its own transaction."""
from __future__ import annotations

import logging
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backends.notifications import domain
from backends.notifications.orm import CampaignRun, Delivery, Preference
from backends.shared.clock import utcnow
from backends.shared.errors import DomainError
from backends.shared.signing import keyed_hash

log = logging.getLogger(__name__)


class RunNotFound(DomainError):
    code, message, status = "run_not_found", "Proses pengiriman tidak ditemukan.", 404


def recipient_hash(key: bytes, channel: str, conversation_id: str) -> str:
    """The only form in which a recipient is stored: a keyed hash, never the number itself."""
    return keyed_hash(key, "recipient", channel.strip().lower(), conversation_id.strip())


# --- Preferences ---------------------------------------------------------------------------------

def set_opted_out(session: Session, key: bytes, channel: str, conversation_id: str, opted_out: bool) -> bool:
    """Records the recipient's choice (idempotent); returns it."""
    hashed = recipient_hash(key, channel, conversation_id)
    preference = session.get(Preference, hashed)
    if preference is None:
        session.add(Preference(recipient_hash=hashed, opted_out=opted_out, updated_at=utcnow()))
    else:
        preference.opted_out, preference.updated_at = opted_out, utcnow()
    try:
        session.commit()
    except IntegrityError:
        # The same person pressed STOP twice at once: the other request stored the row first.
        session.rollback()
        session.execute(update(Preference).where(Preference.recipient_hash == hashed)
                        .values(opted_out=opted_out, updated_at=utcnow()))
        session.commit()
    log.info("notification preference changed", extra={"event": "opted_out" if opted_out else "opted_in"})
    return opted_out


def is_opted_out(session: Session, hashed: str) -> bool:
    return bool(session.execute(select(Preference.opted_out).where(Preference.recipient_hash == hashed)).scalar())


# --- The delivery ledger -------------------------------------------------------------------------

def claim_delivery(session: Session, campaign_id: str, hashed: str, run_id: int) -> bool:
    """Claims the right to send `campaign_id` to a recipient; False when it was sent or is in flight.

    The UNIQUE (campaign_id, recipient_hash) row is the lock: of two runs inserting it, one gets
    an IntegrityError. A failed row is re-claimed with a conditional UPDATE, which also lets only
    one of two racing runs win.
    """
    session.add(Delivery(campaign_id=campaign_id, recipient_hash=hashed, status=domain.CLAIMED, attempts=1,
                         run_id=run_id, updated_at=utcnow()))
    try:
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
    status = session.execute(select(Delivery.status).where(Delivery.campaign_id == campaign_id,
                                                           Delivery.recipient_hash == hashed)).scalar()
    if not domain.may_claim(status):
        return False
    retried = session.execute(
        update(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.recipient_hash == hashed,
                               Delivery.status == domain.FAILED)
        .values(status=domain.CLAIMED, attempts=Delivery.attempts + 1, run_id=run_id, error=None,
                updated_at=utcnow())
        .execution_options(synchronize_session=False))
    session.commit()
    return retried.rowcount == 1


def finish_delivery(session: Session, campaign_id: str, hashed: str, sent: bool, error: str = "") -> None:
    session.execute(
        update(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.recipient_hash == hashed)
        .values(status=domain.SENT if sent else domain.FAILED, error=(error or None) and error[:200],
                updated_at=utcnow())
        .execution_options(synchronize_session=False))
    session.commit()


def delivery_status(session: Session, campaign_id: str, hashed: str) -> Optional[str]:
    return session.execute(select(Delivery.status).where(Delivery.campaign_id == campaign_id,
                                                         Delivery.recipient_hash == hashed)).scalar()


# --- Campaign runs -------------------------------------------------------------------------------

def start_run(session: Session, cohort: domain.Cohort, dry_run: bool) -> CampaignRun:
    run = CampaignRun(campaign_id=cohort.campaign_id, template=cohort.template.name, cohort_date=cohort.date,
                      dry_run=dry_run, status="running", started_at=utcnow())
    session.add(run)
    session.commit()
    return run


def finish_run(session: Session, run_id: int, summary: domain.Summary, error: str = "") -> CampaignRun:
    run = get_run(session, run_id)
    for name in ("total", "sent", "would_send", "skipped_opted_out", "skipped_already_sent", "skipped_no_contact",
                 "failed"):
        setattr(run, name, getattr(summary, name))
    run.status = "error" if error else "finished"
    run.error = error[:200] or None
    run.finished_at = utcnow()
    session.commit()
    return run


def get_run(session: Session, run_id: int) -> CampaignRun:
    run = session.get(CampaignRun, run_id)
    if run is None:
        raise RunNotFound()
    return run


def summary_of(run: CampaignRun) -> domain.Summary:
    return domain.Summary(campaign_id=run.campaign_id, dry_run=run.dry_run, total=run.total, sent=run.sent,
                          would_send=run.would_send, skipped_opted_out=run.skipped_opted_out,
                          skipped_already_sent=run.skipped_already_sent,
                          skipped_no_contact=run.skipped_no_contact, failed=run.failed)
