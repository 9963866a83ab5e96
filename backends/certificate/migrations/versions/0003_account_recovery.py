"""Recovering an account whose number is lost: recovery_requests (reviewed by an officer),
recovery_failures (the daily limit of identity checks), and the OTP purpose `recovery`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

otp_challenges and otp_requests hold at most an hour of short-lived codes, so they are recreated with
the wider purpose constraint (as 0002 did): a code requested during the upgrade is simply requested again.
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PURPOSES_BEFORE = "purpose IN ('login', 'change_phone')"
_PURPOSES_AFTER = "purpose IN ('login', 'change_phone', 'recovery')"


def _recreate_challenges(purposes: str) -> None:
    """otp_challenges and the otp_requests that point at it, with `purposes` allowed."""
    op.drop_table("otp_requests")
    op.drop_table("otp_challenges")
    op.create_table(
        "otp_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_key", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        # op.f: the name as written (0002's went through the naming convention twice).
        sa.CheckConstraint(purposes, name=op.f("ck_otp_challenges_purpose_known")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name="fk_otp_challenges_person_id_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_otp_challenges"),
    )
    op.create_index("ix_otp_challenges_phone_key", "otp_challenges", ["phone_key"])
    op.create_table(
        "otp_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester_key", sa.String(length=64), nullable=False),
        sa.Column("phone_key", sa.String(length=64), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["challenge_id"], ["otp_challenges.id"], ondelete="CASCADE",
                                name="fk_otp_requests_challenge_id_otp_challenges"),
        sa.PrimaryKeyConstraint("id", name="pk_otp_requests"),
    )
    op.create_index("ix_otp_requests_requester_key", "otp_requests", ["requester_key"])


def upgrade() -> None:
    _recreate_challenges(_PURPOSES_AFTER)
    op.create_table(
        "recovery_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("new_phone", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expected_by", sa.Date(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f("ck_recovery_requests_status_known")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name="fk_recovery_requests_person_id_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_recovery_requests"),
        sa.UniqueConstraint("reference", name="uq_recovery_requests_reference"),
        sa.UniqueConstraint("request_id", name="uq_recovery_requests_request_id"),
    )
    op.create_index("ix_recovery_requests_person_id", "recovery_requests", ["person_id"])
    op.create_index("uq_recovery_requests_one_pending", "recovery_requests", ["person_id"], unique=True,
                    postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
    op.create_table(
        "recovery_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recovery_failures"),
    )
    op.create_index("ix_recovery_failures_subject_key", "recovery_failures", ["subject_key"])


def downgrade() -> None:
    op.drop_table("recovery_failures")
    op.drop_index("uq_recovery_requests_one_pending", table_name="recovery_requests")
    op.drop_table("recovery_requests")
    _recreate_challenges(_PURPOSES_BEFORE)
