"""OTP challenges and failures keep a keyed hash of the number, never the number; code requests are
counted per requester too (otp_requests).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

The two tables hold at most an hour of short-lived records (codes live 5 minutes, the rate-limit
window is an hour), so they are recreated rather than converted: a raw number must not survive the
upgrade, and a code requested during the upgrade is simply requested again.
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _create(phone_column: str, length: int) -> None:
    op.create_table(
        "otp_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(phone_column, sa.String(length=length), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("purpose IN ('login', 'change_phone')", name="ck_otp_challenges_purpose_known"),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name="fk_otp_challenges_person_id_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_otp_challenges"),
    )
    op.create_index(f"ix_otp_challenges_{phone_column}", "otp_challenges", [phone_column])
    op.create_table(
        "otp_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(phone_column, sa.String(length=length), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_otp_failures"),
    )
    op.create_index(f"ix_otp_failures_{phone_column}", "otp_failures", [phone_column])


def _create_requests() -> None:
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
    op.drop_table("otp_failures")
    op.drop_table("otp_challenges")
    _create("phone_key", 64)
    _create_requests()


def downgrade() -> None:
    op.drop_table("otp_requests")
    op.drop_table("otp_failures")
    op.drop_table("otp_challenges")
    _create("phone", 20)
