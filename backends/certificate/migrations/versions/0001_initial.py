"""Initial schema of the certificate service.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Generated with autogenerate against an empty SQLite database, then reordered and reviewed.
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nik", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_persons"),
        sa.UniqueConstraint("nik", name="uq_persons_nik"),
    )
    op.create_index("ix_persons_phone", "persons", ["phone"])

    op.create_table(
        "vaccinations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("dose", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("brand", sa.String(length=50), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("batch", sa.String(length=30), nullable=False),
        sa.CheckConstraint("dose IN (1, 2, 3)", name="ck_vaccinations_dose_known"),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name="fk_vaccinations_person_id_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_vaccinations"),
        sa.UniqueConstraint("person_id", "dose", name="uq_vaccinations_person_dose"),
    )

    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vaccination_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["vaccination_id"], ["vaccinations.id"],
                                name="fk_certificates_vaccination_id_vaccinations"),
        sa.PrimaryKeyConstraint("id", name="pk_certificates"),
        sa.UniqueConstraint("number", name="uq_certificates_number"),
        sa.UniqueConstraint("vaccination_id", name="uq_certificates_vaccination_id"),
    )

    op.create_table(
        "otp_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
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
    op.create_index("ix_otp_challenges_phone", "otp_challenges", ["phone"])

    op.create_table(
        "otp_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_otp_failures"),
    )
    op.create_index("ix_otp_failures_phone", "otp_failures", ["phone"])

    op.create_table(
        "verification_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name="fk_verification_sessions_person_id_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_verification_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_verification_sessions_token_hash"),
    )
    op.create_index("ix_verification_sessions_person_id", "verification_sessions", ["person_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=30), nullable=False),
        sa.Column("old_masked", sa.String(length=120), nullable=False),
        sa.Column("new_masked", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name="fk_audit_log_person_id_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.UniqueConstraint("request_id", name="uq_audit_log_request_id"),
    )
    op.create_index("ix_audit_log_person_id", "audit_log", ["person_id"])

    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name="fk_escalations_person_id_persons"),
        sa.PrimaryKeyConstraint("id", name="pk_escalations"),
        sa.UniqueConstraint("reference", name="uq_escalations_reference"),
        sa.UniqueConstraint("request_id", name="uq_escalations_request_id"),
    )
    op.create_index("ix_escalations_person_id", "escalations", ["person_id"])


def downgrade() -> None:
    for table in ("escalations", "audit_log", "verification_sessions", "otp_failures", "otp_challenges",
                  "certificates", "vaccinations", "persons"):
        op.drop_table(table)  # dropping a table drops its indexes too
