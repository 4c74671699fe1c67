"""Deposit detection (PROTOCOL.md §4): scan each chain's new blocks for transfers to the deposit
addresses, record them ``PENDING``, and credit them after the chain's confirmation depth by minting
the omft token in the verifier (``mt_mint``, memo ``deposit``), then ``COMPLETED``.

Reorgs: each scan position is stored with its block hash; when a stored hash no longer matches,
scanning rewinds to the newest position that still does, forgetting the pending deposits above
it. A deposit's own block hash is checked again just before crediting. A deposit below the
token's minimum, or to an unknown memo, is recorded ``FAILED`` and never credited.

Exactly once: a credit is marked ``CREDITING`` before the mint and carries an idempotency key
naming the chain transfer (:func:`credit_key`), which the verifier commits with the mint. A
credit cut short (a crash after the mint, before ``COMPLETED`` was written) is simply done again
on the next pass: the verifier answers a known key with the first mint's record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from functools import partial

from devnet.bridge.faults import AFTER_CREDIT, Faults
from devnet.bridge.store import BridgeStore, DepositRow, now_iso
from devnet.bridge.tokens import BridgedToken
from devnet.chains.base import Chain, Transfer
from devnet.verifier import Verifier

logger = logging.getLogger(__name__)

MAX_SCAN_BLOCKS = 256
PENDING, CREDITING, COMPLETED, FAILED = "PENDING", "CREDITING", "COMPLETED", "FAILED"


def credit_key(deposit: DepositRow) -> str:
    """The verifier idempotency key of a deposit's credit: one per chain transfer (the same
    transfer is recorded once, by chain, tx hash and index)."""
    return f"poa-bridge:deposit:{deposit.chain}:{deposit.tx_hash}:{deposit.idx}"


class DepositWatcher:
    def __init__(
        self,
        store: BridgeStore,
        verifier: Verifier,
        tokens: Mapping[tuple[str, str], BridgedToken],
        confirmations: Mapping[str, int],
        faults: Faults,
    ) -> None:
        self._store = store
        self._verifier = verifier
        self._tokens = {(c, a.lower()): t for (c, a), t in tokens.items()}
        self._confirmations = confirmations
        self._faults = faults

    def required_confirmations(self, chain_id: str) -> int:
        base = self._confirmations.get(chain_id, 1)
        return base + self._faults.confirmation_delay.get(chain_id, 0)

    async def begin(self, chain: Chain) -> None:
        """On first sight of a chain, watch it from its current head. Done when the bridge
        starts, before it serves ``deposit_address``: a transfer sent right after an address is
        handed out must be scanned, never skipped by a first pass that starts above it."""
        if not self._store.scanned(chain.chain_id):
            head = await chain.head()
            self._store.advance(chain.chain_id, head, await chain.block_hash(head) or "")

    async def scan(self, chain: Chain) -> None:
        """Scan new blocks, then credit what is deep enough."""
        chain_id = chain.chain_id
        head = await chain.head()
        positions = self._store.scanned(chain_id)
        if not positions:  # never begun (a bridge driven by sync() alone)
            await self.begin(chain)
            return
        cursor = await self._rewind(chain, positions)
        last = min(head, cursor + MAX_SCAN_BLOCKS)
        if last > cursor:
            routes = self._store.watched(chain_id)
            if routes:
                for transfer in await chain.transfers(list(routes), cursor + 1, last):
                    self._record(chain, transfer, routes)
            block_hash = await chain.block_hash(last)
            if block_hash is not None:
                self._store.advance(chain_id, last, block_hash)
        await self._settle(chain, head)

    async def _rewind(self, chain: Chain, positions: list[tuple[int, str]]) -> int:
        for height, block_hash in positions:
            if await chain.block_hash(height) == block_hash:
                if height != positions[0][0]:
                    logger.warning(
                        "reorg: rescanning",
                        extra={"action": "reorg", "chain": chain.chain_id, "from_height": height},
                    )
                    self._store.rewind(chain.chain_id, height)
                return height
        # Deeper than what we remember: start again below the oldest position.
        height = max(positions[-1][0] - 1, 0)
        await self._rewind_to(chain, height)
        return height

    async def _rewind_to(self, chain: Chain, height: int) -> None:
        self._store.rewind(chain.chain_id, height)
        self._store.advance(chain.chain_id, height, await chain.block_hash(height) or "")

    def _record(self, chain: Chain, transfer: Transfer, routes: dict[str, dict[str, str]]) -> None:
        token = self._tokens.get((chain.chain_id, transfer.asset.lower()))
        if token is None:
            return
        by_memo = routes.get(transfer.receiver, {})
        memo = transfer.memo if chain.has_memo else None
        account = by_memo.get(memo or "") if chain.has_memo else by_memo.get("")
        status, note = PENDING, None
        if account is None:
            status, note = FAILED, "unknown memo" if chain.has_memo else "unknown address"
        elif transfer.amount < token.min_deposit_amount:
            status, note = FAILED, f"below the minimum deposit of {token.min_deposit_amount}"
        added = self._store.add_deposit(
            {
                "chain": chain.chain_id,
                "tx_hash": transfer.tx_hash,
                "idx": transfer.index,
                "block_height": transfer.block_height,
                "block_hash": transfer.block_hash,
                "near_token_id": token.near_token_id,
                "sender": transfer.sender,
                "address": transfer.receiver,
                "memo": memo,
                "amount": transfer.amount,
                "account_id": account,
                "status": status,
                "note": note,
                "created_at": now_iso(),
            }
        )
        if added:
            logger.info(
                "deposit seen",
                extra={
                    "action": "deposit_seen",
                    "chain": chain.chain_id,
                    "tx_hash": transfer.tx_hash,
                    "deposit_address": transfer.receiver,
                    "status": status,
                },
            )

    async def _settle(self, chain: Chain, head: int) -> None:
        # Credits a crash cut short first: they passed every check already.
        crediting, _ = self._store.deposits(chain=chain.chain_id, statuses=[CREDITING])
        for deposit in sorted(crediting, key=lambda d: d.id):
            await self._credit(deposit)
        depth = self.required_confirmations(chain.chain_id)
        pending, _ = self._store.deposits(chain=chain.chain_id, statuses=[PENDING])
        for deposit in sorted(pending, key=lambda d: d.id):
            if head - deposit.block_height + 1 < depth:
                continue
            if await chain.block_hash(deposit.block_height) != deposit.block_hash:
                # Its block was replaced: forget it and rescan from below it.
                await self._rewind_to(chain, deposit.block_height - 1)
                return  # the rewind dropped later pending deposits too; the next scan redoes them
            await self._credit(deposit)

    async def _credit(self, deposit: DepositRow) -> None:
        assert deposit.account_id is not None
        if deposit.status != CREDITING:
            self._store.set_deposit(deposit.id, status=CREDITING)
        record = await asyncio.to_thread(
            partial(
                self._verifier.deposit,
                deposit.account_id,
                f"nep141:{deposit.near_token_id}",
                deposit.amount,
                idempotency_key=credit_key(deposit),
            )
        )
        self._faults.check(AFTER_CREDIT)
        if record.succeeded:
            self._store.set_deposit(deposit.id, status=COMPLETED, mint_tx_hash=record.hash)
        else:
            self._store.set_deposit(deposit.id, status=FAILED, note=record.panic)
        logger.info(
            "deposit credited" if record.succeeded else "deposit refused by the verifier",
            extra={
                "action": "deposit_credit",
                "chain": deposit.chain,
                "tx_hash": deposit.tx_hash,
                "account_id": deposit.account_id,
                "mint_tx_hash": record.hash,
            },
        )
