"""appointment contact: the conversation that booked, for day-before reminders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:10:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_channel", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("contact_conversation_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("contact_conversation_id")
        batch_op.drop_column("contact_channel")
