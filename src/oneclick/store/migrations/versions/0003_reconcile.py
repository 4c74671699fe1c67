"""The reconciliation: the token of each deposit and why it is parked; balances that could not
be refunded (``custody_holdings``).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oneclick.store.types import Amount, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deposits") as batch:
        batch.add_column(sa.Column("asset", sa.String(256)))
        batch.add_column(sa.Column("reason", sa.Text))
    op.create_table(
        "custody_holdings",
        sa.Column("account_id", sa.String(64)),
        sa.Column("token", sa.String(256)),
        sa.Column("swap_id", sa.String(36), nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("disposition", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "token", name="pk_custody_holdings"),
        sa.ForeignKeyConstraint(
            ["swap_id"], ["swaps.id"], name="fk_custody_holdings_swap_id_swaps"
        ),
    )


def downgrade() -> None:
    op.drop_table("custody_holdings")
    with op.batch_alter_table("deposits") as batch:
        batch.drop_column("reason")
        batch.drop_column("asset")
