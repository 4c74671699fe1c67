"""The initial schema: custody accounts, partners, swaps, deposits, intents.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oneclick.store.types import Amount, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "custody_accounts",
        sa.Column("index", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(64)),
        sa.Column("public_key", sa.String(128)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("index", name="pk_custody_accounts"),
        sa.UniqueConstraint("account_id", name="uq_custody_accounts_account_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.String(36)),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime),
        sa.Column("revoked_at", UtcDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_partners"),
        sa.UniqueConstraint("name", name="uq_partners_name"),
    )
    op.create_table(
        "swaps",
        sa.Column("id", sa.String(36)),
        sa.Column("custody_index", _ID, nullable=False),
        sa.Column("custody_account_id", sa.String(64), nullable=False),
        sa.Column("deposit_address", sa.String(128), nullable=False),
        sa.Column("deposit_memo", sa.String(64), nullable=False, server_default=""),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("swap_type", sa.String(32), nullable=False),
        sa.Column("deposit_type", sa.String(32), nullable=False),
        sa.Column("recipient_type", sa.String(32), nullable=False),
        sa.Column("refund_type", sa.String(32), nullable=False),
        sa.Column("origin_asset", sa.String(256), nullable=False),
        sa.Column("destination_asset", sa.String(256), nullable=False),
        sa.Column("amount_in", Amount, nullable=False),
        sa.Column("min_amount_in", Amount, nullable=False),
        sa.Column("amount_out", Amount, nullable=False),
        sa.Column("min_amount_out", Amount, nullable=False),
        sa.Column("recipient", sa.String(256), nullable=False),
        sa.Column("refund_to", sa.String(256), nullable=False),
        sa.Column("request_deadline", UtcDateTime, nullable=False),
        sa.Column("quote_deadline", UtcDateTime, nullable=False),
        sa.Column("partner_id", sa.String(36)),
        sa.Column("quote_response", sa.Text, nullable=False),
        sa.Column("fees", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("next_run_at", UtcDateTime),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", UtcDateTime),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_swaps"),
        sa.ForeignKeyConstraint(
            ["custody_index"], ["custody_accounts.index"],
            name="fk_swaps_custody_index_custody_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name="fk_swaps_partner_id_partners"
        ),
        sa.UniqueConstraint("custody_index", name="uq_swaps_custody_index"),
        sa.UniqueConstraint(
            "deposit_address", "deposit_memo", name="uq_swaps_deposit_address_deposit_memo"
        ),
    )  # fmt: skip
    op.create_index("ix_swaps_custody_account_id", "swaps", ["custody_account_id"])
    op.create_index("ix_swaps_status_next_run_at", "swaps", ["status", "next_run_at"])
    op.create_table(
        "deposits",
        sa.Column("id", _ID, autoincrement=True),
        sa.Column("swap_id", sa.String(36), nullable=False),
        sa.Column("tx_hash", sa.String(256), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("chain", sa.String(64)),
        sa.Column("amount", Amount),
        sa.Column("near_sender_account", sa.String(64)),
        sa.Column("memo", sa.String(64)),
        sa.Column("status", sa.String(16)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deposits"),
        sa.ForeignKeyConstraint(["swap_id"], ["swaps.id"], name="fk_deposits_swap_id_swaps"),
        sa.UniqueConstraint("swap_id", "tx_hash", name="uq_deposits_swap_id_tx_hash"),
    )
    op.create_table(
        "intents",
        sa.Column("intent_hash", sa.String(64)),
        sa.Column("swap_id", sa.String(36)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("signer_id", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("signed_data", sa.Text, nullable=False),
        sa.Column("quote_hashes", sa.Text, nullable=False, server_default="[]"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("tx_hash", sa.String(64)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("intent_hash", name="pk_intents"),
        sa.ForeignKeyConstraint(["swap_id"], ["swaps.id"], name="fk_intents_swap_id_swaps"),
    )
    op.create_index("ix_intents_swap_id", "intents", ["swap_id"])


def downgrade() -> None:
    for table in ("intents", "deposits", "swaps", "partners", "custody_accounts"):
        op.drop_table(table)
