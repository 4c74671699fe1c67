"""The ports: what the use cases need from the outside world, as ``Protocol``s.

The relay, bridge and verifier ports are the surfaces of the ``nearintents`` clients
(``HttpSolverRelay``, ``HttpPoaBridge``, ``VerifierViews``) so those clients are the production
adapters as they are, and the fakes in :mod:`oneclick.testing` pass the same contract suites
(``tests/contract``). They speak ``nearintents.rpc`` models, which the pure domain may not import
(an import-linter contract), which is why the ports live here rather than in ``domain``.
Failures are ``nearintents.rpc.RpcError``; :mod:`oneclick.services.boundary` translates them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from nearintents.rpc import (
    DepositAddress,
    DepositMode,
    PublishResult,
    Quote,
    QuoteFailure,
    QuoteRequest,
    StatusResult,
    SupportedToken,
)
from oneclick.domain.records import (
    CustodyAccount,
    DepositTx,
    IntentRecord,
    IntentState,
    NewSwap,
    Partner,
)
from oneclick.domain.swaps import SwapRecord, SwapStatus


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SolverRelay(Protocol):
    async def quote(self, request: QuoteRequest) -> list[Quote | QuoteFailure]: ...

    async def publish_intent(
        self, signed_data: dict[str, Any], quote_hashes: Sequence[str] = ()
    ) -> PublishResult: ...

    async def get_status(self, intent_hash: str) -> StatusResult: ...


class Bridge(Protocol):
    async def supported_tokens(
        self, chains: Sequence[str] | None = None
    ) -> list[SupportedToken]: ...

    async def deposit_address(
        self, account_id: str, chain: str, deposit_mode: DepositMode | None = None
    ) -> DepositAddress: ...

    async def notify_deposit(
        self,
        chain: str,
        deposit_address: str,
        tx_hash: str,
        *,
        near_sender_account: str | None = None,
        memo: str | None = None,
    ) -> None: ...


class Verifier(Protocol):
    async def fee(self) -> int: ...

    async def current_salt(self) -> bytes: ...

    async def is_nonce_used(self, account_id: str, nonce: bytes) -> bool: ...

    async def mt_balance_of(self, account_id: str, token_id: str) -> int: ...


@dataclass(frozen=True, slots=True)
class PricePoint:
    usd: Decimal
    updated_at: datetime


class Prices(Protocol):
    async def usd_prices(self, coingecko_ids: Sequence[str]) -> dict[str, PricePoint]:
        """USD prices of the ids it knows; unknown ids are left out, never guessed."""
        ...


class Custody(Protocol):
    """Keys: custody accounts by derivation index and the manager key that signs quotes."""

    @property
    def manager_public_key(self) -> str: ...

    def account(self, index: int) -> CustodyAccount: ...

    def sign_quote(self, response: Mapping[str, object]) -> str: ...


class StoreSession(Protocol):
    """One database transaction. Never held across a network call."""

    async def reserve_custody_index(self) -> int:
        """A fresh derivation index, never handed out before (even after a rollback)."""
        ...

    async def record_custody_account(self, account: CustodyAccount, now: datetime) -> None: ...

    async def custody_account(self, account_id: str) -> CustodyAccount | None: ...

    async def add_swap(self, swap: NewSwap) -> None: ...

    async def swap_by_deposit(self, address: str, memo: str | None) -> SwapRecord | None: ...

    async def swap_by_custody_account(self, account_id: str) -> SwapRecord | None: ...

    async def deposit_address_exists(self, address: str) -> bool: ...

    async def record_deposit_tx(self, deposit: DepositTx) -> bool:
        """Remember a deposit transaction; False when it was already known (idempotent)."""
        ...

    async def set_status(
        self, swap_id: str, status: SwapStatus, *, expected_version: int, now: datetime
    ) -> None: ...

    async def add_intent(self, intent: IntentRecord) -> None: ...

    async def intent(self, intent_hash: str) -> IntentRecord | None: ...

    async def set_intent_state(self, intent_hash: str, state: IntentState) -> None: ...

    async def add_partner(self, partner: Partner) -> None: ...

    async def partner(self, partner_id: str) -> Partner | None: ...

    async def partner_by_name(self, name: str) -> Partner | None: ...

    async def partners(self) -> list[Partner]: ...

    async def revoke_partner(self, partner_id: str, now: datetime) -> None: ...


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[StoreSession]: ...
