"""Use cases of the certificate service: one short function per operation, each one transaction.

Every function takes the SQLAlchemy session and `now` (naive UTC) from the caller, loads what it
needs, applies a rule from domain.py and commits. Errors are domain.CertificateError subclasses.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from backends.certificate import domain
from backends.certificate.domain import CertificateDocument
from backends.certificate.orm import (AuditEntry, Certificate, Escalation, OtpChallenge, OtpFailure, OtpRequest, Person,
                                      RecoveryFailure, RecoveryRequest, Vaccination, VerificationSession)
from backends.certificate.rendering import render_png
from backends.certificate.sms import SmsGateway
from backends.shared.clock import WIB
from backends.shared.identity import InvalidIdentity, normalize_name, normalize_phone, parse_nik
from privacy.masking import mask_name, mask_nik, mask_phone
from privacy.requesters import is_client_requester
from backends.shared.signing import InvalidSignature, keyed_hash, sign, verify

log = logging.getLogger(__name__)

_OTP_SMS = {
    "login": "Kode OTP PeduliLindungi Anda: {code}. Berlaku 5 menit. "
             "JANGAN berikan kode ini kepada siapa pun, termasuk petugas.",
    "change_phone": "Kode OTP untuk mengganti nomor HP akun PeduliLindungi Anda: {code}. Berlaku 5 menit. "
                    "JANGAN berikan kode ini kepada siapa pun.",
    "recovery": "Kode OTP untuk pengajuan pemindahan akun PeduliLindungi ke nomor ini: {code}. Berlaku 5 menit. "
                "JANGAN berikan kode ini kepada siapa pun, termasuk petugas.",
}
# The SMS texts are the backend's own channel to the holder of a number (not the assistant's words).
_RECOVERY_OPENED_SMS = ("Ada pengajuan untuk memindahkan akun PeduliLindungi Anda ke nomor {phone} (nomor "
                        "pengajuan {reference}). Jika itu bukan Anda, segera hubungi hotline 119 ext 9 sebelum "
                        "{expected}.")
_RECOVERY_APPROVED_SMS = ("Pengajuan {reference} disetujui: akun PeduliLindungi Anda kini terdaftar dengan nomor ini. "
                          "Silakan masuk dengan kode OTP yang dikirim ke nomor ini.")
_RECOVERY_REJECTED_SMS = ("Pengajuan {reference} untuk memindahkan akun PeduliLindungi tidak dapat disetujui. "
                          "Bantuan: sertifikat@pedulilindungi.id atau hotline 119 ext 9.")
_UNUSED_CODES_SMS = ("Ada {count} permintaan kode OTP PeduliLindungi untuk nomor Anda yang tidak digunakan. "
                     "Jika itu bukan Anda, abaikan saja: akun Anda tetap aman selama kode tidak dibagikan "
                     "kepada siapa pun. Bantuan: hotline 119 ext 9.")
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
        raise domain.InvalidInput(error.reason, str(error), **error.data) from None


def _name(raw: str) -> str:
    try:
        return normalize_name(raw)
    except InvalidIdentity as error:
        raise domain.InvalidInput(error.reason, str(error), **error.data) from None


def _nik(raw: str) -> str:
    try:
        return parse_nik(raw).nik
    except InvalidIdentity as error:
        raise domain.InvalidInput(error.reason, str(error), **error.data) from None


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


def _latest_challenge(session: Session, phone_key: str, purpose: str) -> Optional[OtpChallenge]:
    # Only the newest code counts: asking for a new code silently retires the older ones.
    return session.execute(
        select(OtpChallenge).where(OtpChallenge.phone_key == phone_key, OtpChallenge.purpose == purpose)
        .order_by(OtpChallenge.created_at.desc(), OtpChallenge.id.desc()).limit(1)
    ).scalars().first()


def _check_code(session: Session, key: bytes, phone_key: str, challenge: Optional[OtpChallenge], code: str,
                expected_person_id: Optional[int], now: dt.datetime) -> None:
    """Checks a code against the challenge; a wrong code is recorded for the growing delay."""
    failures = session.execute(
        select(OtpFailure.failed_at).where(OtpFailure.phone_key == phone_key,
                                           OtpFailure.failed_at > now - domain.OTP_WINDOW)
    ).scalars().all()
    domain.ensure_verification_allowed(failures, now)
    if challenge is None:
        raise domain.OtpExpired()
    # A code nobody received (unknown number, someone else's change) must fail even if guessed.
    typed = code if challenge.person_id is not None and challenge.person_id == expected_person_id else ""
    try:
        domain.check_otp(challenge, key, typed, now)
    except (domain.OtpWrong, domain.OtpAttemptsExhausted):
        session.add(OtpFailure(phone_key=phone_key, failed_at=now))
        session.commit()
        raise


def purge_expired_otp_records(session: Session, now: dt.datetime, gateway: Optional[SmsGateway] = None) -> int:
    """Deletes every challenge and failure older than the rate-limit window, for every number: they
    decide nothing any more. Runs at each code request, so the tables hold at most an hour. With a
    gateway, the holder of a registered number whose login codes went unused is told once by SMS
    (someone else may have asked for them)."""
    horizon = now - domain.OTP_WINDOW
    if gateway is not None:
        _notice_unused_codes(session, gateway, horizon)
    session.execute(delete(OtpRequest).where(OtpRequest.created_at < horizon))
    removed = session.execute(delete(OtpChallenge).where(OtpChallenge.created_at < horizon)).rowcount or 0
    removed += session.execute(delete(OtpFailure).where(OtpFailure.failed_at < horizon)).rowcount or 0
    return removed


def _notice_unused_codes(session: Session, gateway: SmsGateway, horizon: dt.datetime) -> None:
    unused = session.execute(
        select(OtpChallenge.person_id, func.count()).where(
            OtpChallenge.created_at < horizon, OtpChallenge.purpose == "login", OtpChallenge.consumed_at.is_(None),
            OtpChallenge.person_id.is_not(None)).group_by(OtpChallenge.person_id)).all()
    for person_id, count in unused:
        person = session.get(Person, person_id)
        if person is None:
            continue
        try:
            gateway.send(person.phone, _UNUSED_CODES_SMS.format(count=count))
        except domain.SmsUnavailable:
            log.warning("unused-code notice not delivered", extra={"event": "otp_unused_notice_failed"})


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
                token: Optional[str] = None, deadline: Optional[float] = None,
                requesters: Sequence[str] = (), recovery_ticket: Optional[str] = None) -> None:
    """Sends a code by SMS. The answer is the same whether the number is known or not, and (for a phone
    change or a recovery) the same whether or not the new number belongs to another account.
    `deadline` (epoch seconds) is when the caller stops waiting: past it, nothing is sent."""
    purpose = domain.ensure_purpose(purpose)
    phone = _phone(phone)
    key_of_phone = domain.phone_key(key, phone)
    if purpose == "login":
        person = _person_by_phone(session, phone)
        recipient = person
    else:
        # change_phone: the verified user; recovery: the account whose facts were just checked.
        person = (_authenticate(session, key, token, now) if purpose == "change_phone"
                  else _recovering_person(session, key, recovery_ticket, now))
        domain.ensure_phone_changes(person.phone, phone)
        # A number held by another account gets a challenge nobody can answer and no SMS: the reply and
        # the rate limit are those of any number, so a verified user cannot probe who is registered.
        recipient = None if _phone_taken(session, phone, person.id) else person
    purge_expired_otp_records(session, now, gateway)
    requester_keys = _requester_keys(key, "otp-requester", requesters, domain.OTP_MAX_PER_REQUESTER,
                                     domain.OTP_MAX_PER_CLIENT)
    _ensure_codes_allowed(session, requester_keys, key_of_phone, now)
    otp = domain.issue_otp(key, now)
    # Unknown numbers get a challenge too, so they hit the same rate limit as known ones.
    challenge = OtpChallenge(phone_key=key_of_phone, purpose=purpose, salt=otp.salt, code_hash=otp.code_hash,
                             created_at=now, expires_at=otp.expires_at, attempts=0,
                             person_id=recipient.id if recipient else None)
    session.add(challenge)
    session.flush()
    for requester_key, _ in requester_keys:
        session.add(OtpRequest(requester_key=requester_key, phone_key=key_of_phone, challenge_id=challenge.id,
                               created_at=now))
    session.commit()
    if recipient is not None:
        if deadline is not None and time.time() > deadline:
            # The caller gave up (e.g. this service was stalled): a code sent now would arrive after the
            # user was told to retry, and the retry would spend a second one.
            _forget(session, challenge)
            raise domain.RequestPastDeadline()
        try:
            gateway.send(phone, _OTP_SMS[purpose].format(code=otp.code))
        except domain.SmsUnavailable:
            # An undelivered code must not count against the user's hourly limit.
            _forget(session, challenge)
            raise
    log.info("otp requested for %s (%s)", mask_phone(phone), purpose, extra={"event": "otp_requested"})


def _requester_keys(key: bytes, label: str, requesters: Sequence[str], per_conversation: int,
                    per_client: int) -> List[Tuple[str, int]]:
    """Keyed hashes (under `label`) of who asks, at most four, each with its limit: a conversation (or a
    caller that names nobody) `per_conversation`; a client address ("client:…", shared behind a
    carrier's NAT by many people) the wider `per_client`."""
    named = sorted({r[:200] for r in requesters if isinstance(r, str) and r})[:4] or ["unnamed"]
    return [(keyed_hash(key, label, r), per_client if is_client_requester(r) else per_conversation) for r in named]


def _ensure_codes_allowed(session: Session, requester_keys: Sequence[Tuple[str, int]], key_of_phone: str,
                          now: dt.datetime) -> None:
    since = now - domain.OTP_WINDOW
    for requester_key, across_numbers in requester_keys:
        mine = session.execute(select(OtpRequest.created_at, OtpRequest.phone_key).where(
            OtpRequest.requester_key == requester_key, OtpRequest.created_at > since)).all()
        domain.ensure_otp_request_allowed([at for at, phone in mine if phone == key_of_phone], now)
        domain.ensure_otp_request_allowed([at for at, _ in mine], now, across_numbers, own=False)
    everyone = session.execute(select(OtpChallenge.created_at).where(
        OtpChallenge.phone_key == key_of_phone, OtpChallenge.created_at > since)).scalars().all()
    domain.ensure_otp_request_allowed(everyone, now, domain.OTP_MAX_PER_PHONE, own=False)


def _forget(session: Session, challenge: OtpChallenge) -> None:
    """A code that was never sent is not counted against anyone."""
    session.execute(delete(OtpRequest).where(OtpRequest.challenge_id == challenge.id))
    session.delete(challenge)
    session.commit()


def verify_otp(session: Session, key: bytes, phone: str, code: str, now: dt.datetime) -> str:
    """Exchanges a login code for a verification token (shown once, stored only as a keyed hash)."""
    phone = _phone(phone)
    key_of_phone = domain.phone_key(key, phone)
    challenge = _latest_challenge(session, key_of_phone, "login")
    _check_code(session, key, key_of_phone, challenge, code, challenge.person_id if challenge else None, now)
    token = domain.issue_session_token()
    session.execute(delete(OtpFailure).where(OtpFailure.phone_key == key_of_phone))
    session.execute(delete(VerificationSession).where(VerificationSession.person_id == challenge.person_id,
                                                      VerificationSession.last_seen_at < now - domain.SESSION_IDLE))
    session.add(VerificationSession(token_hash=domain.hash_session_token(key, token), person_id=challenge.person_id,
                                    created_at=now, last_seen_at=now, revoked=False))
    session.commit()
    log.info("otp verified for %s", mask_phone(phone), extra={"event": "otp_verified"})
    return token


def end_session(session: Session, key: bytes, token: Optional[str]) -> None:
    """Ends a verification at once (the user restarted or left the flow); idempotent, and silent for
    a token that is unknown or already ended."""
    if not token:
        return
    row = session.execute(
        select(VerificationSession).where(VerificationSession.token_hash == domain.hash_session_token(key, token))
    ).scalars().first()
    if row is not None and not row.revoked:
        row.revoked = True
        session.commit()
        log.info("verification ended", extra={"event": "session_ended"})


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


def _phone_taken(session: Session, phone: str, person_id: int) -> bool:
    holder = _person_by_phone(session, phone)
    return holder is not None and holder.id != person_id


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
    key_of_phone = domain.phone_key(key, phone)
    # A number held by another account had a challenge nobody can answer: the code fails as a wrong one.
    _check_code(session, key, key_of_phone, _latest_challenge(session, key_of_phone, "change_phone"), code,
                person.id, now)
    if _phone_taken(session, phone, person.id):
        # Taken after the code was sent to it: only the holder of that number can learn this.
        raise domain.PhoneInUse()
    old_phone = person.phone
    session.add(AuditEntry(person_id=person.id, field="phone", old_masked=change.old, new_masked=change.new,
                           at=now, channel=channel, request_id=request_id))
    person.phone = phone
    raced = _commit_change(session, request_id, person.id, "phone", change.new)
    if raced is not None:
        return Change(raced, change.new)
    log.info("phone changed via %s", channel, extra={"event": "phone_changed"})
    try:
        gateway.send(old_phone, _PHONE_CHANGED_SMS.format(phone=mask_phone(phone), when=_wib_text(now)))
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



# --- Recovering an account whose number is lost ----------------------------------------------------

@dataclass(frozen=True)
class RecoveryStatus:
    """What anyone holding the reference may learn: no name, number or NIK."""

    reference: str
    status: str
    created_at: dt.datetime
    expected_by: dt.date
    decided_at: Optional[dt.datetime]
    new_phone_masked: str
    existing: bool = False   # an earlier pending request of the same account, answered again


def _recovery_subjects(key: bytes, nik: str, requesters: Sequence[str]) -> List[Tuple[str, int]]:
    """Who a failed check counts against, each with its daily limit: the NIK (whoever asks), the
    conversation, and a client address ("client:…", shared by many behind a carrier's NAT)."""
    return [(keyed_hash(key, "recovery-nik", nik), domain.RECOVERY_FAILURES_PER_DAY)] + _requester_keys(
        key, "recovery-requester", requesters, domain.RECOVERY_FAILURES_PER_DAY, domain.RECOVERY_FAILURES_PER_CLIENT)


def check_recovery_facts(session: Session, key: bytes, nik: str, birth_date: dt.date, name: str,
                         requesters: Sequence[str], now: dt.datetime) -> str:
    """Full NIK, birth date and the name on the certificate, checked together: a short-lived ticket for
    the next steps when they match one account; one identical refusal for any mismatch, counted per NIK
    and per requester (5 a day)."""
    nik = _nik(nik)
    subjects = _recovery_subjects(key, nik, requesters)
    since = now - domain.RECOVERY_WINDOW
    session.execute(delete(RecoveryFailure).where(RecoveryFailure.failed_at < since))
    left = domain.RECOVERY_FAILURES_PER_DAY
    for subject, limit in subjects:
        failures = session.execute(select(RecoveryFailure.failed_at).where(
            RecoveryFailure.subject_key == subject, RecoveryFailure.failed_at > since)).scalars().all()
        left = min(left, domain.ensure_recovery_allowed(failures, now, limit))
    person = session.execute(select(Person).where(Person.nik == nik)).scalars().first()
    # The name is compared even for an unknown NIK, so the answer takes the same work either way.
    matched = domain.facts_match(person.birth_date if person else dt.date.min, person.name if person else "",
                                 birth_date, name)
    if person is None or not matched:
        for subject, _ in subjects:
            session.add(RecoveryFailure(subject_key=subject, failed_at=now))
        session.commit()
        log.info("recovery facts did not match", extra={"event": "recovery_mismatch"})
        raise domain.RecoveryFactsMismatch(attempts_left=left - 1)
    session.commit()
    ttl = int(domain.RECOVERY_TICKET_TTL.total_seconds())
    return sign(key, domain.recovery_ticket_claims(person.id), expires_in=ttl, now=_epoch(now))


def _recovering_person(session: Session, key: bytes, ticket: Optional[str], now: dt.datetime) -> Person:
    try:
        person_id = domain.read_recovery_ticket_claims(verify(key, ticket or "", now=_epoch(now)))
    except InvalidSignature:
        raise domain.RecoveryTicketInvalid() from None
    person = session.get(Person, person_id)
    if person is None:
        raise domain.RecoveryTicketInvalid()
    return person


def _recovery_status(row: RecoveryRequest, existing: bool = False) -> RecoveryStatus:
    return RecoveryStatus(row.reference, row.status, row.created_at, row.expected_by, row.decided_at,
                          mask_phone(row.new_phone), existing)


def _pending_recovery(session: Session, person_id: int) -> Optional[RecoveryRequest]:
    return session.execute(select(RecoveryRequest).where(RecoveryRequest.person_id == person_id,
                                                         RecoveryRequest.status == "pending")).scalars().first()


def open_recovery(session: Session, gateway: SmsGateway, key: bytes, ticket: Optional[str], new_phone: str,
                  code: str, request_id: str, channel: str, now: dt.datetime) -> RecoveryStatus:
    """Queues the move of an account to a number proven by a code sent there, for an officer to decide;
    nothing changes until then. Idempotent by `request_id`; an account has at most one pending request
    (asking again answers with it). The registered number is told at once, so its holder can object."""
    person = _recovering_person(session, key, ticket, now)
    previous = session.execute(select(RecoveryRequest).where(RecoveryRequest.request_id == request_id)).scalars().first()
    if previous is not None:
        if previous.person_id != person.id:
            raise domain.RequestIdConflict()
        return _recovery_status(previous)
    pending = _pending_recovery(session, person.id)
    if pending is not None:
        return _recovery_status(pending, existing=True)
    phone = _phone(new_phone)
    domain.ensure_phone_changes(person.phone, phone)
    key_of_phone = domain.phone_key(key, phone)
    _check_code(session, key, key_of_phone, _latest_challenge(session, key_of_phone, "recovery"), code, person.id, now)
    if _phone_taken(session, phone, person.id):
        raise domain.PhoneInUse()
    local_day = now.replace(tzinfo=dt.timezone.utc).astimezone(WIB).date()
    row = RecoveryRequest(reference=domain.new_recovery_reference(), person_id=person.id, new_phone=phone,
                          status="pending", channel=channel, request_id=request_id, created_at=now,
                          expected_by=domain.add_working_days(local_day, domain.RECOVERY_REVIEW_WORKING_DAYS))
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # A concurrent twin (same request id, or a second pending request of the account) won the race.
        session.rollback()
        winner = _pending_recovery(session, person.id)
        if winner is None:
            raise
        return _recovery_status(winner, existing=winner.request_id != request_id)
    log.info("recovery %s opened via %s", row.reference, channel, extra={"event": "recovery_opened"})
    try:
        gateway.send(person.phone, _RECOVERY_OPENED_SMS.format(phone=mask_phone(phone), reference=row.reference,
                                                               expected=domain.format_date_id(row.expected_by)))
    except domain.SmsUnavailable:
        log.warning("recovery notice not delivered", extra={"event": "recovery_notice_failed"})
    return _recovery_status(row)


def _recovery_by_reference(session: Session, reference: str) -> RecoveryRequest:
    row = session.execute(select(RecoveryRequest).where(RecoveryRequest.reference == reference)).scalars().first()
    if row is None:
        raise domain.RecoveryNotFound()
    return row


def recovery_status(session: Session, reference: str) -> RecoveryStatus:
    """By the reference as a user may type it (spaces, lower case)."""
    return _recovery_status(_recovery_by_reference(session, (reference or "").strip().upper()))


def decide_recovery(session: Session, gateway: SmsGateway, reference: str, decision: str, officer: str,
                    now: dt.datetime) -> RecoveryStatus:
    """An officer's decision: approval moves the account (audited, every verification of it ended, both
    numbers told); rejection only closes the request. Deciding the same way again changes nothing."""
    status = domain.recovery_decision(decision)
    row = _recovery_by_reference(session, reference)
    if row.status != "pending":
        if row.status != status:
            raise domain.RecoveryAlreadyDecided(row.status)
        return _recovery_status(row)
    person = row.person
    notices = []
    if status == "approved":
        if _phone_taken(session, row.new_phone, person.id):
            raise domain.PhoneInUse()
        old_phone = person.phone
        session.add(AuditEntry(person_id=person.id, field="phone", old_masked=mask_phone(old_phone),
                               new_masked=mask_phone(row.new_phone), at=now, channel="recovery",
                               request_id=f"recovery:{row.reference}"))
        person.phone = row.new_phone
        for verification in session.execute(select(VerificationSession).where(
                VerificationSession.person_id == person.id, VerificationSession.revoked.is_(False))).scalars():
            verification.revoked = True
        notices = [(row.new_phone, _RECOVERY_APPROVED_SMS.format(reference=row.reference)),
                   (old_phone, _PHONE_CHANGED_SMS.format(phone=mask_phone(row.new_phone), when=_wib_text(now)))]
    else:
        notices = [(row.new_phone, _RECOVERY_REJECTED_SMS.format(reference=row.reference))]
    row.status, row.decided_at, row.decided_by = status, now, officer[:100]
    session.commit()
    log.info("recovery %s %s", row.reference, status, extra={"event": "recovery_decided"})
    for phone, text in notices:
        try:
            gateway.send(phone, text)
        except domain.SmsUnavailable:
            log.warning("recovery decision notice not delivered", extra={"event": "recovery_notice_failed"})
    return _recovery_status(row)


def _wib_text(now: dt.datetime) -> str:
    local = now.replace(tzinfo=dt.timezone.utc).astimezone(WIB)
    return f"{domain.format_date_id(local.date())} pukul {local:%H.%M}"
