"""User sessions (``/v0/auth/*``) and the indexes of a user's history (``/v0/account/history``).

Revision ID: 0008
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oneclick.store.types import UtcDateTime

revision = "0008"
down_revision = "0005"  # re-chained by the lead at the merge
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(36)),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(128), nullable=False),
        sa.Column("standard", sa.String(16), nullable=False),
        sa.Column("auth_nonce", sa.String(64), nullable=False),
        sa.Column("refresh_digest", sa.String(64), nullable=False),
        sa.Column("refreshes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("refreshed_at", UtcDateTime),
        sa.Column("revoked_at", UtcDateTime),
        sa.Column("revoke_reason", sa.String(32)),
        sa.PrimaryKeyConstraint("id", name="pk_user_sessions"),
        sa.UniqueConstraint(
            "account_id", "auth_nonce", name="uq_user_sessions_account_id_auth_nonce"
        ),
    )
    op.create_index("ix_swaps_recipient", "swaps", ["recipient"])
    op.create_index("ix_swaps_refund_to", "swaps", ["refund_to"])
    op.create_index("ix_swaps_created_at_id", "swaps", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_swaps_created_at_id", "swaps")
    op.drop_index("ix_swaps_refund_to", "swaps")
    op.drop_index("ix_swaps_recipient", "swaps")
    op.drop_table("user_sessions")
