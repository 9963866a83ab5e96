"""Use cases of the certificate service: one short function per operation, each one transaction.

Every function takes the SQLAlchemy session and `now` (naive UTC) from the caller, loads what it
needs, applies a rule from domain.py and commits. Errors are domain.CertificateError subclasses.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import List, Optional, Tuple

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from backends.certificate import domain
from backends.certificate.domain import CertificateDocument
from backends.certificate.orm import (AuditEntry, Certificate, Escalation, OtpChallenge, OtpFailure, Person,
                                      Vaccination, VerificationSession)
from backends.certificate.rendering import render_png
from backends.certificate.sms import SmsGateway
from backends.shared.clock import WIB
from backends.shared.identity import InvalidIdentity, normalize_name, normalize_phone
from privacy.masking import mask_name, mask_nik, mask_phone
from backends.shared.signing import InvalidSignature, sign, verify

log = logging.getLogger(__name__)

OTP_REQUEST_REPLY = {
    # Identical for known and unknown numbers, so the reply never reveals who is registered.
    "login": "Jika nomor tersebut terdaftar, kode OTP telah dikirim melalui SMS. Kode berlaku 5 menit.",
    "change_phone": "Kode OTP telah dikirim melalui SMS ke nomor baru Anda. Kode berlaku 5 menit.",
}
_OTP_SMS = {
    "login": "Kode OTP PeduliLindungi Anda: {code}. Berlaku 5 menit. "
             "JANGAN berikan kode ini kepada siapa pun, termasuk petugas.",
    "change_phone": "Kode OTP untuk mengganti nomor HP akun PeduliLindungi Anda: {code}. Berlaku 5 menit. "
                    "JANGAN berikan kode ini kepada siapa pun.",
}
_PHONE_CHANGED_SMS = ("Nomor HP akun PeduliLindungi Anda telah diganti menjadi {phone} pada {when} WIB. "
                      "Jika Anda tidak melakukan perubahan ini, segera hubungi hotline 119 ext 9.")


@dataclass(frozen=True)
class Profile:
    nik_masked: str
    name: str
    phone_masked: str


@dataclass(frozen=True)
class DoseStatus:
    dose: int
    label: str
    date: dt.date
    brand: str
    site: str
    certificate_issued: bool


@dataclass(frozen=True)
class Change:
    """Old value masked (as kept in the audit log), so a replayed request gets the same answer."""

    old: str
    new: str


# --- Helpers --------------------------------------------------------------------------------------

def _epoch(now: dt.datetime) -> float:
    return now.replace(tzinfo=dt.timezone.utc).timestamp()


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except InvalidIdentity as error:
        raise domain.InvalidInput(error.reason, error.message) from None


def _name(raw: str) -> str:
    try:
        return normalize_name(raw)
    except InvalidIdentity as error:
        raise domain.InvalidInput(error.reason, error.message) from None


def _person_by_phone(session: Session, phone: str) -> Optional[Person]:
    return session.execute(select(Person).where(Person.phone == phone).order_by(Person.id).limit(1)).scalars().first()


def _authenticate(session: Session, key: bytes, token: Optional[str], now: dt.datetime) -> Person:
    if not token:
        raise domain.SessionRequired()
    row = session.execute(
        select(VerificationSession).where(VerificationSession.token_hash == domain.hash_session_token(key, token))
    ).scalars().first()
    if row is None:
        raise domain.SessionInvalid()
    domain.touch_session(row, now)
    return row.person


def _latest_challenge(session: Session, phone: str, purpose: str) -> Optional[OtpChallenge]:
    # Only the newest code counts: asking for a new code silently retires the older ones.
    return session.execute(
        select(OtpChallenge).where(OtpChallenge.phone == phone, OtpChallenge.purpose == purpose)
        .order_by(OtpChallenge.created_at.desc(), OtpChallenge.id.desc()).limit(1)
    ).scalars().first()


def _check_code(session: Session, key: bytes, phone: str, challenge: Optional[OtpChallenge], code: str,
                expected_person_id: Optional[int], now: dt.datetime) -> None:
    """Checks a code against the challenge; a wrong code is recorded for the growing delay."""
    failures = session.execute(
        select(OtpFailure.failed_at).where(OtpFailure.phone == phone, OtpFailure.failed_at > now - domain.OTP_WINDOW)
    ).scalars().all()
    domain.ensure_verification_allowed(failures, now)
    if challenge is None:
        raise domain.OtpExpired()
    # A code nobody received (unknown number, someone else's change) must fail even if guessed.
    typed = code if challenge.person_id is not None and challenge.person_id == expected_person_id else ""
    try:
        domain.check_otp(challenge, key, typed, now)
    except (domain.OtpWrong, domain.OtpAttemptsExhausted):
        session.add(OtpFailure(phone=phone, failed_at=now))
        session.commit()
        raise


def _prune_phone_history(session: Session, phone: str, now: dt.datetime) -> None:
    # Records older than the rate-limit window decide nothing any more; keep the tables small.
    horizon = now - domain.OTP_WINDOW
    session.execute(delete(OtpChallenge).where(OtpChallenge.phone == phone, OtpChallenge.created_at < horizon))
    session.execute(delete(OtpFailure).where(OtpFailure.phone == phone, OtpFailure.failed_at < horizon))


def _previous_change(session: Session, request_id: str, person_id: int, field: str, new_masked: str) -> Optional[str]:
    """The masked old value of a change already made under `request_id`, or None for a new request."""
    entry = session.execute(select(AuditEntry).where(AuditEntry.request_id == request_id)).scalars().first()
    if entry is None:
        return None
    if entry.person_id != person_id or entry.field != field or entry.new_masked != new_masked:
        raise domain.RequestIdConflict()
    return entry.old_masked


def _commit_change(session: Session, request_id: str, person_id: int, field: str, new_masked: str) -> Optional[str]:
    """Commits; when a concurrent twin of the same request won the race, returns that change's old value."""
    try:
        session.commit()
        return None
    except IntegrityError:
        session.rollback()
        previous = _previous_change(session, request_id, person_id, field, new_masked)
        if previous is None:
            raise
        return previous


# --- OTP login ------------------------------------------------------------------------------------

def request_otp(session: Session, gateway: SmsGateway, key: bytes, phone: str, purpose: str, now: dt.datetime,
                token: Optional[str] = None) -> str:
    """Sends a code by SMS; returns the reply for the user, the same whether the number is known or not."""
    purpose = domain.ensure_purpose(purpose)
    phone = _phone(phone)
    if purpose == "login":
        person = _person_by_phone(session, phone)
    else:
        person = _authenticate(session, key, token, now)
        domain.ensure_phone_changes(person.phone, phone)
        _ensure_phone_free(session, phone, person.id)
    _prune_phone_history(session, phone, now)
    recent = session.execute(
        select(OtpChallenge.created_at).where(OtpChallenge.phone == phone,
                                              OtpChallenge.created_at > now - domain.OTP_WINDOW)
    ).scalars().all()
    domain.ensure_otp_request_allowed(recent, now)
    otp = domain.issue_otp(key, now)
    # Unknown numbers get a challenge too, so they hit the same rate limit as known ones.
    challenge = OtpChallenge(phone=phone, purpose=purpose, salt=otp.salt, code_hash=otp.code_hash, created_at=now,
                             expires_at=otp.expires_at, attempts=0, person_id=person.id if person else None)
    session.add(challenge)
    session.commit()
    if person is not None:
        try:
            gateway.send(phone, _OTP_SMS[purpose].format(code=otp.code))
        except domain.SmsUnavailable:
            # An undelivered code must not count against the user's hourly limit.
            session.delete(challenge)
            session.commit()
            raise
    log.info("otp requested for %s (%s)", mask_phone(phone), purpose, extra={"event": "otp_requested"})
    return OTP_REQUEST_REPLY[purpose]


def verify_otp(session: Session, key: bytes, phone: str, code: str, now: dt.datetime) -> str:
    """Exchanges a login code for a verification token (shown once, stored only as a keyed hash)."""
    phone = _phone(phone)
    challenge = _latest_challenge(session, phone, "login")
    _check_code(session, key, phone, challenge, code, challenge.person_id if challenge else None, now)
    token = domain.issue_session_token()
    session.execute(delete(OtpFailure).where(OtpFailure.phone == phone))
    session.execute(delete(VerificationSession).where(VerificationSession.person_id == challenge.person_id,
                                                      VerificationSession.last_seen_at < now - domain.SESSION_IDLE))
    session.add(VerificationSession(token_hash=domain.hash_session_token(key, token), person_id=challenge.person_id,
                                    created_at=now, last_seen_at=now, revoked=False))
    session.commit()
    log.info("otp verified for %s", mask_phone(phone), extra={"event": "otp_verified"})
    return token


def person_for_token(session: Session, key: bytes, token: Optional[str], now: dt.datetime) -> Person:
    person = _authenticate(session, key, token, now)
    session.commit()
    return person


def profile(session: Session, key: bytes, token: Optional[str], now: dt.datetime) -> Profile:
    person = person_for_token(session, key, token, now)
    return Profile(mask_nik(person.nik), person.name, mask_phone(person.phone))


# --- Vaccinations and certificates -------------------------------------------------------------

def vaccination_status(session: Session, key: bytes, token: Optional[str], now: dt.datetime) -> List[DoseStatus]:
    person = person_for_token(session, key, token, now)
    return [DoseStatus(v.dose, domain.dose_label(v.dose), v.date, v.brand, v.site, v.certificate is not None)
            for v in person.vaccinations]


def certificate_link(session: Session, key: bytes, token: Optional[str], dose: int, now: dt.datetime,
                     public_url: str) -> Tuple[str, dt.datetime]:
    """A download URL valid for 10 minutes; the signed token in it is the only credential needed."""
    domain.dose_label(dose)
    person = person_for_token(session, key, token, now)
    vaccination = next((v for v in person.vaccinations if v.dose == dose), None)
    if vaccination is None:
        raise domain.DoseNotRecorded(dose)
    if vaccination.certificate is None:
        raise domain.CertificateNotIssued(dose)
    ttl = domain.DOWNLOAD_LINK_TTL
    link_token = sign(key, domain.download_claims(vaccination.certificate.number),
                      expires_in=int(ttl.total_seconds()), now=_epoch(now))
    log.info("certificate link issued for dose %s", dose, extra={"event": "certificate_link"})
    return f"{public_url}/v1/certificates/download?token={link_token}", now + ttl


def certificate_document(session: Session, key: bytes, number: str) -> Optional[CertificateDocument]:
    """The fields printed on a certificate, read fresh from the database at every render."""
    row = session.execute(
        select(Certificate, Vaccination, Person).join(Vaccination, Certificate.vaccination_id == Vaccination.id)
        .join(Person, Vaccination.person_id == Person.id).where(Certificate.number == number)
    ).first()
    if row is None:
        return None
    certificate, vaccination, person = row
    payload = sign(key, domain.qr_claims(certificate.number, vaccination.dose, vaccination.date, person.nik))
    return CertificateDocument(number=certificate.number, name=person.name, nik_masked=mask_nik(person.nik),
                               dose=vaccination.dose, date=vaccination.date, brand=vaccination.brand,
                               site=vaccination.site, qr_payload=payload)


def render_certificate_from_link(session: Session, key: bytes, link_token: str,
                                 now: dt.datetime) -> Tuple[CertificateDocument, bytes]:
    try:
        number = domain.read_download_claims(verify(key, link_token, now=_epoch(now)))
    except InvalidSignature:
        raise domain.LinkInvalid() from None
    document = certificate_document(session, key, number)
    if document is None:
        raise domain.LinkInvalid()
    return document, render_png(document)


def verify_certificate_payload(session: Session, key: bytes, payload: str) -> CertificateDocument:
    """Checks a scanned QR payload: genuine signature and a certificate that still exists as signed."""
    try:
        claims = domain.read_qr_claims(verify(key, payload))
    except InvalidSignature:
        raise domain.CertificateInvalid() from None
    document = certificate_document(session, key, str(claims["no"]))
    if document is None or (document.dose, document.date.isoformat(), document.nik_masked) != (
            claims["dose"], claims["date"], claims["nik"]):
        raise domain.CertificateInvalid()
    return document


# --- Profile changes ------------------------------------------------------------------------------

def preview_name_change(session: Session, key: bytes, token: Optional[str], new_name: str,
                        now: dt.datetime) -> Change:
    """What change_name would do (old -> new), without doing it: shown to the user to confirm."""
    person = _authenticate(session, key, token, now)
    name = domain.tidy_name_case(_name(new_name))
    domain.ensure_name_changes(person.name, name)
    session.commit()  # keeps the session's idle timer fresh
    return Change(person.name, name)


def change_name(session: Session, key: bytes, token: Optional[str], new_name: str, request_id: str, channel: str,
                now: dt.datetime) -> Change:
    """Corrects the name printed on certificates; idempotent by `request_id`."""
    person = _authenticate(session, key, token, now)
    name = domain.tidy_name_case(_name(new_name))
    previous = _previous_change(session, request_id, person.id, "name", mask_name(name))
    if previous is not None:
        session.commit()
        return Change(previous, name)
    domain.ensure_name_changes(person.name, name)
    old_masked = mask_name(person.name)
    session.add(AuditEntry(person_id=person.id, field="name", old_masked=old_masked, new_masked=mask_name(name),
                           at=now, channel=channel, request_id=request_id))
    person.name = name
    raced = _commit_change(session, request_id, person.id, "name", mask_name(name))
    log.info("name changed via %s", channel, extra={"event": "name_changed"})
    return Change(raced or old_masked, name)


def _ensure_phone_free(session: Session, phone: str, person_id: int) -> None:
    holder = _person_by_phone(session, phone)
    if holder is not None and holder.id != person_id:
        raise domain.PhoneInUse()


def change_phone(session: Session, gateway: SmsGateway, key: bytes, token: Optional[str], new_phone: str, code: str,
                 request_id: str, channel: str, now: dt.datetime) -> Change:
    """Moves the account to a new number proven by an OTP sent there; the old number gets a notice."""
    person = _authenticate(session, key, token, now)
    phone = _phone(new_phone)
    change = Change(mask_phone(person.phone), mask_phone(phone))
    previous = _previous_change(session, request_id, person.id, "phone", change.new)
    if previous is not None:
        session.commit()
        return Change(previous, change.new)
    domain.ensure_phone_changes(person.phone, phone)
    _ensure_phone_free(session, phone, person.id)
    _check_code(session, key, phone, _latest_challenge(session, phone, "change_phone"), code, person.id, now)
    old_phone = person.phone
    session.add(AuditEntry(person_id=person.id, field="phone", old_masked=change.old, new_masked=change.new,
                           at=now, channel=channel, request_id=request_id))
    person.phone = phone
    raced = _commit_change(session, request_id, person.id, "phone", change.new)
    if raced is not None:
        return Change(raced, change.new)
    log.info("phone changed via %s", channel, extra={"event": "phone_changed"})
    local = now.replace(tzinfo=dt.timezone.utc).astimezone(WIB)
    when = f"{domain.format_date_id(local.date())} pukul {local:%H.%M}"
    try:
        gateway.send(old_phone, _PHONE_CHANGED_SMS.format(phone=mask_phone(phone), when=when))
    except domain.SmsUnavailable:
        # The change is done and audited; a lost notice must not undo it or confuse the user.
        log.warning("phone change notice not delivered", extra={"event": "phone_notice_failed"})
    return change


def escalate(session: Session, key: bytes, token: Optional[str], kind: str, note: str, request_id: str,
             now: dt.datetime) -> str:
    """Hands a request only a human can resolve (e.g. a wrong NIK) to the call centre; returns its reference."""
    person = _authenticate(session, key, token, now)
    kind = domain.ensure_escalation_kind(kind)
    existing = _previous_escalation(session, request_id, person.id, kind)
    if existing is not None:
        session.commit()
        return existing
    reference = domain.new_escalation_reference()
    session.add(Escalation(reference=reference, person_id=person.id, kind=kind, note=note.strip(), created_at=now,
                           request_id=request_id))
    try:
        session.commit()
    except IntegrityError:
        # A concurrent twin of this request was stored first: answer with its reference.
        session.rollback()
        existing = _previous_escalation(session, request_id, person.id, kind)
        if existing is None:
            raise
        return existing
    log.info("escalation %s created (%s)", reference, kind, extra={"event": "escalation_created"})
    return reference


def _previous_escalation(session: Session, request_id: str, person_id: int, kind: str) -> Optional[str]:
    existing = session.execute(select(Escalation).where(Escalation.request_id == request_id)).scalars().first()
    if existing is None:
        return None
    if existing.person_id != person_id or existing.kind != kind:
        raise domain.RequestIdConflict()
    return existing.reference


@dataclass(frozen=True)
class SecondDoseDue:
    """One person of the "second dose due" cohort; `phone` is E.164 (their WhatsApp number)."""

    phone: str
    first_dose_date: dt.date
    brand: str


def second_dose_due(session: Session, first_dose_date: dt.date) -> List[SecondDoseDue]:
    """People whose first dose was on `first_dose_date` and who have no second dose recorded."""
    later = aliased(Vaccination)
    second = select(later.id).where(later.person_id == Person.id, later.dose == 2)
    rows = session.execute(
        select(Person.phone, Vaccination.date, Vaccination.brand).join(Vaccination, Vaccination.person_id == Person.id)
        .where(Vaccination.dose == 1, Vaccination.date == first_dose_date, ~second.exists())
        .order_by(Person.id)
    ).all()
    return [SecondDoseDue(row.phone, row.date, row.brand) for row in rows]

