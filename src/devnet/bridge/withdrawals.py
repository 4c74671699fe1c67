"""Withdrawals (PROTOCOL.md §4.2): the verifier burns an omft token with ``ft_withdraw`` (memo
``WITHDRAW_TO:<address>[:<memo>]``) and hands the payout to :class:`BridgeSink`; the bridge pays
``amount - withdrawal_fee`` from its hot wallet on the token's chain.

A payout is recorded before anything else happens, and signed and stored (``PREPARED``) before it
is broadcast; a stored transaction is only ever re-broadcast as is (same nonce, blockhash or id),
and signed anew only when the chain says it can never land (:class:`TxExpired`), so a restart at
any point neither loses nor duplicates it. A rejected payout (bad address or memo, under the
minimum) is refunded by the verifier; one that cannot be paid (no funds, reverted) is credited
back explicitly (``RETURNED``). The credit-back carries an idempotency key naming the payout
(:func:`return_key`), committed by the verifier with the mint, so one cut short by a crash
(still ``RETURNING``) is simply done again: the verifier answers a known key with the first
mint's record. One the verifier refuses is ``RETURN_REFUSED``, for an operator.

States: ``ACCEPTED`` → ``PREPARED`` → ``COMPLETED``; ``REJECTED``; ``RETURN_DUE`` → ``RETURNING``
→ ``RETURNED`` (or ``RETURN_REFUSED``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from devnet.bridge.faults import AFTER_BROADCAST, AFTER_CREDIT, AFTER_RECORD, Faults
from devnet.bridge.store import BridgeStore, WithdrawalRow, now_iso
from devnet.bridge.tokens import BridgedToken
from devnet.chains.base import (
    Chain,
    InsufficientFunds,
    InvalidAddress,
    PreparedTx,
    TxExpired,
    TxState,
    Wallet,
)
from devnet.verifier import Payout, PayoutResult, Verifier

logger = logging.getLogger(__name__)

WITHDRAW_PREFIX = "WITHDRAW_TO:"
ACCEPTED, PREPARED, COMPLETED, REJECTED = "ACCEPTED", "PREPARED", "COMPLETED", "REJECTED"
RETURN_DUE, RETURNING, RETURNED = "RETURN_DUE", "RETURNING", "RETURNED"
RETURN_REFUSED = "RETURN_REFUSED"
OPEN_STATES = (ACCEPTED, PREPARED, RETURN_DUE, RETURNING)
WIRE_STATUS = {
    ACCEPTED: "PENDING",
    PREPARED: "PENDING",
    COMPLETED: "COMPLETED",
    REJECTED: "REJECTED",
    RETURN_DUE: "RETURNING",
    RETURNING: "RETURNING",
    RETURNED: "RETURNED",
    RETURN_REFUSED: "RETURNING",  # still owed to the account, until an operator acts
}


@dataclass(frozen=True, slots=True)
class Destination:
    address: str
    memo: str | None


def parse_destination(chain: Chain, memo: str | None) -> Destination:
    """``WITHDRAW_TO:<address>[:<memo>]``; the memo part only on memo chains. Raises
    InvalidAddress."""
    if memo is None or not memo.startswith(WITHDRAW_PREFIX):
        raise InvalidAddress(f"memo {memo!r} does not start with {WITHDRAW_PREFIX}")
    address, sep, tag = memo[len(WITHDRAW_PREFIX) :].partition(":")
    if sep and not chain.has_memo:
        raise InvalidAddress(f"{chain.chain_id} takes no memo: {memo!r}")
    return Destination(chain.validate_address(address), chain.validate_memo(tag) if sep else None)


class BridgeSink:
    """The payout port of the verifier for the bridge's ``*.omft.near`` tokens. Called on the
    verifier's thread: it only validates and records, and wakes the payout loop."""

    def __init__(
        self,
        store: BridgeStore,
        tokens: Mapping[str, BridgedToken],
        chains: Mapping[str, Chain],
        verifier_id: str,
        wake: Callable[[], None],
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._chains = chains
        self._verifier_id = verifier_id
        self._wake = wake
        self.closed = False

    def accepts(self, token: str) -> bool:
        # A closed bridge lets a newer one (after a restart) take its tokens.
        return not self.closed and token in self._tokens

    def payout(self, payout: Payout) -> PayoutResult:
        if self.closed:
            raise RuntimeError("the bridge is closed")  # the verifier keeps it pending
        row = self._store.withdrawal(payout.id)
        if row is None:
            row = self._store.add_withdrawal(self._decide(payout))
            logger.info(
                "withdrawal recorded",
                extra={"action": "withdrawal", "payout_id": payout.id, "state": row.state},
            )
            self._wake()
        return self._result(payout, row)

    def _decide(self, payout: Payout) -> dict[str, object]:
        token = self._tokens[payout.token]
        amount = payout.amounts[0] if payout.amounts else 0
        row: dict[str, object] = {
            "payout_id": payout.id,
            "withdrawal_hash": payout.tx_hash,
            "chain": token.chain,
            "near_token_id": token.near_token_id,
            "account_id": payout.owner_id,
            "address": "",
            "memo": None,
            "amount": amount,
            "fee": token.withdrawal_fee,
            "state": ACCEPTED,
            "created_at": now_iso(),
        }
        try:
            if payout.kind != "ft" or payout.receiver_id != payout.token:
                raise InvalidAddress("not a burn: an omft withdrawal goes to the token itself")
            destination = parse_destination(self._chains[token.chain], payout.memo)
            row.update(address=destination.address, memo=destination.memo)
            if amount < token.min_withdrawal_amount:
                raise InvalidAddress(
                    f"below the minimum withdrawal of {token.min_withdrawal_amount}"
                )
        except InvalidAddress as exc:
            row.update(state=REJECTED, note=str(exc))
        return row

    def _result(self, payout: Payout, row: WithdrawalRow) -> PayoutResult:
        if row.state == REJECTED:
            # Without msg a failed call is refunded; with msg only what the receiver did not
            # use is (the contract's rule, §2.11), so report nothing used.
            if payout.msg is None:
                return PayoutResult(ok=False)
            return PayoutResult(ok=True, used=(0,))
        burn = {"owner_id": self._verifier_id, "amount": str(row.amount), "memo": payout.memo}
        event = {"standard": "nep141", "version": "1.0.0", "event": "ft_burn", "data": [burn]}
        return PayoutResult(ok=True, logs=("EVENT_JSON:" + json.dumps(event),))


class PayoutDesk:
    """Pays the recorded withdrawals of a chain, in order, from the hot wallet."""

    def __init__(
        self,
        store: BridgeStore,
        verifier: Verifier,
        tokens: Mapping[str, BridgedToken],
        faults: Faults,
    ) -> None:
        self._store = store
        self._verifier = verifier
        self._tokens = tokens
        self._faults = faults

    async def process(self, chain: Chain, hot: Wallet) -> None:
        if self._faults.payouts_paused:
            return
        for row in self._store.withdrawals(chain=chain.chain_id, states=OPEN_STATES):
            if row.state in (RETURN_DUE, RETURNING):
                await self._give_back(row)
            elif not await self._pay(chain, hot, row):
                return  # the chain is not ready (or a payout is in flight): keep the order

    async def _pay(self, chain: Chain, hot: Wallet, row: WithdrawalRow) -> bool:
        token = self._tokens[row.near_token_id]
        prepared: PreparedTx | None = None
        if row.state == PREPARED and row.transfer_tx_hash and row.raw_tx:
            prepared = PreparedTx(row.transfer_tx_hash, row.raw_tx)
        else:
            try:
                prepared = await chain.prepare(
                    hot, row.address, token.asset, row.amount - row.fee, row.memo, key=row.payout_id
                )
            except (InsufficientFunds, InvalidAddress) as exc:
                return self._return_due(row, f"cannot pay: {exc}")
            self._store.set_withdrawal(
                row.payout_id,
                state=PREPARED,
                transfer_tx_hash=prepared.tx_hash,
                raw_tx=prepared.raw,
            )
            self._faults.check(AFTER_RECORD)
        status = await chain.tx_status(prepared.tx_hash)
        if status.state is TxState.UNKNOWN:
            try:
                await chain.broadcast(prepared)
            except TxExpired:
                # It can never land: sign it again on the next pass (no duplicate possible).
                self._store.set_withdrawal(
                    row.payout_id, state=ACCEPTED, transfer_tx_hash=None, raw_tx=None
                )
                return False
            except InsufficientFunds as exc:
                return self._return_due(row, f"cannot pay: {exc}")
            self._faults.check(AFTER_BROADCAST)
            status = await chain.tx_status(prepared.tx_hash)
        if status.state is TxState.INCLUDED:
            self._store.set_withdrawal(row.payout_id, state=COMPLETED)
            logger.info(
                "withdrawal paid",
                extra={
                    "action": "withdrawal_paid",
                    "payout_id": row.payout_id,
                    "transfer_tx_hash": prepared.tx_hash,
                },
            )
            return True
        if status.state is TxState.FAILED:
            return self._return_due(row, f"payout {prepared.tx_hash} reverted")
        return False  # pending: wait for its block before paying the next one

    def _return_due(self, row: WithdrawalRow, note: str) -> bool:
        logger.warning(
            "withdrawal cannot be paid; returning it",
            extra={"action": "withdrawal_return", "payout_id": row.payout_id, "note": note},
        )
        self._store.set_withdrawal(row.payout_id, state=RETURN_DUE, note=note)
        return True

    async def _give_back(self, row: WithdrawalRow) -> None:
        if row.state != RETURNING:
            self._store.set_withdrawal(row.payout_id, state=RETURNING)
        record = await asyncio.to_thread(
            partial(
                self._verifier.deposit,
                row.account_id,
                f"nep141:{row.near_token_id}",
                row.amount,
                idempotency_key=return_key(row.payout_id),
            )
        )
        self._faults.check(AFTER_CREDIT)
        if record.succeeded:
            self._store.set_withdrawal(row.payout_id, state=RETURNED)
        else:
            logger.error(
                "credit-back refused by the verifier; an operator must act",
                extra={"action": "withdrawal_return", "payout_id": row.payout_id},
            )
            self._store.set_withdrawal(
                row.payout_id, state=RETURN_REFUSED, note=f"credit-back failed: {record.panic}"
            )


def return_key(payout_id: str) -> str:
    """The verifier idempotency key of the credit-back of payout ``payout_id``."""
    return f"poa-bridge:return:{payout_id}"


__all__ = ["BridgeSink", "PayoutDesk", "parse_destination", "return_key"]
