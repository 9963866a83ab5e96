"""the ledger follows each message: queue states, channel, sealed address, Meta's statuses, funnel

Revision ID: n0002
Revises: n0001
Create Date: 2026-11-30 10:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "n0002"
down_revision: Union[str, Sequence[str], None] = "n0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DELIVERY_COLUMNS = (
    ("channel", sa.String(length=30)), ("message_kind", sa.String(length=10)), ("sealed", sa.Text()),
    ("subject_ref", sa.String(length=40)), ("message_digest", sa.String(length=64)),
    ("error_code", sa.Integer()), ("queued_at", sa.DateTime()), ("claimed_at", sa.DateTime()),
    ("sent_at", sa.DateTime()), ("delivered_at", sa.DateTime()), ("read_at", sa.DateTime()),
    ("failed_at", sa.DateTime()), ("replied_at", sa.DateTime()), ("registered_at", sa.DateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        for name, kind in DELIVERY_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
        batch_op.create_index(batch_op.f("ix_notification_deliveries_message_digest"), ["message_digest"],
                              unique=False)
        batch_op.create_index("ix_notification_deliveries_campaign_status", ["campaign_id", "status"], unique=False)
    # Rows of the first version: `claimed` was "being sent"; they were sent in Rasa conversations.
    op.execute("UPDATE notification_deliveries SET status = 'sending' WHERE status = 'claimed'")
    op.execute("UPDATE notification_deliveries SET sent_at = updated_at WHERE status = 'sent'")
    with op.batch_alter_table("notification_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("deferred", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("notification_runs", schema=None) as batch_op:
        batch_op.drop_column("deferred")
        batch_op.drop_column("queued")
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_deliveries_campaign_status")
        batch_op.drop_index(batch_op.f("ix_notification_deliveries_message_digest"))
        for name, _ in reversed(DELIVERY_COLUMNS):
            batch_op.drop_column(name)
