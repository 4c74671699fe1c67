"""ANY_INPUT quotes: ``any_input_deposits`` (each deposit into a reusable address, swapped and
pooled on its own) and ``any_input_withdrawals`` (each payout of the pool). Additive.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oneclick.store.types import Amount, UtcDateTime

revision = "0009"
down_revision = "0008"  # main's head when merged; the lead re-chains
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "any_input_withdrawals",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("swap_id", sa.String(36), nullable=False),
        sa.Column("asset", sa.String(256), nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("intent_hash", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("delivered", Amount),
        sa.Column("tx_hash", sa.String(256)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.ForeignKeyConstraint(["swap_id"], ["swaps.id"],
                                name="fk_any_input_withdrawals_swap_id_swaps"),
        sa.ForeignKeyConstraint(["intent_hash"], ["intents.intent_hash"],
                                name="fk_any_input_withdrawals_intent_hash_intents"),
        sa.PrimaryKeyConstraint("id", name="pk_any_input_withdrawals"),
    )  # fmt: skip
    op.create_index("ix_any_input_withdrawals_swap_id", "any_input_withdrawals", ["swap_id"])
    op.create_table(
        "any_input_deposits",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("swap_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("asset", sa.String(256), nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("chain", sa.String(64), nullable=False),
        sa.Column("tx_hash", sa.String(256)),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("swap_intent", sa.String(64)),
        sa.Column("amount_out", Amount),
        sa.Column("withdrawal_id", sa.String(36)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_try_at", UtcDateTime, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.ForeignKeyConstraint(["swap_id"], ["swaps.id"],
                                name="fk_any_input_deposits_swap_id_swaps"),
        sa.ForeignKeyConstraint(["swap_intent"], ["intents.intent_hash"],
                                name="fk_any_input_deposits_swap_intent_intents"),
        sa.ForeignKeyConstraint(["withdrawal_id"], ["any_input_withdrawals.id"],
                                name="fk_any_input_deposits_withdrawal_id_any_input_withdrawals"),
        sa.PrimaryKeyConstraint("id", name="pk_any_input_deposits"),
        sa.UniqueConstraint("swap_id", "seq", name="uq_any_input_deposits_swap_id_seq"),
        sa.UniqueConstraint("swap_id", "tx_hash", name="uq_any_input_deposits_swap_id_tx_hash"),
    )  # fmt: skip
    op.create_index("ix_any_input_deposits_swap_id", "any_input_deposits", ["swap_id"])


def downgrade() -> None:
    op.drop_index("ix_any_input_deposits_swap_id", "any_input_deposits")
    op.drop_table("any_input_deposits")
    op.drop_index("ix_any_input_withdrawals_swap_id", "any_input_withdrawals")
    op.drop_table("any_input_withdrawals")
