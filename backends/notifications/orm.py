"""Tables of the notification service (SQLAlchemy 1.4). Prefixed `notification_` so that all three
services can share one database. Recipients are identified only by keyed hashes of
(channel, conversation id); where a worker needs the number, it is sealed (Fernet, with a key
only the workers hold) and the seal is dropped once the message has settled."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, DateTime, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import declarative_base

from backends.shared.clock import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}
Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class Preference(Base):
    """A recipient's choice; no row means "notifications on" (reminders they asked for by booking)."""

    __tablename__ = "notification_preferences"
    recipient_hash = Column(String(64), primary_key=True)
    opted_out = Column(Boolean, nullable=False)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class Delivery(Base):
    """The ledger: one row per (campaign, recipient), claimed before sending, so nobody gets a
    campaign twice however often it runs or however many runs race."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (UniqueConstraint("campaign_id", "recipient_hash", name="uq_notification_deliveries_recipient"),
                      Index("ix_notification_deliveries_campaign_status", "campaign_id", "status"))
    id = Column(Integer, primary_key=True)
    campaign_id = Column(String(100), nullable=False)
    recipient_hash = Column(String(64), nullable=False)
    # queued | sending | sent | delivered | read | failed | deferred (backends/notifications/domain.py)
    status = Column(String(10), nullable=False)
    attempts = Column(Integer, nullable=False, default=1)
    run_id = Column(Integer, nullable=False)  # the run that holds or last held the claim
    error = Column(String(200))
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    channel = Column(String(30))        # whatsapp | sms | the Rasa channel of a conversation (rest, ...)
    message_kind = Column(String(10))   # template | text | sms | event
    sealed = Column(Text)               # the recipient's address and the message's values, sealed
    subject_ref = Column(String(40))    # opaque id in the owning backend, e.g. "target:17" (funnel)
    message_digest = Column(String(64), index=True)  # SHA-256 of Meta's message id (statuses, replies)
    error_code = Column(Integer)        # Meta's error code of the last failure
    queued_at = Column(DateTime)
    claimed_at = Column(DateTime)       # when a worker moved it to `sending`
    sent_at = Column(DateTime)
    delivered_at = Column(DateTime)
    read_at = Column(DateTime)
    failed_at = Column(DateTime)        # WhatsApp could not deliver (an SMS may have followed)
    replied_at = Column(DateTime)
    registered_at = Column(DateTime)    # invitations: the health worker booked after the message


class CampaignRun(Base):
    __tablename__ = "notification_runs"
    id = Column(Integer, primary_key=True)
    campaign_id = Column(String(100), nullable=False, index=True)
    template = Column(String(50), nullable=False)
    cohort_date = Column(Date, nullable=False)
    dry_run = Column(Boolean, nullable=False, default=False)
    status = Column(String(10), nullable=False, default="running")  # running | finished | error
    started_at = Column(DateTime, nullable=False, default=utcnow)
    finished_at = Column(DateTime)
    total = Column(Integer, nullable=False, default=0)
    sent = Column(Integer, nullable=False, default=0)
    would_send = Column(Integer, nullable=False, default=0)
    skipped_opted_out = Column(Integer, nullable=False, default=0)
    skipped_already_sent = Column(Integer, nullable=False, default=0)
    skipped_no_contact = Column(Integer, nullable=False, default=0)
    failed = Column(Integer, nullable=False, default=0)
    queued = Column(Integer, nullable=False, default=0)
    deferred = Column(Integer, nullable=False, default=0)
    error = Column(String(200))
