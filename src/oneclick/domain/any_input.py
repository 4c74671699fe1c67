"""ANY_INPUT quotes, the pure rules (docs/protocol-notes.md "ANY_INPUT"): what such a request may
say, how each deposit into the reusable Intents account is found, priced and pooled, and when the
pool is withdrawn (docs.near-intents.org fee-config.mdx "Fee Aggregation": $1,000, retries every
5 minutes, no refunds)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from oneclick.domain.addresses import require_chain_address, require_intents_account
from oneclick.domain.amounts import BPS
from oneclick.domain.assets import Asset, AssetRegistry
from oneclick.domain.errors import RequestError
from oneclick.domain.requests import (
    DepositType,
    QuoteInput,
    RecipientType,
    RefundType,
    _enum,
    _referral,
    parse_quote_deadline,
    parse_slippage,
)

# The docs' fee-aggregation page says "1cs:any"; PROTOCOL.md §9 (bridge closure) "1cs_v1:any".
ANY_ORIGINS = frozenset({"1cs:any", "1cs_v1:any"})
ORIGINAL = "1cs_v1:original"  # deliver each deposit as the asset it arrived in
# ChainDepositAddress.blockchain of the TypeScript SDK 0.1.25 (src/models/ChainDepositAddress.ts).
SDK_BLOCKCHAINS = frozenset({
    "near", "eth", "base", "arb", "btc", "sol", "ton", "dash", "doge", "xrp", "zec", "gnosis",
    "bera", "bsc", "pol", "tron", "sui", "movement", "op", "avax", "stellar", "aptos", "cardano",
    "ltc", "xlayer", "monad", "bch", "adi", "plasma", "scroll", "starknet", "aleo", "hypercore",
})  # fmt: skip
# The least slippage the engine allows against the price feed when it swaps a deposit: the
# docs' own example asks for 0, which no market maker can meet to the unit.
MIN_SWAP_SLIPPAGE_BPS = 300


class DepositPhase(StrEnum):
    """Where one deposit into an ANY_INPUT account is."""

    SWAP = "SWAP"  # credited; to be swapped into the destination asset
    POOLED = "POOLED"  # in the destination asset, waiting for the pool's withdrawal
    DELIVERED = "DELIVERED"  # its withdrawal reached the recipient
    STRANDED = "STRANDED"  # never swapped before the address went inactive (an operator's)


class WithdrawalState(StrEnum):
    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class AnyInputSpec:
    """A valid ANY_INPUT quote request. ``destination`` None: ``1cs_v1:original``."""

    dry: bool
    slippage_bps: int
    origin_asset: str
    destination: Asset | None
    destination_asset: str
    refund_to: str
    refund_type: RefundType
    recipient: str
    recipient_type: RecipientType
    deadline: datetime
    referral: str | None


def is_any_input(raw: QuoteInput) -> bool:
    return raw.swap_type == "ANY_INPUT" or raw.origin_asset in ANY_ORIGINS


def validate_any_input_request(
    raw: QuoteInput,
    registry: AssetRegistry,
    *,
    now: datetime,
    min_deadline: timedelta,
    max_deadline: timedelta | None,
) -> AnyInputSpec:
    """Every rule of an ANY_INPUT request; the first broken one raises ``RequestError``."""
    if raw.swap_type != "ANY_INPUT":
        raise RequestError("originAsset '1cs:any' is only for swapType ANY_INPUT")
    if raw.origin_asset not in ANY_ORIGINS:
        raise RequestError("an ANY_INPUT quote takes originAsset '1cs_v1:any' (or '1cs:any')")
    if raw.amount != "0":
        raise RequestError('an ANY_INPUT quote takes amount "0": it accepts any deposit')
    if _enum(DepositType, raw.deposit_type, "depositType") is not DepositType.INTENTS:
        raise RequestError(
            "an ANY_INPUT quote takes depositType INTENTS (chainDepositAddresses lists an "
            "address on every chain for the same Intents account)"
        )
    recipient_type = _enum(RecipientType, raw.recipient_type, "recipientType")
    refund_type = _enum(RefundType, raw.refund_type, "refundType")
    for value, what in ((recipient_type, "recipientType"), (refund_type, "refundType")):
        if value.value == "CONFIDENTIAL_INTENTS":
            raise RequestError(f"{what} CONFIDENTIAL_INTENTS is not supported by this service")
    if raw.app_fees:
        raise RequestError("appFees are not taken on an ANY_INPUT quote")
    if raw.deposit_mode not in (None, "SIMPLE"):
        raise RequestError("an ANY_INPUT quote takes depositMode SIMPLE")
    destination: Asset | None = None
    if raw.destination_asset == ORIGINAL:
        if recipient_type is not RecipientType.INTENTS:
            raise RequestError(
                "destinationAsset '1cs_v1:original' delivers every asset as it came: it takes "
                "recipientType INTENTS"
            )
    else:
        destination = registry.resolve(raw.destination_asset, what="destinationAsset")
    slippage = parse_slippage(raw.slippage_tolerance)
    deadline = parse_quote_deadline(raw.deadline, now, min_deadline, max_deadline)
    if recipient_type is RecipientType.INTENTS:
        require_intents_account(raw.recipient, what="recipient")
    else:
        assert destination is not None  # ORIGINAL takes INTENTS only
        require_chain_address(destination.blockchain, raw.recipient, what="recipient")
    if refund_type is RefundType.INTENTS:
        require_intents_account(raw.refund_to, what="refundTo")
    else:
        _require_some_chain_address(registry, raw.refund_to)
    return AnyInputSpec(
        dry=raw.dry,
        slippage_bps=slippage,
        origin_asset=raw.origin_asset,
        destination=destination,
        destination_asset=destination.asset_id if destination else ORIGINAL,
        refund_to=raw.refund_to,
        refund_type=refund_type,
        recipient=raw.recipient,
        recipient_type=recipient_type,
        deadline=deadline,
        referral=_referral(raw.referral),
    )


def _require_some_chain_address(registry: AssetRegistry, address: str) -> None:
    """No refund is ever made on ANY_INPUT (there is no origin chain), but what is recorded must
    at least be an address of one of the chains we serve."""
    for chain in sorted({asset.blockchain for asset in registry.all()}):
        try:
            require_chain_address(chain, address, what="refundTo")
        except RequestError:
            continue
        return
    raise RequestError("refundTo is not an address on any supported chain")


@dataclass(frozen=True, slots=True)
class SeenTransfer:
    """A bridge deposit into the account, as the bridge reports it."""

    tx_hash: str
    chain: str
    token: str
    amount: int
    completed: bool


@dataclass(frozen=True, slots=True)
class NewDeposit:
    token: str
    amount: int
    source: str  # BRIDGE or INTENTS
    chain: str
    tx_hash: str | None


def new_deposits(
    balances: Mapping[str, int],
    committed: Mapping[str, int],
    seen: Iterable[SeenTransfer],
    recorded_txs: set[str],
) -> list[NewDeposit]:
    """The deposits to record now. ``balances``: the account's balances (read BEFORE the
    bridge's list, so every completed transfer they include is listed); ``committed``: what the
    recorded deposits still hold per token. A completed bridge transfer is recorded once the
    balance covers it (a mint the views do not show yet waits); what is left unexplained arrived
    by an Intents ``transfer`` (an app fee, say), unless a bridge transfer of that token is still
    in flight (its mint may be in the balance already)."""
    free = {token: balance - committed.get(token, 0) for token, balance in balances.items()}
    found: list[NewDeposit] = []
    in_flight: set[str] = set()
    for transfer in seen:
        if transfer.tx_hash in recorded_txs:
            continue
        if not transfer.completed:
            in_flight.add(transfer.token)
            continue
        if free.get(transfer.token, 0) < transfer.amount:
            in_flight.add(transfer.token)
            continue
        free[transfer.token] -= transfer.amount
        found.append(
            NewDeposit(transfer.token, transfer.amount, "BRIDGE", transfer.chain, transfer.tx_hash)
        )
    for token, amount in sorted(free.items()):
        if amount > 0 and token not in in_flight:
            found.append(NewDeposit(token, amount, "INTENTS", "near", None))
    return found


def fair_out(
    amount_in: int, asset_in: Asset, asset_out: Asset, prices: Mapping[str, Decimal]
) -> int | None:
    """What ``amount_in`` is worth in ``asset_out`` at the price feed (floor); None unpriced."""
    price_in, price_out = prices.get(asset_in.asset_id), prices.get(asset_out.asset_id)
    if not price_in or not price_out:
        return None
    value = Decimal(amount_in) * price_in * Decimal(10) ** asset_out.decimals
    return int(value / (price_out * Decimal(10) ** asset_in.decimals))


def least_out(fair: int | None, slippage_bps: int) -> int:
    """The least a swap of a deposit may return: the fair value less the slippage (at least
    :data:`MIN_SWAP_SLIPPAGE_BPS`), floor; 1 without a price (any offer, the best one wins)."""
    if fair is None:
        return 1
    tolerance = max(slippage_bps, MIN_SWAP_SLIPPAGE_BPS)
    return max(fair * (BPS - tolerance) // BPS, 1)


def pool_ready(
    pooled: int,
    asset: Asset,
    price: Decimal | None,
    threshold_usd: Decimal,
    *,
    closing: bool,
    bridge_fee: int,
    bridge_minimum: int,
) -> bool:
    """Whether the pooled ``pooled`` units go out now: once worth ``threshold_usd`` (the docs'
    $1,000), or whatever is there when the address goes inactive (``closing``); never an amount
    the bridge would not pay out (its fee and minimum withdrawal)."""
    if pooled <= 0 or pooled <= bridge_fee or pooled < bridge_minimum:
        return False
    if closing or threshold_usd <= 0:
        return True
    if price is None:
        return False  # no price, no value: it goes out when the address closes
    return Decimal(pooled) * price / Decimal(10) ** asset.decimals >= threshold_usd


@dataclass(frozen=True, slots=True)
class AnyInputDeposit:
    """One deposit into an ANY_INPUT account (``any_input_deposits``)."""

    id: str
    swap_id: str
    seq: int
    asset: str
    amount: int
    source: str
    chain: str
    tx_hash: str | None
    phase: DepositPhase
    swap_intent: str | None
    amount_out: int | None
    withdrawal_id: str | None
    attempts: int
    next_try_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AnyInputWithdrawal:
    """One payout of an ANY_INPUT pool (``any_input_withdrawals``)."""

    id: str
    swap_id: str
    asset: str
    amount: int
    intent_hash: str
    state: WithdrawalState
    delivered: int | None
    tx_hash: str | None
    created_at: datetime
    updated_at: datetime


def committed(
    deposits: Iterable[AnyInputDeposit], destination: str | None, settled: set[str]
) -> dict[str, int]:
    """Per token, what the recorded deposits still hold in the account: a deposit waiting for
    its swap holds its own asset; a swapped (or as-is) one holds its output until the withdrawal
    that carries it has settled (``settled``: ids of withdrawals whose leg has)."""
    held: dict[str, int] = {}
    for deposit in deposits:
        if deposit.phase is DepositPhase.SWAP or deposit.phase is DepositPhase.STRANDED:
            held[deposit.asset] = held.get(deposit.asset, 0) + deposit.amount
        elif deposit.phase is DepositPhase.POOLED and deposit.withdrawal_id not in settled:
            token = destination or deposit.asset
            held[token] = held.get(token, 0) + (deposit.amount_out or 0)
    return held
