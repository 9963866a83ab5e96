"""Use cases of the registration service: one function per operation, each its own transaction."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backends.registration import domain
from backends.registration.orm import Appointment, LookupMiss, Site, Slot, Submission, Target
from backends.shared import signing
from backends.shared.identity import normalize_name, normalize_phone, parse_nik, parse_nik_suffix

log = logging.getLogger(__name__)


class NotFound(domain.DomainError):
    """data: `resource` (target | site | slot | submission)."""

    code, detail, status = "not_found", "No such record.", 404

    def __init__(self, resource: str):
        super().__init__(detail=f"No such {resource}.", resource=resource)


class InvalidTicket(domain.DomainError):
    code, detail, status = "ticket_invalid", "The ticket code is not one this service signed.", 404


def lookup_target(session: Session, key: bytes, nik_suffix: str, factor: domain.SecondFactor,
                  requesters: Sequence[str], now: dt.datetime) -> domain.TargetMatch:
    """Identifies a health worker by the last 6 NIK digits and a second factor, counting misses per
    requester (each a conversation or channel identity; stored only as keyed hashes)."""
    suffix = parse_nik_suffix(nik_suffix)
    if not factor.given:
        return domain.TargetMatch("need_second_factor")
    full_nik = parse_nik(factor.full_nik).nik if factor.full_nik else None
    factor = domain.SecondFactor(factor.verified_phone, factor.birth_date, full_nik)
    # Each requester (conversation, client) and, for guesses of the birth date, the digits themselves.
    limits = {signing.keyed_hash(key, "lookup-requester", r): (domain.LOOKUP_MISSES_PER_WINDOW, domain.LOOKUP_WINDOW)
              for r in requesters if r}
    if factor.birth_date is not None:
        limits[signing.keyed_hash(key, "lookup-digits", suffix)] = (domain.SUFFIX_MISSES_PER_WINDOW,
                                                                   domain.SUFFIX_WINDOW)
    session.execute(delete(LookupMiss).where(LookupMiss.failed_at < now - domain.SUFFIX_WINDOW))
    for requester_hash, (limit, window) in sorted(limits.items()):
        misses = session.execute(select(LookupMiss.failed_at).where(
            LookupMiss.requester_hash == requester_hash, LookupMiss.failed_at >= now - window)).scalars().all()
        try:
            domain.ensure_lookup_allowed(misses, now, limit, window)
        except domain.TooManyLookups:
            session.commit()
            log.warning("identification throttled", extra={"event": "security_lookup_throttled"})
            raise
    rows = session.execute(select(Target.id, Target.birth_date, Target.phone, Target.nik)
                           .where(Target.nik_suffix == suffix)).all()
    match = domain.match_target([domain.Candidate(r.id, r.birth_date, r.phone, r.nik) for r in rows], factor)
    if match.is_miss:
        session.add_all(LookupMiss(requester_hash=h, failed_at=now) for h in limits)
        log.info("identification miss", extra={"event": "security_lookup_miss"})
    session.commit()
    return match


def get_target(session: Session, target_id: int) -> Target:
    target = session.get(Target, target_id)
    if target is None:
        raise NotFound("target")
    return target


def get_site(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("site")
    return site


def list_sites(session: Session, regency: Optional[str] = None) -> List[Site]:
    query = select(Site).order_by(Site.name)
    if regency:
        query = query.where(Site.regency == regency)
    return list(session.execute(query).scalars())


def offerable_slots(session: Session, site_id: int, today: dt.date, limit: int = domain.MAX_OFFERED_SLOTS
                    ) -> List[domain.SlotView]:
    get_site(session, site_id)
    rows = session.execute(
        select(Slot).where(Slot.site_id == site_id, Slot.date > today, Slot.booked < Slot.capacity)
    ).scalars()
    views = [domain.SlotView(s.id, s.date, s.session, s.capacity, s.booked) for s in rows]
    return domain.offerable_slots(views, today, limit)


def active_appointment(session: Session, target_id: int) -> Optional[Appointment]:
    return session.execute(
        select(Appointment).where(Appointment.target_id == target_id, Appointment.status == "booked")
    ).scalar_one_or_none()


@dataclass(frozen=True)
class Contact:
    """Where the assistant can reach the person who booked: Rasa's channel and sender id."""

    channel: str
    conversation_id: str


def book_appointment(session: Session, signing_key: bytes, target_id: int, slot_id: int,
                     screening_answers: Dict[str, bool], request_id: str,
                     contact: Optional[Contact] = None) -> Appointment:
    """Books a slot for a health worker who passed screening.

    Capacity is enforced by one conditional UPDATE (`booked < capacity`), so two requests racing
    for the last place cannot both win, on SQLite (write lock) or PostgreSQL (row lock, re-checked
    after the first commit). A repeated `request_id` returns the first booking (idempotent).
    """
    replay = _appointment_by_request(session, request_id)
    if replay is not None:
        return replay
    get_target(session, target_id)
    existing = active_appointment(session, target_id)
    if existing is not None:
        raise domain.AlreadyBooked(existing.id)
    screening = domain.evaluate_screening(screening_answers)
    if not screening.may_book:
        raise domain.NotEligible(reasons=list(screening.reasons))
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise NotFound("slot")
    claimed = session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1).execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.rollback()
        raise domain.SlotFull()
    appointment = Appointment(target_id=target_id, site_id=slot.site_id, slot_id=slot_id,
                              screening_answers=dict(screening_answers), screening_outcome=screening.outcome,
                              status="booked", request_id=request_id,
                              contact_channel=contact.channel if contact else None,
                              contact_conversation_id=contact.conversation_id if contact else None)
    session.add(appointment)
    try:
        session.flush()
        appointment.ticket_code = signing.sign(signing_key, {"kind": "ticket", "appointment": appointment.id})
        session.commit()
    except IntegrityError:
        # A concurrent request with the same request_id or for the same health worker won.
        session.rollback()
        replay = _appointment_by_request(session, request_id)
        if replay is not None:
            return replay
        existing = active_appointment(session, target_id)
        raise domain.AlreadyBooked(existing.id if existing else 0)
    session.refresh(appointment)
    log.info("appointment booked", extra={"event": "appointment_booked"})
    return appointment


def _appointment_by_request(session: Session, request_id: str) -> Optional[Appointment]:
    return session.execute(select(Appointment).where(Appointment.request_id == request_id)).scalar_one_or_none()


def appointment_for_ticket(session: Session, signing_key: bytes, ticket_code: str) -> Appointment:
    try:
        payload = signing.verify(signing_key, ticket_code)
    except signing.InvalidSignature:
        raise InvalidTicket()
    appointment = session.get(Appointment, payload.get("appointment"))
    if payload.get("kind") != "ticket" or appointment is None or appointment.ticket_code != ticket_code:
        raise InvalidTicket()
    return appointment


def appointments_on(session: Session, date: dt.date) -> List[Appointment]:
    """The reminder cohort: booked (not cancelled) appointments whose slot is on `date`."""
    return list(session.execute(
        select(Appointment).join(Slot, Appointment.slot_id == Slot.id)
        .where(Slot.date == date, Appointment.status == "booked").order_by(Appointment.id)
    ).scalars())


@dataclass(frozen=True)
class HealthWorkerCohortRow:
    target_id: int
    facility: str
    phone: str
    booked_at: Optional[dt.datetime]


def health_worker_cohort(session: Session, booked: bool, after_id: int = 0, limit: int = 1000,
                         booked_since: Optional[dt.datetime] = None) -> List[HealthWorkerCohortRow]:
    """The invitation cohort (notification service), a page at a time in target id order: health
    workers with no active appointment (`booked=False`), or those with one (`booked=True`, when
    it was made, optionally only since a time: who registered after an invitation)."""
    active = select(Appointment.target_id, Appointment.created_at).where(Appointment.status == "booked").subquery()
    query = (select(Target.id, Target.facility, Target.phone, active.c.created_at)
             .outerjoin(active, active.c.target_id == Target.id)
             .where(Target.id > after_id).order_by(Target.id).limit(limit))
    if booked:
        query = query.where(active.c.created_at.isnot(None))
        if booked_since is not None:
            query = query.where(active.c.created_at >= booked_since)
    else:
        query = query.where(active.c.created_at.is_(None), Target.status == "not_vaccinated")
    return [HealthWorkerCohortRow(row[0], row[1], row[2], row[3]) for row in session.execute(query).all()]


SUBMISSION_FIELDS = {
    "nik": lambda value: parse_nik(value).nik,
    "name": normalize_name,
    "profession": domain.normalize_profession,
    "facility": domain.normalize_facility,
    "phone": normalize_phone,
}


def check_submission_field(session: Session, field: str, value: str) -> str:
    """Validates one field of a submission as the user types it; returns the normalized value."""
    if field not in SUBMISSION_FIELDS:
        raise domain.InvalidField(field=str(field)[:40], reason="unknown_field")
    normalized = SUBMISSION_FIELDS[field](value)
    if field == "nik" and session.execute(select(Target.id).where(Target.nik == normalized)).first():
        raise domain.AlreadyListed()
    return normalized


@dataclass(frozen=True)
class SubmissionInput:
    nik: str
    name: str
    profession: str
    facility: str
    phone: str
    request_id: str


@dataclass(frozen=True)
class SubmissionResult:
    submission: Submission
    outcome: str  # "created" | "duplicate" | "updated"


def submit_missing_health_worker(session: Session, data: SubmissionInput) -> SubmissionResult:
    """Stores a pending submission after validating every field; idempotent by request_id, and once
    per NIK: a second one with the same phone answers with the first (corrected if its data changed)."""
    replay = session.execute(select(Submission).where(Submission.request_id == data.request_id)).scalar_one_or_none()
    if replay is not None:
        return SubmissionResult(replay, "duplicate")
    fields = {name: check_submission_field(session, name, getattr(data, name)) for name in SUBMISSION_FIELDS}
    for _attempt in range(2):
        pending = _pending_submission(session, fields["nik"])
        if pending is not None:
            decision = domain.decide_resubmission({name: getattr(pending, name) for name in fields}, fields)
            for name, value in decision.changes.items():
                setattr(pending, name, value)
            session.commit()
            log.info("submission %s", decision.outcome, extra={"event": f"submission_{decision.outcome}"})
            return SubmissionResult(pending, decision.outcome)
        submission = Submission(reference=domain.new_submission_reference(), status="pending",
                                request_id=data.request_id, **fields)
        session.add(submission)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # a concurrent submission for the same NIK won: answer as a resubmission
            continue
        log.info("submission stored", extra={"event": "submission_created"})
        return SubmissionResult(submission, "created")
    raise domain.SubmissionExists()


def _pending_submission(session: Session, nik: str) -> Optional[Submission]:
    return session.execute(select(Submission).where(Submission.nik == nik, Submission.status == "pending")
                           ).scalar_one_or_none()


def profession_names() -> List[str]:
    return list(domain.PROFESSIONS)


def get_submission(session: Session, reference: str) -> Submission:
    submission = session.execute(
        select(Submission).where(Submission.reference == reference.strip().upper())
    ).scalar_one_or_none()
    if submission is None:
        raise NotFound("submission")
    return submission
