"""lookup misses: the memory of the identification throttle (keyed hashes of requesters only)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 17:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "lookup_misses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("requester_hash", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_lookup_misses_requester_hash", "lookup_misses", ["requester_hash"])
    op.create_index("ix_lookup_misses_failed_at", "lookup_misses", ["failed_at"])


def downgrade() -> None:
    op.drop_index("ix_lookup_misses_failed_at", table_name="lookup_misses")
    op.drop_index("ix_lookup_misses_requester_hash", table_name="lookup_misses")
    op.drop_table("lookup_misses")
