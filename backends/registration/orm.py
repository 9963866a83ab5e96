"""Tables of the registration service (SQLAlchemy 1.4, 2.0-style declarative models)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, String,
                        UniqueConstraint, text)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Site(Base):
    __tablename__ = "sites"
    id = Column(Integer, primary_key=True)
    code = Column(String(20), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    address = Column(String(300), nullable=False)
    regency = Column(String(100), nullable=False, index=True)
    province = Column(String(100), nullable=False)


class Target(Base):
    """A health worker on the vaccination target list."""

    __tablename__ = "targets"
    id = Column(Integer, primary_key=True)
    nik = Column(String(16), nullable=False, unique=True)
    nik_suffix = Column(String(6), nullable=False, index=True)
    name = Column(String(100), nullable=False)
    birth_date = Column(Date, nullable=False)
    profession = Column(String(50), nullable=False)
    facility = Column(String(200), nullable=False)
    assigned_site_id = Column(Integer, ForeignKey("sites.id"), nullable=False)
    phone = Column(String(20), nullable=False)
    regency = Column(String(100), nullable=False)
    province = Column(String(100), nullable=False)
    status = Column(String(20), nullable=False, default="not_vaccinated")
    assigned_site = relationship(Site)


class Slot(Base):
    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("site_id", "date", "session", name="uq_slots_site_date_session"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slots_within_capacity"),
    )
    id = Column(Integer, primary_key=True)
    site_id = Column(Integer, ForeignKey("sites.id"), nullable=False, index=True)
    date = Column(Date, nullable=False)
    session = Column(String(10), nullable=False)
    capacity = Column(Integer, nullable=False)
    booked = Column(Integer, nullable=False, default=0)
    site = relationship(Site)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        # At most one active appointment per health worker, enforced by the database.
        Index("uq_appointments_one_active", "target_id", unique=True,
              sqlite_where=text("status = 'booked'"), postgresql_where=text("status = 'booked'")),
    )
    id = Column(Integer, primary_key=True)
    target_id = Column(Integer, ForeignKey("targets.id"), nullable=False)
    site_id = Column(Integer, ForeignKey("sites.id"), nullable=False)
    slot_id = Column(Integer, ForeignKey("slots.id"), nullable=False)
    screening_answers = Column(JSON, nullable=False)
    screening_outcome = Column(String(20), nullable=False)
    status = Column(String(20), nullable=False, default="booked")
    ticket_code = Column(String(200), unique=True)
    request_id = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime, nullable=False, default=_now)
    # The conversation that booked (Rasa's channel name and sender id): where the day-before
    # reminder goes. Null for bookings made outside a conversation.
    contact_channel = Column(String(30))
    contact_conversation_id = Column(String(100))
    target = relationship(Target)
    site = relationship(Site)
    slot = relationship(Slot)


class Submission(Base):
    """Data sent by a health worker who is missing from the target list, awaiting verification."""

    __tablename__ = "submissions"
    __table_args__ = (
        # Once is once: at most one pending submission per NIK, enforced by the database.
        Index("uq_submissions_one_pending", "nik", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )
    id = Column(Integer, primary_key=True)
    reference = Column(String(20), nullable=False, unique=True)
    nik = Column(String(16), nullable=False, index=True)
    name = Column(String(100), nullable=False)
    profession = Column(String(50), nullable=False)
    facility = Column(String(200), nullable=False)
    phone = Column(String(20), nullable=False)
    status = Column(String(20), nullable=False, default="pending")
    request_id = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime, nullable=False, default=_now)


class LookupMiss(Base):
    """An identification attempt that matched nobody, per requester (a keyed hash of the conversation
    or channel identity, or of the digits guessed; never the value itself): the throttle's memory,
    kept one day."""

    __tablename__ = "lookup_misses"
    id = Column(Integer, primary_key=True)
    requester_hash = Column(String(64), nullable=False, index=True)
    failed_at = Column(DateTime, nullable=False, index=True)
