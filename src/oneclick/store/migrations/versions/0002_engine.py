"""The swap engine: phases, deposited amounts and refund reasons on swaps; leg details on intents;
named worker locks.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oneclick.store.types import Amount, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("swaps") as batch:
        batch.add_column(
            sa.Column("phase", sa.String(16), nullable=False, server_default="DEPOSIT")
        )
        batch.add_column(sa.Column("deposited_amount", Amount))
        batch.add_column(sa.Column("refund_reason", sa.String(32)))
        batch.add_column(sa.Column("woken_at", UtcDateTime))
    with op.batch_alter_table("intents") as batch:
        batch.add_column(sa.Column("deadline", UtcDateTime))
        batch.add_column(sa.Column("debits", sa.Text, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("credits", sa.Text, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("reason", sa.Text))
        batch.add_column(sa.Column("destination_tx_hash", sa.String(256)))
        batch.add_column(sa.Column("delivered", Amount))
    op.create_table(
        "worker_locks",
        sa.Column("name", sa.String(64)),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("lease_until", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_worker_locks"),
    )


def downgrade() -> None:
    op.drop_table("worker_locks")
    with op.batch_alter_table("intents") as batch:
        for name in ("delivered", "destination_tx_hash", "reason", "credits", "debits", "deadline"):
            batch.drop_column(name)
    with op.batch_alter_table("swaps") as batch:
        for name in ("woken_at", "refund_reason", "deposited_amount", "phase"):
            batch.drop_column(name)
