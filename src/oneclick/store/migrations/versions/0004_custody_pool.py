"""The custody pool and per-client caps: ``custody_accounts.taken_at`` (NULL while a pre-derived
account waits in the pool) and ``swaps.client`` (who asked for the quote).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oneclick.store.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("custody_accounts") as batch:
        batch.add_column(sa.Column("taken_at", UtcDateTime))
        batch.create_index("ix_custody_accounts_taken_at", ["taken_at"])
    # Every account made before the pool existed was made for (and belongs to) a quote.
    op.execute("UPDATE custody_accounts SET taken_at = created_at")
    with op.batch_alter_table("swaps") as batch:
        batch.add_column(sa.Column("client", sa.String(80)))
        batch.create_index("ix_swaps_client_status", ["client", "status"])


def downgrade() -> None:
    with op.batch_alter_table("swaps") as batch:
        batch.drop_index("ix_swaps_client_status")
        batch.drop_column("client")
    op.execute("DELETE FROM custody_accounts WHERE taken_at IS NULL")
    with op.batch_alter_table("custody_accounts") as batch:
        batch.drop_index("ix_custody_accounts_taken_at")
        batch.drop_column("taken_at")
