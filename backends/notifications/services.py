"""Use cases of the notification service: one function per operation, each its own transaction.

The ledger (`notification_deliveries`) is the single source of truth for "already sent": every
state change is a conditional UPDATE, so of two workers (or a worker and a status webhook) that
race for a row only one can make each move.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backends.notifications import domain
from backends.notifications.orm import CampaignRun, Delivery, Preference
from backends.shared.clock import utcnow
from backends.shared.errors import DomainError
from backends.shared.signing import keyed_hash

log = logging.getLogger(__name__)
REFERENCE_PREFIX = "vb1:"
IN_FLIGHT = (domain.QUEUED, domain.SENDING, domain.DEFERRED)


class RunNotFound(DomainError):
    code, detail, status = "run_not_found", "No such campaign run.", 404


def recipient_hash(key: bytes, channel: str, conversation_id: str) -> str:
    """The only form in which a recipient is stored: a keyed hash, never the number itself."""
    return keyed_hash(key, "recipient", channel.strip().lower(), conversation_id.strip())


def reference(delivery_id: int) -> str:
    """Our `biz_opaque_callback_data`: Meta returns it in every status of the message."""
    return f"{REFERENCE_PREFIX}{delivery_id}"


def delivery_id_of(reference_text: Optional[str]) -> Optional[int]:
    if not reference_text or not str(reference_text).startswith(REFERENCE_PREFIX):
        return None
    tail = str(reference_text)[len(REFERENCE_PREFIX):]
    return int(tail) if tail.isdigit() else None


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


def opted_out_among(session: Session, hashes: Sequence[str]) -> Set[str]:
    if not hashes:
        return set()
    return set(session.execute(select(Preference.recipient_hash).where(
        Preference.recipient_hash.in_(list(hashes)), Preference.opted_out.is_(True))).scalars())


# --- Claiming: a run puts recipients in the ledger ---------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """A recipient a run wants to reach: the hash, the channel, the sealed address and values."""

    recipient_hash: str
    channel: str
    sealed: str
    subject_ref: Optional[str] = None


@dataclass
class Claim:
    ids: List[int]            # rows this run queued: hand them to the workers
    already_sent: int = 0     # rows sent (or being sent) before


def claim_batch(session: Session, campaign_id: str, run_id: int, entries: Sequence[Entry]) -> Claim:
    """Queues every entry that has no row yet, or whose last attempt failed. Rows still queued or
    deferred belong to a run in progress (a new run hands them out again at its start, see
    `resumable_ids`); rows being sent or sent are left alone."""
    by_hash = {entry.recipient_hash: entry for entry in entries}
    if not by_hash:
        return Claim([])
    existing = dict(session.execute(select(Delivery.recipient_hash, Delivery.status).where(
        Delivery.campaign_id == campaign_id, Delivery.recipient_hash.in_(list(by_hash)))).all())
    now = utcnow()
    new = [{"campaign_id": campaign_id, "recipient_hash": h, "status": domain.QUEUED, "attempts": 0,
            "run_id": run_id, "updated_at": now, "queued_at": now, "channel": e.channel, "sealed": e.sealed,
            "subject_ref": e.subject_ref} for h, e in by_hash.items() if h not in existing]
    if new:
        try:
            session.execute(insert(Delivery), new)
            session.commit()
        except IntegrityError:
            # A concurrent run inserted some of them: one at a time, each insert its own claim.
            session.rollback()
            for row in new:
                try:
                    session.execute(insert(Delivery), [row])
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    existing[row["recipient_hash"]] = session.execute(select(Delivery.status).where(
                        Delivery.campaign_id == campaign_id,
                        Delivery.recipient_hash == row["recipient_hash"])).scalar()
    resumable = [h for h, status in existing.items() if status == domain.FAILED]
    already = len(existing) - len(resumable)
    for hashed in resumable:
        entry = by_hash[hashed]
        session.execute(
            update(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.recipient_hash == hashed,
                                   Delivery.status == domain.FAILED)
            .values(status=domain.QUEUED, run_id=run_id, error=None, queued_at=now, updated_at=now,
                    sealed=func.coalesce(Delivery.sealed, entry.sealed),
                    # A WhatsApp retry starts clean; an SMS retry keeps "WhatsApp failed" in the funnel.
                    failed_at=case((Delivery.channel == domain.SMS_CHANNEL, Delivery.failed_at), else_=None),
                    error_code=case((Delivery.channel == domain.SMS_CHANNEL, Delivery.error_code), else_=None))
            .execution_options(synchronize_session=False))
    session.commit()
    ids = list(session.execute(select(Delivery.id).where(
        Delivery.campaign_id == campaign_id, Delivery.recipient_hash.in_(list(by_hash)),
        Delivery.run_id == run_id, Delivery.status == domain.QUEUED).order_by(Delivery.id)).scalars())
    return Claim(ids, already)


def defer(session: Session, delivery_ids: Sequence[int]) -> None:
    """Queued rows the messaging tier has no room for today: a later run resumes them."""
    if delivery_ids:
        session.execute(update(Delivery).where(Delivery.id.in_(list(delivery_ids)), Delivery.status == domain.QUEUED)
                        .values(status=domain.DEFERRED, updated_at=utcnow())
                        .execution_options(synchronize_session=False))
        session.commit()


def delivery_status(session: Session, campaign_id: str, hashed: str) -> Optional[str]:
    return session.execute(select(Delivery.status).where(Delivery.campaign_id == campaign_id,
                                                         Delivery.recipient_hash == hashed)).scalar()


def statuses_among(session: Session, campaign_id: str, hashes: Sequence[str]) -> Dict[str, str]:
    if not hashes:
        return {}
    return dict(session.execute(select(Delivery.recipient_hash, Delivery.status).where(
        Delivery.campaign_id == campaign_id, Delivery.recipient_hash.in_(list(hashes)))).all())


# --- Sending: a worker moves one row ------------------------------------------------------------------

@dataclass(frozen=True)
class Sending:
    id: int
    campaign_id: str
    channel: str
    message_kind: Optional[str]
    sealed: Optional[str]
    attempts: int


def begin_sending(session: Session, delivery_id: int) -> Optional[Sending]:
    """queued -> sending; None when another worker has it, or it is settled (a duplicate task)."""
    statement = (update(Delivery).where(Delivery.id == delivery_id, Delivery.status == domain.QUEUED)
                 .values(status=domain.SENDING, claimed_at=utcnow(), attempts=Delivery.attempts + 1,
                         updated_at=utcnow()).execution_options(synchronize_session=False))
    columns = (Delivery.id, Delivery.campaign_id, Delivery.channel, Delivery.message_kind, Delivery.sealed,
               Delivery.attempts)
    if session.bind.dialect.name == "postgresql":
        # One round trip on the hot path: the move and the row together.
        row = session.execute(statement.returning(*columns)).first()
        session.commit()
    else:
        moved = session.execute(statement)
        session.commit()
        row = session.execute(select(*columns).where(Delivery.id == delivery_id)).first() if moved.rowcount == 1 \
            else None
    if row is None:
        return None
    return Sending(row[0], row[1], row[2] or "", row[3], row[4], row[5])


def _move(session: Session, delivery_id: int, from_states: Iterable[str], **values) -> bool:
    values.setdefault("updated_at", utcnow())
    moved = session.execute(update(Delivery).where(Delivery.id == delivery_id, Delivery.status.in_(list(from_states)))
                            .values(**values).execution_options(synchronize_session=False))
    session.commit()
    return moved.rowcount == 1


def mark_sent(session: Session, delivery_id: int, kind: str, digest: Optional[str]) -> None:
    """Accepted by Meta (or the SMS gateway, or Rasa). A status webhook may have been faster (then
    the row is already sent, delivered or read, and stays so)."""
    now = utcnow()
    values = dict(message_digest=func.coalesce(Delivery.message_digest, digest), message_kind=kind,
                  sent_at=func.coalesce(Delivery.sent_at, now), updated_at=now,
                  status=case((Delivery.status == domain.SENDING, domain.SENT), else_=Delivery.status))
    if kind in (domain.SMS_CHANNEL, "event"):
        values["sealed"] = None  # nothing more will be reported about it: the address has served
    session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values)
                    .execution_options(synchronize_session=False))
    session.commit()


def requeue(session: Session, delivery_id: int, kind: Optional[str] = None) -> bool:
    values = {"status": domain.QUEUED}
    if kind:
        values["message_kind"] = kind
    return _move(session, delivery_id, (domain.SENDING,), **values)


def mark_deferred(session: Session, delivery_id: int) -> bool:
    return _move(session, delivery_id, (domain.SENDING,), status=domain.DEFERRED)


def mark_failed(session: Session, delivery_id: int, code: Optional[int], error: str) -> bool:
    return _move(session, delivery_id, (domain.SENDING, domain.SENT, domain.QUEUED), status=domain.FAILED,
                 error_code=code, error=error[:200], failed_at=func.coalesce(Delivery.failed_at, utcnow()),
                 sealed=None)


def switch_to_sms(session: Session, delivery_id: int, code: Optional[int]) -> bool:
    """WhatsApp could not deliver: the row becomes an SMS to send. Only a WhatsApp row can switch,
    once: never both an SMS and a WhatsApp message for one campaign and recipient."""
    moved = session.execute(
        update(Delivery).where(Delivery.id == delivery_id, Delivery.channel == domain.WHATSAPP_CHANNEL,
                               Delivery.status.in_((domain.SENDING, domain.SENT)))
        .values(channel=domain.SMS_CHANNEL, status=domain.QUEUED, message_kind=domain.SMS_CHANNEL, error_code=code,
                failed_at=func.coalesce(Delivery.failed_at, utcnow()), updated_at=utcnow())
        .execution_options(synchronize_session=False))
    session.commit()
    return moved.rowcount == 1


# --- Delivery reports: Meta's statuses and the replies --------------------------------------------

def _when(timestamp: Optional[int]) -> dt.datetime:
    if not timestamp:
        return utcnow()
    return dt.datetime.fromtimestamp(int(timestamp), dt.timezone.utc).replace(tzinfo=None)


def _find(session: Session, event: Mapping) -> Optional[Delivery]:
    delivery_id = delivery_id_of(event.get("reference"))
    if delivery_id is not None:
        return session.get(Delivery, delivery_id)
    digest = event.get("message")
    if digest:
        return session.execute(select(Delivery).where(Delivery.message_digest == str(digest))).scalars().first()
    return None


def record_events(session: Session, events: Sequence[Mapping]) -> List[Tuple[str, int]]:
    """Applies a webhook's worth of delivery reports in one transaction (failures in their own)."""
    follow_ups = []
    for event in events:
        if isinstance(event, Mapping):
            action = record_event(session, event, commit=False)
            if action is not None:
                follow_ups.append(action)
    session.commit()
    return follow_ups


def record_event(session: Session, event: Mapping, commit: bool = True) -> Optional[Tuple[str, int]]:
    """Applies one delivery report; returns what the worker must do next, if anything:
    ("sms", id) to send the SMS instead, ("resend", id) to send the WhatsApp message again."""
    row = _find(session, event)
    if row is None:
        return None
    if event.get("type") == "reply":
        row.replied_at = row.replied_at or _when(event.get("timestamp"))
        if commit:
            session.commit()
        return None
    status = str(event.get("status") or "")
    if row.channel != domain.WHATSAPP_CHANNEL or status not in domain.STATUSES_REPORTED:
        return None
    when = _when(event.get("timestamp"))
    if event.get("message") and not row.message_digest:
        row.message_digest = str(event["message"])
    if status == "failed":
        session.commit()
        return _after_failure(session, row.id, event.get("error_code"))
    row.sent_at = row.sent_at or when
    if status in ("delivered", "read"):
        row.delivered_at = row.delivered_at or when
        row.sealed = None  # settled: no SMS will follow, the address is not needed any more
    if status == "read":
        row.read_at = row.read_at or when
    in_doubt = row.status == domain.SENDING or (row.status == domain.QUEUED and row.error_code is None)
    if in_doubt or row.status in (domain.SENT, domain.DELIVERED, domain.READ):
        # A queued row with no failure on record was re-queued as "in doubt": this report proves
        # the first send went out, so the queued task will find nothing to do.
        row.status = domain.later_status(domain.SENT if in_doubt else row.status, status)
    row.updated_at = utcnow()
    if commit:
        session.commit()
    return None


def _after_failure(session: Session, delivery_id: int, code: Optional[int]) -> Optional[Tuple[str, int]]:
    consequence = domain.classify_failed_status(code)
    row = session.get(Delivery, delivery_id)
    if consequence in (domain.THROTTLED, domain.WINDOW_CLOSED):
        kind = domain.TEMPLATE if consequence == domain.WINDOW_CLOSED else row.message_kind
        if _move(session, delivery_id, (domain.SENDING, domain.SENT), status=domain.QUEUED, message_kind=kind,
                 error_code=code):
            return ("resend", delivery_id)
        return None
    if consequence == domain.UNDELIVERABLE and sms_allowed(row.campaign_id) and row.sealed:
        if switch_to_sms(session, delivery_id, code):
            return ("sms", delivery_id)
        return None
    mark_failed(session, delivery_id, code, f"whatsapp failed ({code})")
    return None


def sms_allowed(campaign_id: str) -> bool:
    from backends.notifications import templates

    name = campaign_id.split(":", 1)[0]
    try:
        return templates.get(domain.template(name).template).has_sms_fallback
    except (DomainError, templates.TemplateError):
        return False


# --- Resuming -------------------------------------------------------------------------------------

def resumable_ids(session: Session, campaign_id: str, in_doubt_before: dt.datetime) -> List[int]:
    """Rows a resumed run hands to the workers again: still queued (their task may have been lost
    with a broker), and `sending` ones that have been in doubt for longer than the grace period
    with no word from Meta (the worker died before the send went out, or Meta never got it)."""
    session.execute(
        update(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.status == domain.SENDING,
                               Delivery.claimed_at < in_doubt_before, Delivery.sent_at.is_(None),
                               Delivery.message_digest.is_(None))
        .values(status=domain.QUEUED, updated_at=utcnow()).execution_options(synchronize_session=False))
    session.commit()
    return list(session.execute(select(Delivery.id).where(Delivery.campaign_id == campaign_id,
                                                          Delivery.status == domain.QUEUED)
                                .order_by(Delivery.id)).scalars())


def requeue_deferred(session: Session, campaign_id: str, limit: Optional[int]) -> List[int]:
    query = select(Delivery.id).where(Delivery.campaign_id == campaign_id, Delivery.status == domain.DEFERRED
                                      ).order_by(Delivery.id)
    ids = list(session.execute(query.limit(limit) if limit is not None else query).scalars())
    if ids:
        session.execute(update(Delivery).where(Delivery.id.in_(ids), Delivery.status == domain.DEFERRED)
                        .values(status=domain.QUEUED, updated_at=utcnow())
                        .execution_options(synchronize_session=False))
        session.commit()
    return ids


# --- The funnel -----------------------------------------------------------------------------------

def funnel(session: Session, campaign_id: str, counts_registrations: bool = False) -> domain.Funnel:
    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    row = session.execute(select(
        func.count(Delivery.id), count(Delivery.status.in_(IN_FLIGHT)), count(Delivery.sent_at.isnot(None)),
        count(Delivery.delivered_at.isnot(None)), count(Delivery.read_at.isnot(None)),
        count(or_(Delivery.failed_at.isnot(None), and_(Delivery.status == domain.FAILED))),
        count(and_(Delivery.channel == domain.SMS_CHANNEL, Delivery.sent_at.isnot(None))),
        count(Delivery.replied_at.isnot(None)), count(Delivery.registered_at.isnot(None)),
    ).where(Delivery.campaign_id == campaign_id)).one()
    values = [int(value or 0) for value in row]
    return domain.Funnel(campaign_id, *values[:8], registered=values[8] if counts_registrations else None)


def unregistered_subjects(session: Session, campaign_id: str) -> Dict[str, dt.datetime]:
    """subject_ref -> when the message went out, for the invitations whose person has not booked yet."""
    return dict(session.execute(select(Delivery.subject_ref, Delivery.sent_at).where(
        Delivery.campaign_id == campaign_id, Delivery.subject_ref.isnot(None), Delivery.sent_at.isnot(None),
        Delivery.registered_at.is_(None))).all())


def mark_registered(session: Session, campaign_id: str, booked: Mapping[str, dt.datetime]) -> int:
    """Sets registered_at for the invited people who booked after their invitation went out."""
    marked = 0
    for subject, sent_at in unregistered_subjects(session, campaign_id).items():
        booked_at = booked.get(subject)
        if booked_at is not None and booked_at >= sent_at:
            session.execute(update(Delivery).where(Delivery.campaign_id == campaign_id,
                                                   Delivery.subject_ref == subject)
                            .values(registered_at=booked_at).execution_options(synchronize_session=False))
            marked += 1
    session.commit()
    return marked


# --- Campaign runs -------------------------------------------------------------------------------

def start_run(session: Session, cohort: domain.Cohort, dry_run: bool) -> CampaignRun:
    run = CampaignRun(campaign_id=cohort.campaign_id, template=cohort.template.name, cohort_date=cohort.date,
                      dry_run=dry_run, status="running", started_at=utcnow())
    session.add(run)
    session.commit()
    return run


RUN_COUNTS = ("total", "sent", "would_send", "skipped_opted_out", "skipped_already_sent", "skipped_no_contact",
              "failed", "queued", "deferred")


def finish_run(session: Session, run_id: int, summary: domain.Summary, error: str = "",
               status: Optional[str] = None) -> CampaignRun:
    run = get_run(session, run_id)
    for name in RUN_COUNTS:
        setattr(run, name, getattr(summary, name))
    run.status = status or ("error" if error else "finished")
    run.error = error[:200] or None
    run.finished_at = utcnow()
    session.commit()
    return run


def get_run(session: Session, run_id: int) -> CampaignRun:
    run = session.get(CampaignRun, run_id)
    if run is None:
        raise RunNotFound()
    return run


def run_progress(session: Session, run_id: int) -> Dict[str, int]:
    """The run's rows by state, now: how many its workers sent, failed, still have to do."""
    rows = session.execute(select(Delivery.status, func.count(Delivery.id)).where(Delivery.run_id == run_id)
                           .group_by(Delivery.status)).all()
    return {status: int(count) for status, count in rows}


def summary_of(run: CampaignRun, progress: Optional[Mapping[str, int]] = None) -> domain.Summary:
    summary = domain.Summary(campaign_id=run.campaign_id, dry_run=run.dry_run, total=run.total, sent=run.sent,
                             would_send=run.would_send, skipped_opted_out=run.skipped_opted_out,
                             skipped_already_sent=run.skipped_already_sent,
                             skipped_no_contact=run.skipped_no_contact, failed=run.failed, queued=run.queued,
                             deferred=run.deferred)
    if progress is not None and not run.dry_run:
        apply_progress(summary, progress)
    return summary


def apply_progress(summary: domain.Summary, progress: Mapping[str, int]) -> None:
    summary.sent = sum(progress.get(s, 0) for s in (domain.SENT, domain.DELIVERED, domain.READ))
    summary.failed = progress.get(domain.FAILED, 0)
    summary.queued = progress.get(domain.QUEUED, 0) + progress.get(domain.SENDING, 0)
    summary.deferred = progress.get(domain.DEFERRED, 0)
