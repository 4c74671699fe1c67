"""The schema (the migrations in ``migrations/versions`` create exactly this; a test compares).

- ``custody_accounts``: derivation index → implicit account id and public key (no secrets).
- ``swaps``: one per non-dry quote: the signed response verbatim, the wire status, and the
  engine's claim columns (``next_run_at``, ``lease_owner``/``lease_until``, ``version``).
- ``deposits``: deposit transactions, submitted or seen (one row per swap and tx hash).
- ``intents``: every signed intent, written before it is published.
- ``partners``: partner names and token validity (tokens themselves are never stored).
- ``worker_locks``: named leases (on SQLite, the one worker allowed holds ``sqlite-worker``).

The engine columns (migration 0002): ``swaps.phase`` (where the engine is within the wire
status), ``deposited_amount``, ``refund_reason``, ``woken_at`` (a wake-up that arrived during a
step); ``intents`` legs carry their ``deadline``, ``debits``/``credits`` (JSON, the custody
account's token movements), ``reason`` and, for withdrawals, ``destination_tx_hash`` and
``delivered`` (what reached the receiver after the bridge's fee).

The reconciliation (migration 0003): ``deposits.asset`` (the token a transfer paid) and
``deposits.reason`` (why what it brought is parked); ``custody_holdings``: balances the
reconciliation found and could not refund (dust or no route back), for ``oneclick admin stuck``.

The custody pool (migration 0004): workers derive ``custody_accounts`` ahead of need (the API
holds no master secret); ``taken_at`` is set when the API hands one to a quote, once. Each swap
records its ``client`` (``ip:…`` or ``partner:…``) for the cap on live, unfunded quotes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from oneclick.store.types import Amount, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

custody_accounts = Table(
    "custody_accounts",
    metadata,
    Column("index", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("account_id", String(64), unique=True),
    Column("public_key", String(128)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("taken_at", UtcDateTime, index=True),  # NULL: in the pool, free for a quote
    sqlite_autoincrement=True,  # never hand out an index twice, even after deletes
)  # fmt: skip

partners = Table(
    "partners",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    # Migration 0005: where this partner's webhooks go, and the non-secret salt its signing
    # secret is derived from (with the install's jwt secret; the secret itself is never stored).
    Column("webhook_url", String(2048)),
    Column("webhook_salt", String(64)),
)

swaps = Table(
    "swaps",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("custody_index", BigInteger().with_variant(Integer, "sqlite"),
           ForeignKey("custody_accounts.index"), nullable=False, unique=True),
    Column("custody_account_id", String(64), nullable=False, index=True),
    Column("deposit_address", String(128), nullable=False),
    # '' when the quote has no memo, so the unique constraint holds (NULLs never collide).
    Column("deposit_memo", String(64), nullable=False, server_default=""),
    Column("status", String(32), nullable=False),
    Column("swap_type", String(32), nullable=False),
    Column("deposit_type", String(32), nullable=False),
    Column("recipient_type", String(32), nullable=False),
    Column("refund_type", String(32), nullable=False),
    Column("origin_asset", String(256), nullable=False),
    Column("destination_asset", String(256), nullable=False),
    Column("amount_in", Amount, nullable=False),
    Column("min_amount_in", Amount, nullable=False),
    Column("amount_out", Amount, nullable=False),
    Column("min_amount_out", Amount, nullable=False),
    Column("recipient", String(256), nullable=False),
    Column("refund_to", String(256), nullable=False),
    Column("request_deadline", UtcDateTime, nullable=False),
    Column("quote_deadline", UtcDateTime, nullable=False),
    Column("partner_id", String(36), ForeignKey("partners.id")),
    Column("quote_response", Text, nullable=False),
    Column("fees", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("next_run_at", UtcDateTime),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("phase", String(16), nullable=False, server_default="DEPOSIT"),
    Column("deposited_amount", Amount),
    Column("refund_reason", String(32)),
    Column("woken_at", UtcDateTime),
    Column("client", String(80)),
    UniqueConstraint("deposit_address", "deposit_memo"),
    Index("ix_swaps_status_next_run_at", "status", "next_run_at"),
    Index("ix_swaps_client_status", "client", "status"),
)  # fmt: skip

deposits = Table(
    "deposits",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("swap_id", String(36), ForeignKey("swaps.id"), nullable=False),
    Column("tx_hash", String(256), nullable=False),
    # SUBMITTED (by the user), BRIDGE (seen); upstream mode: UPSTREAM, FORWARDED (issue 19)
    Column("source", String(16), nullable=False),
    Column("chain", String(64)),
    Column("amount", Amount),
    Column("near_sender_account", String(64)),
    Column("memo", String(64)),
    Column("status", String(16)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("asset", String(256)),
    Column("reason", Text),
    UniqueConstraint("swap_id", "tx_hash"),
)  # fmt: skip

intents = Table(
    "intents",
    metadata,
    Column("intent_hash", String(64), primary_key=True),
    Column("swap_id", String(36), ForeignKey("swaps.id"), index=True),
    Column("kind", String(16), nullable=False),
    Column("signer_id", String(64), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("signed_data", Text, nullable=False),
    Column("quote_hashes", Text, nullable=False, server_default="[]"),
    Column("state", String(16), nullable=False),
    Column("tx_hash", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("deadline", UtcDateTime),
    Column("debits", Text, nullable=False, server_default="{}"),
    Column("credits", Text, nullable=False, server_default="{}"),
    Column("reason", Text),
    Column("destination_tx_hash", String(256)),
    Column("delivered", Amount),
)

custody_holdings = Table(
    "custody_holdings",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("token", String(256), primary_key=True),
    Column("swap_id", String(36), ForeignKey("swaps.id"), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("disposition", String(16), nullable=False),  # DUST or PARKED
    Column("reason", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

worker_locks = Table(
    "worker_locks",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("lease_until", UtcDateTime, nullable=False),
)

# Migration 0005: the append-only transition log (``seq`` is the swap's own 1, 2, 3...; ``id``
# the global cursor other processes poll) and the partners' webhook outbox (one row per event,
# written in the transaction of the transition it reports).
swap_transitions = Table(
    "swap_transitions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("swap_id", String(36), ForeignKey("swaps.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("from_status", String(32)),
    Column("to_status", String(32), nullable=False),
    Column("reason", Text),
    UniqueConstraint("swap_id", "seq"),
    sqlite_autoincrement=True,
)  # fmt: skip

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("partner_id", String(36), ForeignKey("partners.id"), nullable=False),
    Column("transition_id", BigInteger().with_variant(Integer, "sqlite"),
           ForeignKey("swap_transitions.id"), nullable=False),
    Column("body", Text),  # frozen at the first attempt, so every retry sends the same bytes
    Column("state", String(16), nullable=False),  # PENDING, DELIVERED, EXPIRED, DROPPED
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_attempt_at", UtcDateTime),
    Column("last_result", Text),
    Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    sqlite_autoincrement=True,
)  # fmt: skip

# Migration 0008: user sessions (``/v0/auth/*``; no token is stored: ``refresh_digest`` is the
# SHA-256 of the current refresh token's id, so a superseded refresh token is recognised) and
# the indexes a user's history (``/v0/account/history``) is read by.
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("public_key", String(128), nullable=False),
    Column("standard", String(16), nullable=False),
    Column("auth_nonce", String(64), nullable=False),  # the signed payload's: used once
    Column("refresh_digest", String(64), nullable=False),
    Column("refreshes", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("refreshed_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Column("revoke_reason", String(32)),
    UniqueConstraint("account_id", "auth_nonce"),
)
Index("ix_swaps_recipient", swaps.c.recipient)
Index("ix_swaps_refund_to", swaps.c.refund_to)
Index("ix_swaps_created_at_id", swaps.c.created_at, swaps.c.id)
# Migration 0009: ANY_INPUT quotes (services/engine/any_input.py). One row per deposit into the
# quote's reusable Intents account, swapped (``swap_intent``: its live or settled SWAP leg) and
# pooled; one row per withdrawal of the pool (``intent_hash``: its WITHDRAW leg). The legs
# themselves are ordinary ``intents`` rows of the quote's swap.
any_input_withdrawals = Table(
    "any_input_withdrawals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("swap_id", String(36), ForeignKey("swaps.id"), nullable=False, index=True),
    Column("asset", String(256), nullable=False),
    Column("amount", Amount, nullable=False),  # debited from the account
    Column("intent_hash", String(64), ForeignKey("intents.intent_hash"), nullable=False),
    Column("state", String(16), nullable=False),  # PENDING, SUCCESS, FAILED
    Column("delivered", Amount),  # what reached the recipient (after the bridge's fee)
    Column("tx_hash", String(256)),  # the destination transaction
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

any_input_deposits = Table(
    "any_input_deposits",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("swap_id", String(36), ForeignKey("swaps.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),  # the swap's own 1, 2, 3...
    Column("asset", String(256), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("source", String(16), nullable=False),  # BRIDGE or INTENTS
    Column("chain", String(64), nullable=False),
    Column("tx_hash", String(256)),  # the origin chain's transaction (BRIDGE)
    Column("phase", String(16), nullable=False),  # SWAP, POOLED, DELIVERED, STRANDED
    Column("swap_intent", String(64), ForeignKey("intents.intent_hash")),
    Column("amount_out", Amount),  # in the destination asset, once swapped (or pooled as is)
    Column("withdrawal_id", String(36), ForeignKey("any_input_withdrawals.id")),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_try_at", UtcDateTime, nullable=False),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("swap_id", "seq"),
    UniqueConstraint("swap_id", "tx_hash"),
)
