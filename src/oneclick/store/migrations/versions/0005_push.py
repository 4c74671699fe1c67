"""Push: the append-only swap transition log, partner webhooks and their durable outbox.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oneclick.store.types import UtcDateTime

revision = "0005"
down_revision = "0004"  # "0002" on the branch at first; re-chained onto main's 0004 at the merge
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "swap_transitions",
        sa.Column("id", _ID, autoincrement=True),
        sa.Column("swap_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("from_status", sa.String(32)),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_swap_transitions"),
        sa.ForeignKeyConstraint(
            ["swap_id"], ["swaps.id"], name="fk_swap_transitions_swap_id_swaps"
        ),
        sa.UniqueConstraint("swap_id", "seq", name="uq_swap_transitions_swap_id_seq"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("webhook_url", sa.String(2048)))
        batch.add_column(sa.Column("webhook_salt", sa.String(64)))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _ID, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("partner_id", sa.String(36), nullable=False),
        sa.Column("transition_id", _ID, nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("lease_until", UtcDateTime),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("last_attempt_at", UtcDateTime),
        sa.Column("last_result", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name="fk_webhook_deliveries_partner_id_partners"
        ),
        sa.ForeignKeyConstraint(
            ["transition_id"],
            ["swap_transitions.id"],
            name="fk_webhook_deliveries_transition_id_swap_transitions",
        ),
        sa.UniqueConstraint("event_id", name="uq_webhook_deliveries_event_id"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_webhook_deliveries_state_next_attempt_at",
        "webhook_deliveries",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_state_next_attempt_at", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("webhook_salt")
        batch.drop_column("webhook_url")
    op.drop_table("swap_transitions")
