"""The ports: what the use cases need from the outside world, as ``Protocol``s.

The relay, bridge and verifier ports are the surfaces of the ``nearintents`` clients
(``HttpSolverRelay``, ``HttpPoaBridge``, ``VerifierViews``) so those clients are the production
adapters as they are, and the fakes in :mod:`oneclick.testing` pass the same contract suites
(``tests/contract``). They speak ``nearintents.rpc`` models, which the pure domain may not import
(an import-linter contract), which is why the ports live here rather than in ``domain``.
Failures are ``nearintents.rpc.RpcError``; :mod:`oneclick.services.boundary` translates them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from nearintents.near_tx import Action as NearAction
from nearintents.near_tx import SignedNearTransaction
from nearintents.rpc import (
    DepositAddress,
    DepositMode,
    DepositStatus,
    Finality,
    PublishResult,
    Quote,
    QuoteFailure,
    QuoteRequest,
    RecentDeposits,
    StatusResult,
    SupportedToken,
    TxOutcome,
    Withdrawal,
)
from oneclick.domain.any_input import (
    AnyInputDeposit,
    AnyInputWithdrawal,
    NewDeposit,
    WithdrawalState,
)
from oneclick.domain.engine import DepositRecord, Leg, SwapState
from oneclick.domain.records import (
    CustodyAccount,
    DepositTx,
    IntentRecord,
    IntentState,
    NewSwap,
    Partner,
)
from oneclick.domain.sessions import HistoryQuery, HistoryRow, UserSession
from oneclick.domain.swap_aggregate import Swap
from oneclick.domain.swaps import SwapRecord, SwapStatus
from oneclick.domain.transitions import Transition


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

    async def recent_deposits(
        self,
        account_id: str,
        *,
        chain: str | None = None,
        status: DepositStatus | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RecentDeposits: ...

    async def withdrawal_status(self, withdrawal_hash: str) -> list[Withdrawal]: ...


class Verifier(Protocol):
    async def fee(self) -> int: ...

    async def current_salt(self) -> bytes: ...

    async def is_nonce_used(self, account_id: str, nonce: bytes) -> bool: ...

    async def mt_balance_of(self, account_id: str, token_id: str) -> int: ...

    async def mt_batch_balance_of(self, account_id: str, token_ids: Sequence[str]) -> list[int]:
        """The balances of ``token_ids``, in order, in one view call."""
        ...

    async def executed_in(self, tx_hash: str, intent_hash: str) -> bool | None:
        """Whether the final transaction ``tx_hash`` executed the intent ``intent_hash``; None
        when that cannot be told (not known or not final yet)."""
        ...

    async def has_public_key(self, account_id: str, public_key: str) -> bool:
        """Whether ``public_key`` (``<curve>:<base58>``) may sign for ``account_id`` (an implicit
        account's own key, unless removed, or one it added): the user sessions' key check."""
        ...


class NearChain(Protocol):
    """NEAR RPC beyond the verifier's views: what payouts to NEAR accounts and NEAR-native
    deposits need."""

    async def account_exists(
        self, account_id: str, *, finality: Finality = Finality.FINAL
    ) -> bool: ...

    async def native_balance(
        self, account_id: str, *, finality: Finality = Finality.FINAL
    ) -> int | None: ...

    async def tx_status(self, tx_hash: str, sender_account_id: str) -> TxOutcome: ...

    async def view(
        self, account_id: str, method_name: str, args: Mapping[str, Any] | None = None, *,
        finality: Finality = Finality.FINAL,
    ) -> Any: ...  # fmt: skip

    async def access_key(self, account_id: str, public_key: str) -> tuple[int, bytes]: ...

    async def send_tx(self, signed_tx_base64: str) -> TxOutcome: ...


class NearSigner(Protocol):
    """Signs NEAR transactions: the operator account, and custody accounts by index. Keys never
    leave the adapter."""

    @property
    def operator_account_id(self) -> str: ...

    @property
    def operator_public_key(self) -> str: ...

    def sign_as_operator(
        self, receiver_id: str, nonce: int, block_hash: bytes, actions: Sequence[NearAction]
    ) -> SignedNearTransaction: ...

    def sign_as_custody(
        self, index: int, receiver_id: str, nonce: int, block_hash: bytes,
        actions: Sequence[NearAction],
    ) -> SignedNearTransaction: ...  # fmt: skip


@dataclass(frozen=True, slots=True)
class PricePoint:
    usd: Decimal
    updated_at: datetime


class Prices(Protocol):
    async def usd_prices(self, coingecko_ids: Sequence[str]) -> dict[str, PricePoint]:
        """USD prices of the ids it knows; unknown ids are left out, never guessed."""
        ...


class QuoteSigner(Protocol):
    """The manager key that signs quotes: all the key material the API holds."""

    @property
    def manager_public_key(self) -> str: ...

    def sign_quote(self, response: Mapping[str, object]) -> str: ...


@runtime_checkable
class Custody(QuoteSigner, Protocol):
    """Keys: custody accounts by derivation index (from the master secret, which only workers
    hold) and the manager key that signs quotes."""

    def account(self, index: int) -> CustodyAccount: ...

    def sign_intent(self, index: int, standard: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The MultiPayload of ``payload`` signed by custody account ``index`` (an ed25519
        standard: ``nep413`` or ``raw_ed25519``). The key never leaves the custody adapter."""
        ...


@dataclass(frozen=True, slots=True)
class SwapSnapshot:
    """A swap with its engine legs (oldest first) and deposits: what ``GET /v0/status`` shows."""

    swap: SwapState
    legs: list[Leg]
    deposits: list[DepositRecord]


class SwapRepository(Protocol):
    """The swap aggregate (:class:`~oneclick.domain.swap_aggregate.Swap`) and the rows that
    hang off it: its legs (the engine's signed intents), its deposits and its transition log;
    and the reads of the swaps the API and the operator make (by deposit address, counts)."""

    async def add(self, swap: NewSwap) -> None:
        """A quoted swap, with the first entry of its transition log."""
        ...

    async def load(self, swap_id: str) -> Swap | None: ...

    async def get(self, swap_id: str) -> SwapState | None:
        """The swap's row as the engine sees it (read only: :meth:`load` for a change)."""
        ...

    async def by_deposit(self, address: str, memo: str | None) -> SwapRecord | None: ...

    async def by_custody_account(self, account_id: str) -> SwapRecord | None: ...

    async def address_used(self, address: str) -> bool:
        """Whether a swap already has ``address`` as its deposit address."""
        ...

    async def snapshot(self, address: str, memo: str | None) -> SwapSnapshot | None:
        """The swap behind ``address`` (+ ``memo``) with its legs and deposits, in as few
        round trips as the store can (``GET /v0/status`` is the hottest read)."""
        ...

    async def counts(self) -> dict[str, int]:
        """The number of swaps in each status."""
        ...

    async def live_unfunded(self, client: str, now: datetime) -> int:
        """``client``'s swaps waiting for a deposit before their request deadline."""
        ...

    async def wake(self, swap_id: str, now: datetime) -> None:
        """Ask the engine to look at a swap now (a submitted deposit); a no-op for swaps the
        engine no longer schedules."""
        ...

    async def attention(self, now: datetime, grace_seconds: float) -> list[SwapState]:
        """Swaps an operator should look at: FAILED ones, and non-terminal ones whose request
        deadline is more than ``grace_seconds`` ago."""
        ...

    async def fence(self, swap_id: str, owner: str, now: datetime) -> Swap:
        """The swap, if ``owner`` still holds its lease (row-locked on PostgreSQL until the
        transaction ends); raises :class:`LeaseLost` otherwise. Each engine transaction starts
        with it."""
        ...

    async def save(self, swap: Swap, now: datetime) -> None:
        """Persist the aggregate's pending change (and its transition-log entry) where the
        stored version is still the one it expects, bumping the version once; raises
        :class:`~oneclick.domain.errors.Conflict` when the version moved on."""
        ...

    async def legs(self, swap_id: str) -> list[Leg]: ...

    async def add_leg(self, leg: Leg) -> None: ...

    async def update_leg(
        self,
        intent_hash: str,
        now: datetime,
        *,
        state: IntentState | None = None,
        tx_hash: str | None = None,
        destination_tx_hash: str | None = None,
        delivered: int | None = None,
        reason: str | None = None,
    ) -> None: ...

    async def deposits(self, swap_id: str) -> list[DepositRecord]: ...

    async def record_deposit_tx(self, deposit: DepositTx) -> bool:
        """Remember a deposit transaction; False when it was already known (idempotent)."""
        ...

    async def deposit_txs(self, swap_id: str) -> list[str]:
        """The hashes of the swap's recorded deposit transactions, in order."""
        ...

    async def deposit_senders(self, swap_id: str) -> dict[str, str]: ...

    async def transitions(self, swap_id: str, *, after_seq: int = 0) -> list[Transition]:
        """The swap's transition log after ``after_seq``, in order (append-only)."""
        ...

    async def record_bridge_deposit(self, swap_id: str, deposit: DepositRecord) -> None:
        """Insert or update (amount, status) the deposit ``(swap_id, tx_hash)``."""
        ...

    async def reopen(self, swap: Swap, now: datetime) -> bool:
        """An operator's decision (moved with ``operator=True``): saved as :meth:`save`
        does, and the swap scheduled now with its errors cleared. False (nothing changed)
        while a worker holds its lease, or when it changed since it was loaded."""
        ...


class AnyInputRepository(Protocol):
    """An ANY_INPUT account's own rows: its deposits and the pool's withdrawals."""

    async def deposits(self, swap_id: str) -> list[AnyInputDeposit]: ...

    async def withdrawals(self, swap_id: str) -> list[AnyInputWithdrawal]: ...

    async def add_deposits(
        self, swap_id: str, found: list[NewDeposit], ids: list[str], now: datetime
    ) -> None: ...

    async def update_deposit(self, deposit_id: str, now: datetime, **values: object) -> None: ...

    async def add_swap_leg(self, deposit_id: str, leg: Leg, now: datetime) -> None:
        """The deposit's swap intent, stored with the link to it (one transaction)."""
        ...

    async def add_withdrawal(
        self, withdrawal: AnyInputWithdrawal, leg: Leg, deposit_ids: list[str]
    ) -> None:
        """The pool's withdrawal intent, its row and the deposits it carries."""
        ...

    async def finish_withdrawal(
        self,
        withdrawal_id: str,
        now: datetime,
        *,
        state: WithdrawalState,
        delivered: int | None = None,
        tx_hash: str | None = None,
        retry_at: datetime | None = None,
    ) -> None: ...


class IntentRepository(Protocol):
    """The intents users sign and submit themselves (``POST /v0/intents``)."""

    async def add(self, intent: IntentRecord) -> None: ...

    async def get(self, intent_hash: str) -> IntentRecord | None: ...

    async def set_state(self, intent_hash: str, state: IntentState) -> None: ...


@dataclass(frozen=True, slots=True)
class StampedSnapshot:
    """``Store.swap_snapshot_since``'s answer. ``stamp``: equal stamps stand for equal
    snapshots (compare them with ``==``; nothing else about them is promised); ``snapshot``:
    None when the swap's rows are those the caller's stamp stood for."""

    stamp: Hashable
    snapshot: SwapSnapshot | None


class CustodyAccounts(Protocol):
    """The pool of derived custody accounts (the aggregate behind ``session.custody``)."""

    async def reserve_index(self) -> int:
        """A fresh derivation index, never handed out before (even after a rollback)."""
        ...

    async def record(self, account: CustodyAccount, now: datetime) -> None:
        """The account derived at a reserved index, put in the pool."""
        ...

    async def free_count(self) -> int:
        """How many derived custody accounts wait in the pool."""
        ...

    async def take(self, now: datetime) -> CustodyAccount | None:
        """A pooled custody account, never handed out before; None when the pool is empty."""
        ...

    async def get(self, account_id: str) -> CustodyAccount | None: ...


class Partners(Protocol):
    """The partners that hold JWTs (``session.partners``)."""

    async def add(self, partner: Partner) -> None: ...

    async def get(self, partner_id: str) -> Partner | None: ...

    async def by_name(self, name: str) -> Partner | None: ...

    async def all(self) -> list[Partner]:
        """Every partner, oldest first (revoked ones included)."""
        ...

    async def revoke(self, partner_id: str, now: datetime) -> None: ...


class UserSessions(Protocol):
    """Signed-in wallets' sessions (``session.user_sessions``)."""

    async def add(self, session: UserSession) -> None:
        """``Unauthorized`` when the account already used the session's signed nonce."""
        ...

    async def get(self, session_id: str) -> UserSession | None: ...

    async def rotate(
        self, session_id: str, expected_digest: str, new_digest: str, now: datetime
    ) -> bool:
        """Compare-and-swap of the refresh digest of a live session; whether it was swapped."""
        ...

    async def revoke(self, session_id: str, now: datetime, reason: str) -> None: ...

    async def prune(self, expired_before: datetime) -> int:
        """Delete the sessions that expired before ``expired_before``; how many."""
        ...


class AccountHistory(Protocol):
    """A signed-in user's history (``session.history``)."""

    async def page(self, query: HistoryQuery) -> list[HistoryRow]:
        """A page of the account's history (swaps and ANY_INPUT deposits), newest first."""
        ...


class AnyInputReads(Protocol):
    """What the API reads of an ANY_INPUT address (``session.any_input``); the engine writes
    these rows with the legs they point to."""

    async def deposits(self, swap_id: str) -> list[AnyInputDeposit]:
        """Every deposit into the address, in arrival order."""
        ...

    async def withdrawals(self, swap_id: str) -> list[AnyInputWithdrawal]:
        """Every withdrawal of the pool, oldest first."""
        ...


class StoreSession(Protocol):
    """One database transaction. Never held across a network call. Each aggregate has a
    repository of its own, as an attribute, and the session is nothing but them (the webhook
    outbox's, ``webhooks``, and the reconciliation's, ``reconcile``, are declared where they
    are used: :class:`oneclick.services.webhooks.WebhookSession`,
    :class:`oneclick.services.reconcile.ReconcileSession`)."""

    @property
    def swaps(self) -> SwapRepository: ...

    @property
    def intents(self) -> IntentRepository: ...

    @property
    def any_input(self) -> AnyInputReads:
        """Read here (the API); the engine writes through its ``AnyInputRepository``."""
        ...

    @property
    def custody(self) -> CustodyAccounts: ...

    @property
    def partners(self) -> Partners: ...

    @property
    def user_sessions(self) -> UserSessions: ...

    @property
    def history(self) -> AccountHistory: ...


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[StoreSession]: ...

    async def swap_snapshot(self, address: str, memo: str | None) -> SwapSnapshot | None:
        """``session.swaps.snapshot`` in a read transaction of its own, by the cheapest
        path the backend has (``GET /v0/status`` is the hottest read)."""
        ...

    async def swap_snapshot_since(
        self, address: str, memo: str | None, seen: Hashable | None
    ) -> StampedSnapshot | None:
        """:meth:`swap_snapshot` for a caller that keeps what it built from the last one:
        ``seen`` is that one's stamp, and an unchanged swap comes back without its snapshot
        (by the cheapest proof the backend has); None: no such swap."""
        ...


class LeaseLost(Exception):  # noqa: N818 (reads as the event)
    """This worker no longer holds the swap's lease: stop without writing anything more."""


class EngineSession(StoreSession, Protocol):
    """The engine's transaction: the swap repository (each engine transaction starts with
    ``swaps.fence``) and ANY_INPUT's rows."""

    @property
    def any_input(self) -> AnyInputRepository: ...


class EngineStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[EngineSession]: ...


@dataclass(frozen=True, slots=True)
class Claim:
    swap_id: str
    claimed_at: datetime
    lease_until: datetime
    # The row as claimed, with its legs and deposits (read for the whole batch at once): the
    # step then reads nothing. None where a claim came without them (then they are read).
    swap: SwapState | None = None
    legs: tuple[Leg, ...] | None = None
    deposits: tuple[DepositRecord, ...] | None = None


@dataclass(frozen=True, slots=True)
class Release:
    """How a step hands its swap back: the next run (None: never), the error count and text."""

    next_run_at: datetime | None
    attempts: int
    last_error: str | None


Apply = Callable[["EngineSession"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class StepWrite:
    """What one step writes, as one transaction: its buffered writes (``apply``, replayed on a
    session after the lease is checked) and, at the step's end, the release. Without a release
    it is a commit point inside the step (a signed intent persisted before it is published):
    the lease is kept and must not have run out."""

    claim: Claim
    apply: Apply | None
    release: Release | None


class Claims(Protocol):
    """Work claiming on ``swaps.next_run_at`` with leases (ARCHITECTURE.md §4)."""

    @property
    def single_worker(self) -> bool:
        """True where only one worker may run (SQLite)."""
        ...

    async def claim(self, owner: str, now: datetime, lease_s: float, limit: int) -> list[Claim]:
        """Due swaps not leased by anyone, leased to ``owner`` (``SKIP LOCKED`` on PostgreSQL)."""
        ...

    async def renew(self, swap_id: str, owner: str, now: datetime, lease_s: float) -> bool:
        """Extend ``owner``'s lease to ``lease_s`` from now (on the database's clock where it
        has one); False when the lease is no longer ``owner``'s."""
        ...

    async def release(
        self,
        claim: Claim,
        owner: str,
        *,
        next_run_at: datetime | None,
        attempts: int,
        last_error: str | None,
    ) -> bool:
        """Hand the swap back with its next run (None: never); a wake-up that arrived during
        the step wins over a later ``next_run_at``. False when the lease was lost."""
        ...

    async def write(
        self, owner: str, now: datetime, writes: Sequence[StepWrite]
    ) -> list[bool | Exception]:
        """Several steps' writes in one transaction (a group commit), each after ``owner``'s
        lease on its swap is checked. Per write: True, False (the lease is lost: nothing
        written) or the exception its ``apply`` raised (then it alone was rolled back). Raises
        when the database itself fails (nothing written)."""
        ...

    async def acquire_lock(self, name: str, owner: str, now: datetime, lease_s: float) -> bool: ...

    async def release_lock(self, name: str, owner: str) -> None: ...


class EngineMetrics(Protocol):
    """Counters of the engine (a Prometheus adapter plugs in here)."""

    def step(self, phase: str, outcome: str) -> None: ...

    def step_duration(self, phase: str, seconds: float) -> None: ...

    def parked(self, reason: str) -> None: ...

    def stuck(self, swap_id: str, status: str) -> None: ...

    def waiting(self, reason: str) -> None:
        """A step found a peer not there yet (the bridge not indexed, ``final`` behind, an
        answer it could not read) and will look again."""
        ...


# --- upstream mode: chain legs through an upstream 1Click API (issue 19) -----------------------


@dataclass(frozen=True, slots=True)
class UpstreamToken:
    """One entry of the upstream's ``GET /v0/tokens``."""

    asset_id: str
    blockchain: str
    symbol: str
    decimals: int
    contract_address: str | None = None
    coingecko_id: str | None = None


@dataclass(frozen=True, slots=True)
class UpstreamQuoteRequest:
    """A same-asset quote we ask of the upstream (its ``QuoteRequest``, snake_cased)."""

    dry: bool
    swap_type: str
    slippage_bps: int
    asset: str  # originAsset and destinationAsset: the chain legs never swap
    amount: int
    deposit_type: str
    refund_to: str
    refund_type: str
    recipient: str
    recipient_type: str
    deadline: datetime
    deposit_mode: str | None = None


@dataclass(frozen=True, slots=True)
class UpstreamQuote:
    """What we use of the upstream's signed QuoteResponse (validated by the adapter)."""

    amount_in: int
    min_amount_in: int
    amount_out: int
    deadline: datetime | None
    deposit_address: str | None = None  # None for a dry quote
    deposit_memo: str | None = None


@dataclass(frozen=True, slots=True)
class UpstreamStatus:
    """The upstream's ``GET /v0/status`` of one of its deposit addresses."""

    status: SwapStatus
    origin_tx_hashes: tuple[str, ...] = ()
    destination_tx_hashes: tuple[str, ...] = ()
    near_tx_hashes: tuple[str, ...] = ()
    deposited_amount: int | None = None
    amount_out: int | None = None
    refunded_amount: int | None = None


class Upstream(Protocol):
    """An upstream 1Click API (the hosted one on mainnet) over which chain legs ride in upstream
    mode. Failures are domain errors: ``TemporaryError`` (down, 5xx, an answer that does not
    validate), :class:`UpstreamRefused` (it refused the request, 4xx), ``NotFound`` (status of an
    address it does not know)."""

    async def tokens(self) -> list[UpstreamToken]: ...

    async def quote(self, request: UpstreamQuoteRequest) -> UpstreamQuote: ...

    async def status(self, deposit_address: str, memo: str | None) -> UpstreamStatus: ...

    async def submit_deposit(
        self, tx_hash: str, deposit_address: str, memo: str | None
    ) -> None: ...
