"""Where withdrawn tokens go: the payout port. A withdrawal burns the signer's balance in the
verifier and then calls the token contract (``ft_transfer``, ``nft_transfer``,
``mt_batch_transfer`` or their ``_call`` forms); a :class:`PayoutSink` plays that token contract.

The NEAR-side token ledger is built in; other systems (the PoA bridge for ``*.omft.near``
tokens) register a sink. Delivery is at least once: a payout interrupted by a crash is offered
again after a restart with the same ``id``, so a sink must treat a repeated ``id`` as done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

PayoutKind = Literal["ft", "nft", "mt"]


@dataclass(frozen=True, slots=True)
class Payout:
    """One call of the verifier on a token contract. ``token_ids`` is empty for NEP-141."""

    id: str  # stable and unique: "<tx hash>:<index>"
    tx_hash: str
    kind: PayoutKind
    token: str  # the token contract, e.g. "btc.omft.near"
    owner_id: str  # the verifier account whose balance was burnt
    receiver_id: str
    token_ids: tuple[str, ...]
    amounts: tuple[int, ...]
    memo: str | None
    msg: str | None  # set: the *_transfer_call form
    intent_hash: str | None
    block_height: int


@dataclass(frozen=True, slots=True)
class PayoutResult:
    """What the token contract call did.

    ``ok=False``: the call failed (panicked). Without ``msg`` the verifier then refunds the owner;
    with ``msg`` it does not (the contract's guard against a NEP-141 resolve vulnerability).
    ``used``: for ``_call`` forms, the amounts the receiver kept (None: all of them).
    ``logs``: the token contract's own event lines, shown in the transaction's receipts.
    """

    ok: bool
    used: tuple[int, ...] | None = None
    logs: tuple[str, ...] = ()


class PayoutSink(Protocol):
    def accepts(self, token: str) -> bool:
        """Whether this sink plays the token contract ``token``."""
        ...

    def payout(self, payout: Payout) -> PayoutResult:
        """Deliver ``payout``; a repeated ``payout.id`` must return the first result again."""
        ...


def refund_amounts(payout: Payout, result: PayoutResult) -> tuple[int, ...]:
    """What the verifier credits back to the owner (``ft_resolve_withdraw`` and its NFT/MT twins,
    CONTRACT ``contracts/defuse/src/contract/tokens/*/withdraw.rs``)."""
    if payout.msg is None:
        return payout.amounts if not result.ok else tuple(0 for _ in payout.amounts)
    if not result.ok:
        return tuple(0 for _ in payout.amounts)
    if result.used is None:
        used = payout.amounts
    elif len(result.used) != len(payout.amounts):
        used = tuple(0 for _ in payout.amounts)  # an answer of the wrong shape: refund all
    else:
        used = tuple(min(u, a) for u, a in zip(result.used, payout.amounts, strict=True))
    return tuple(a - u for a, u in zip(payout.amounts, used, strict=True))
