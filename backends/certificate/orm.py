"""Tables of the certificate service (SQLAlchemy 1.4, 2.0-style declarative models).

Table names differ from the registration service's so both can share one database.
Timestamps are naive UTC. Secrets (OTP codes, session tokens) are stored only as keyed hashes.
"""
from __future__ import annotations

from sqlalchemy import (Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, MetaData,
                        String, Text, UniqueConstraint, text)
from sqlalchemy.orm import declarative_base, relationship

from backends.shared.clock import utcnow

# Named constraints keep migrations reproducible and let SQLite batch mode find them again.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class Person(Base):
    __tablename__ = "persons"
    id = Column(Integer, primary_key=True)
    nik = Column(String(16), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    birth_date = Column(Date, nullable=False)
    phone = Column(String(20), nullable=False, index=True)  # E.164
    vaccinations = relationship("Vaccination", back_populates="person", order_by="Vaccination.dose")


class Vaccination(Base):
    __tablename__ = "vaccinations"
    __table_args__ = (
        UniqueConstraint("person_id", "dose", name="uq_vaccinations_person_dose"),
        CheckConstraint("dose IN (1, 2, 3)", name="dose_known"),
    )
    id = Column(Integer, primary_key=True)
    person_id = Column(Integer, ForeignKey("persons.id"), nullable=False)
    dose = Column(Integer, nullable=False)
    date = Column(Date, nullable=False)
    brand = Column(String(50), nullable=False)
    site = Column(String(200), nullable=False)
    batch = Column(String(30), nullable=False)
    person = relationship(Person, back_populates="vaccinations")
    certificate = relationship("Certificate", back_populates="vaccination", uselist=False)


class Certificate(Base):
    __tablename__ = "certificates"
    id = Column(Integer, primary_key=True)
    vaccination_id = Column(Integer, ForeignKey("vaccinations.id"), nullable=False, unique=True)
    number = Column(String(20), nullable=False, unique=True)
    issued_at = Column(DateTime, nullable=False, default=utcnow)
    vaccination = relationship(Vaccination, back_populates="certificate")


class OtpChallenge(Base):
    """One OTP sent (or, for unknown numbers, pretended to be sent) by SMS. The number is kept only as a
    keyed hash (`domain.phone_key`): a table of every number anyone ever typed would be a directory."""

    __tablename__ = "otp_challenges"
    __table_args__ = (CheckConstraint("purpose IN ('login', 'change_phone', 'recovery')", name="purpose_known"),)
    id = Column(Integer, primary_key=True)
    phone_key = Column(String(64), nullable=False, index=True)
    purpose = Column(String(20), nullable=False)
    salt = Column(String(64), nullable=False)
    code_hash = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    consumed_at = Column(DateTime)
    # login: the holder of the number (null if unknown); change_phone and recovery: whose account moves
    # (null when the new number belongs to another account: nobody can answer that code).
    person_id = Column(Integer, ForeignKey("persons.id"))


class OtpRequest(Base):
    """Who asked for a code for which number, both as keyed hashes: the per-requester limits' memory,
    kept an hour."""

    __tablename__ = "otp_requests"
    id = Column(Integer, primary_key=True)
    requester_key = Column(String(64), nullable=False, index=True)
    phone_key = Column(String(64), nullable=False)
    challenge_id = Column(Integer, ForeignKey("otp_challenges.id", ondelete="CASCADE"), nullable=False)
    created_at = Column(DateTime, nullable=False)


class OtpFailure(Base):
    """A failed verification, kept per phone so the growing delay survives new codes."""

    __tablename__ = "otp_failures"
    id = Column(Integer, primary_key=True)
    phone_key = Column(String(64), nullable=False, index=True)
    failed_at = Column(DateTime, nullable=False)


class VerificationSession(Base):
    __tablename__ = "verification_sessions"
    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    person_id = Column(Integer, ForeignKey("persons.id"), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False)
    last_seen_at = Column(DateTime, nullable=False)
    revoked = Column(Boolean, nullable=False, default=False)
    person = relationship(Person)


class AuditEntry(Base):
    """A change of personal data; old and new values only masked (PDP law)."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    person_id = Column(Integer, ForeignKey("persons.id"), nullable=False, index=True)
    field = Column(String(30), nullable=False)
    old_masked = Column(String(120), nullable=False)
    new_masked = Column(String(120), nullable=False)
    at = Column(DateTime, nullable=False)
    channel = Column(String(20), nullable=False)
    request_id = Column(String(64), unique=True)


class Escalation(Base):
    """A request only a human can resolve (e.g. a wrong NIK), handed to the call centre."""

    __tablename__ = "escalations"
    id = Column(Integer, primary_key=True)
    reference = Column(String(20), nullable=False, unique=True)
    person_id = Column(Integer, ForeignKey("persons.id"), nullable=False, index=True)
    kind = Column(String(30), nullable=False)
    note = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False)
    request_id = Column(String(64), nullable=False, unique=True)


class RecoveryRequest(Base):
    """A request to move an account to a new number, by someone who lost the registered one: the facts
    matched and a code reached the new number; an officer decides (POST /v1/recovery/{reference}/decision).
    At most one pending request per account."""

    __tablename__ = "recovery_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        Index("uq_recovery_requests_one_pending", "person_id", unique=True,
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
    )
    id = Column(Integer, primary_key=True)
    reference = Column(String(20), nullable=False, unique=True)
    person_id = Column(Integer, ForeignKey("persons.id"), nullable=False, index=True)
    new_phone = Column(String(20), nullable=False)  # E.164: what an approval applies, like persons.phone
    status = Column(String(10), nullable=False)
    channel = Column(String(20), nullable=False)
    request_id = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime, nullable=False)
    expected_by = Column(Date, nullable=False)
    decided_at = Column(DateTime)
    decided_by = Column(String(100))
    person = relationship(Person)


class RecoveryFailure(Base):
    """A failed identity check, kept 24 hours per requester and per NIK (both keyed hashes)."""

    __tablename__ = "recovery_failures"
    id = Column(Integer, primary_key=True)
    subject_key = Column(String(64), nullable=False, index=True)
    failed_at = Column(DateTime, nullable=False)
