"""The devnet PoA bridge (PROTOCOL.md §4): deposit addresses derived from its own seed, deposits
watched on the chains and minted into the verifier, withdrawals paid from its hot wallets; the
methods of its JSON-RPC, and the scanning loop as an owned task with a graceful stop.

Deposit addresses: per account, a wallet derived from the bridge's seed (label
``deposit:<account_id>``; so one EOA on every EVM chain). The bridge sweeps nothing: it watches
those addresses and pays withdrawals from a separate hot wallet per chain (label ``hot``), which
it funds from the devnet faucet at start. On a memo chain all accounts share one address
(label ``deposit``) and get their own memo (a destination tag from ``MEMO_TAG_BASE`` up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from devnet.bridge import deposits as dep
from devnet.bridge.deposits import DepositWatcher
from devnet.bridge.faults import Faults
from devnet.bridge.store import BridgeStore, DepositRow, WithdrawalRow
from devnet.bridge.tokens import DEFAULT_CONFIRMATIONS, BridgedToken, default_tokens
from devnet.bridge.withdrawals import WIRE_STATUS, BridgeSink, PayoutDesk
from devnet.chains.base import Chain, InvalidAddress
from devnet.verifier import Verifier
from nearintents.accounts import InvalidAccountId, validate_account_id
from nearintents.rpc.bridge import (
    WITHDRAWALS_NOT_FOUND,
    Deposit,
    DepositMode,
    DepositStatus,
    Withdrawal,
    WithdrawalStatus,
)

logger = logging.getLogger(__name__)

MEMO_TAG_BASE = 100_000
HOT_FLOAT_UNITS = 1_000_000  # whole coins/tokens the hot wallets are topped up to at start
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
# How long a burn stays unknown to ``withdrawal_status`` (the real bridge indexes NEAR with a lag
# and answers the JSON-RPC error "Withdrawals not found" meanwhile; docs/protocol-notes.md).
DEFAULT_WITHDRAWAL_LAG_S = 3.0


class BridgeRequestError(ValueError):
    """A bad request: its text goes back to the caller as the JSON-RPC error string."""


class PoaBridge:
    """``async with PoaBridge(verifier, chains, seed=...) as bridge:`` runs the scanning loop.

    ``sync()`` runs one pass (scan every chain, credit, pay) for callers that drive it; the loop
    runs passes every ``poll_interval`` seconds or as soon as it is woken (a withdrawal,
    ``notify_deposit``). The payout sink is registered with the verifier at construction.
    """

    def __init__(
        self,
        verifier: Verifier,
        chains: Sequence[Chain],
        *,
        seed: bytes,
        data_dir: Path | str | None = None,
        tokens: Sequence[BridgedToken] | None = None,
        confirmations: Mapping[str, int] | None = None,
        poll_interval: float = 0.5,
        withdrawal_lag_s: float = 0.0,
    ) -> None:
        if withdrawal_lag_s < 0:
            raise ValueError("withdrawal_lag_s must not be negative")
        self.verifier = verifier
        self.withdrawal_lag_s = withdrawal_lag_s
        self.chains = {c.chain_id: c for c in chains}
        self._seed = seed
        all_tokens = default_tokens() if tokens is None else tuple(tokens)
        self.tokens = tuple(t for t in all_tokens if t.chain in self.chains)
        self._by_name = {t.near_token_id: t for t in self.tokens}
        self.confirmations = {**DEFAULT_CONFIRMATIONS, **(confirmations or {})}
        self.poll_interval = poll_interval
        self.faults = Faults()
        self.store = BridgeStore(data_dir)
        self.hot_wallets = {cid: c.wallet(seed, "hot") for cid, c in self.chains.items()}
        self._watcher = DepositWatcher(
            self.store,
            verifier,
            {(t.chain, t.asset): t for t in self.tokens},
            self.confirmations,
            self.faults,
        )
        self._desk = PayoutDesk(self.store, verifier, self._by_name, self.faults)
        self._wake_event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pass_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.sink = BridgeSink(
            self.store, self._by_name, self.chains, verifier.account_id, self.wake
        )
        verifier.register_sink(self.sink)

    # --- lifecycle --------------------------------------------------------------------------------

    def wake(self) -> None:
        """Ask the loop for a pass now (thread-safe)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake_event.set)

    async def fund_hot_wallets(self, units: int = HOT_FLOAT_UNITS) -> None:
        """Top the hot wallets up from the faucets (the bridge's liquidity)."""
        for token in self.tokens:
            chain = self.chains[token.chain]
            hot = self.hot_wallets[token.chain]
            target = units * 10**token.decimals
            held = await chain.balance(hot.address, token.asset)
            if held < target // 2:
                await chain.fund(hot.address, token.asset, target - held)

    async def start(self, *, fund: bool = True) -> None:
        if self._task is not None:
            raise RuntimeError("already running")
        self._loop = asyncio.get_running_loop()
        for chain in self.chains.values():
            await self._watcher.begin(chain)
        if fund:
            await self.fund_hot_wallets()
        self._task = asyncio.create_task(self._run(), name="poa-bridge")

    async def stop(self) -> None:
        """Finish the current pass, then stop the loop."""
        task, self._task = self._task, None
        if task is not None:
            async with self._pass_lock:  # never cut a pass in the middle of a payout
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def close(self) -> None:
        """Release the store; the verifier's payouts go to a newer bridge from now on."""
        self.sink.closed = True
        self.store.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        self.close()

    async def _run(self) -> None:
        while True:
            try:
                await self.sync()
            except Exception:
                logger.exception("bridge pass failed; retrying", extra={"action": "bridge_pass"})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake_event.wait()
            self._wake_event.clear()

    async def sync(self) -> None:
        """One pass over every chain: scan, credit, pay. A chain that fails does not stop the
        others; the first error is raised at the end."""
        self._loop = asyncio.get_running_loop()
        errors: list[Exception] = []
        async with self._pass_lock:
            for chain_id, chain in self.chains.items():
                for step in (
                    self._watcher.scan(chain),
                    self._desk.process(chain, self.hot_wallets[chain_id]),
                ):
                    try:
                        await step
                    except Exception as exc:
                        logger.warning(
                            "bridge step failed",
                            extra={"action": "bridge_pass", "chain": chain_id, "error": repr(exc)},
                        )
                        errors.append(exc)
        if errors:
            raise errors[0]

    # --- JSON-RPC methods (PROTOCOL.md §4) -----------------------------------------------------

    def _chain(self, chain_id: Any) -> Chain:
        chain = self.chains.get(chain_id) if isinstance(chain_id, str) else None
        if chain is None:
            raise BridgeRequestError(f"unsupported chain {chain_id!r}")
        return chain

    def supported_tokens(self, chains: Sequence[str] | None = None) -> list[dict[str, Any]]:
        return [t.wire() for t in self.tokens if chains is None or t.chain in chains]

    def deposit_address(
        self, account_id: str, chain_id: str, mode: str | None = None
    ) -> dict[str, Any]:
        try:
            account_id = validate_account_id(account_id)
        except (InvalidAccountId, TypeError) as exc:
            raise BridgeRequestError(f"invalid account_id: {exc}") from exc
        chain = self._chain(chain_id)
        if mode not in (None, DepositMode.SIMPLE, DepositMode.MEMO):
            raise BridgeRequestError(f"unknown deposit_mode {mode!r}")
        if chain.has_memo:
            address = chain.wallet(self._seed, "deposit").address
            memo = str(self.store.memo_tag(chain_id, account_id, MEMO_TAG_BASE))
            self.store.register_address(chain_id, address, memo, account_id)
            return {"address": address, "chain": chain_id, "memo": memo}
        if mode == DepositMode.MEMO:
            raise BridgeRequestError(f"MEMO deposit mode is not supported on {chain_id}")
        address = chain.wallet(self._seed, f"deposit:{account_id}").address
        self.store.register_address(chain_id, address, "", account_id)
        return {"address": address, "chain": chain_id}

    def _deposit_wire(self, row: DepositRow) -> dict[str, Any]:
        token = self._by_name[row.near_token_id]
        status = {dep.CREDITING: DepositStatus.PENDING}.get(row.status, row.status)
        fields: dict[str, Any] = {
            "tx_hash": row.tx_hash,
            "mint_tx_hash": row.mint_tx_hash,
            "chain": row.chain,
            "defuse_asset_identifier": token.defuse_asset_identifier,
            "near_token_id": row.near_token_id,
            "decimals": token.decimals,
            "amount": row.amount,
            "account_id": row.account_id,
            "address": row.address,
            "status": DepositStatus(status),
            "created_at": datetime.fromisoformat(row.created_at),
            "from": row.sender,
        }
        if row.account_id is None:  # unrouted (unknown memo): only the control API shows it
            fields["from_address"] = fields.pop("from")
            return Deposit.model_construct(**fields).model_dump(mode="json", by_alias=True)
        return Deposit.model_validate(fields).model_dump(mode="json", by_alias=True)

    def recent_deposits(
        self,
        account_id: str,
        *,
        chain: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> dict[str, Any]:
        limit = DEFAULT_LIMIT if limit is None else limit
        offset = 0 if offset is None else offset
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise BridgeRequestError(f"limit must be 1..={MAX_LIMIT}")
        if not isinstance(offset, int) or offset < 0:
            raise BridgeRequestError("offset must be a non-negative integer")
        if chain is not None:
            self._chain(chain)
        statuses = None
        if status is not None:
            try:
                wanted = DepositStatus(status)
            except ValueError as exc:
                raise BridgeRequestError(f"unknown status {status!r}") from exc
            statuses = [wanted.value] + ([dep.CREDITING] if wanted is DepositStatus.PENDING else [])
        rows, total = self.store.deposits(
            account_id=account_id, chain=chain, statuses=statuses, limit=limit, offset=offset
        )
        return {
            "deposits": [self._deposit_wire(r) for r in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    def all_deposits(self, chain: str | None = None) -> list[dict[str, Any]]:
        """Every recorded deposit, unrouted ones too (for the control API)."""
        rows, _ = self.store.deposits(chain=chain)
        return [{**self._deposit_wire(r), "note": r.note, "memo": r.memo} for r in rows]

    def notify_deposit(self, chain: str, deposit_address: str, tx_hash: str) -> dict[str, Any]:
        target = self._chain(chain)
        try:
            target.validate_address(deposit_address)
        except InvalidAddress as exc:
            raise BridgeRequestError(str(exc)) from exc
        if not isinstance(tx_hash, str) or not tx_hash:
            raise BridgeRequestError("tx_hash is required")
        self.wake()
        return {}

    def _withdrawal_wire(self, row: WithdrawalRow) -> dict[str, Any]:
        token = self._by_name[row.near_token_id]
        status = WithdrawalStatus(WIRE_STATUS[row.state])
        data = {
            "tx_hash": row.withdrawal_hash,
            "transfer_tx_hash": row.transfer_tx_hash if row.state == "COMPLETED" else None,
            "chain": row.chain,
            "defuse_asset_identifier": token.defuse_asset_identifier,
            "near_token_id": row.near_token_id,
            "decimals": token.decimals,
            "amount": row.amount,
            "account_id": row.account_id,
            "address": row.address,
            "created_at": row.created_at,
            "withdrawal_fee": row.fee,
            "withdraw_amount": max(row.amount - row.fee, 0),
        }
        wire = Withdrawal.model_validate({"status": status, "data": data})
        return wire.model_dump(mode="json", exclude_none=True, exclude={"data": {"created"}})

    def _indexed(self, row: WithdrawalRow) -> bool:
        """Whether the bridge's NEAR indexer has seen this burn yet (``withdrawal_lag_s``)."""
        age = time.time() - datetime.fromisoformat(row.created_at).timestamp()
        return age >= self.withdrawal_lag_s

    def withdrawal_status(self, withdrawal_hash: str) -> dict[str, Any]:
        """The burns of ``withdrawal_hash``; the error "Withdrawals not found" (as the real bridge
        answers, sdk-monorepo packages/internal-utils/src/poaBridge/
        waitForWithdrawalCompletion.ts) for an unknown hash and, during the indexing lag, for a
        fresh one."""
        rows = [
            r for r in self.store.withdrawals(withdrawal_hash=withdrawal_hash) if self._indexed(r)
        ]
        if not rows:
            raise BridgeRequestError(WITHDRAWALS_NOT_FOUND)
        if len(rows) == 1:
            return self._withdrawal_wire(rows[0])
        return {"withdrawals": [self._withdrawal_wire(r) for r in rows]}

    def recent_withdrawals(self, account_id: str, chain: str | None = None) -> dict[str, Any]:
        rows = self.store.withdrawals(account_id=account_id, chain=chain)
        return {"withdrawals": [self._withdrawal_wire(r) for r in reversed(rows)]}

    def withdrawal_estimate(self, chain: str, token: str, address: str) -> dict[str, Any]:
        target = self._chain(chain)
        entry = self._by_name.get(token.removeprefix("nep141:")) if isinstance(token, str) else None
        if entry is None or entry.chain != chain:
            raise BridgeRequestError(f"unsupported token {token!r} on {chain}")
        try:
            address = target.validate_address(address)
        except InvalidAddress as exc:
            raise BridgeRequestError(str(exc)) from exc
        return {
            "tokenAddress": entry.asset,
            "userAddress": address,
            "withdrawalFee": str(entry.withdrawal_fee),
            "withdrawalFeeDecimals": entry.decimals,
            "token": entry.wire(),
        }
