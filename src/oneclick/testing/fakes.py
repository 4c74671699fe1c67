"""In-process fakes of the relay, bridge, verifier, price source and clock.

They behave like the real services where the service relies on it (validation of arguments,
deterministic deposit addresses, signature checks on publish) and record what they were asked,
so tests assert on outcomes rather than on calls to mocks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bip_utils import SegwitBech32Encoder  # type: ignore[import-untyped]

from nearintents import signing
from nearintents.encoding import b58encode
from nearintents.rpc import (
    DepositAddress,
    DepositMode,
    PublishResult,
    Quote,
    QuoteFailure,
    QuoteFailureType,
    QuoteRequest,
    RpcServerError,
    StatusResult,
    SupportedToken,
)
from nearintents.rpc.bridge import NEAR_MAINNET, STELLAR_MEMO_MAX_LEN
from oneclick.domain.assets import Asset
from oneclick.domain.errors import TemporaryError
from oneclick.services.ports import PricePoint

_CHAIN = re.compile(r"^[a-z][a-z0-9]*:[a-z0-9]+$")
BPS = 10_000


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("|".join(parts).encode()).digest()


@dataclass
class FakeSolverRelay:
    """Solvers quoting from fixed USD prices, one per margin in ``margins_bps``.

    ``prices`` maps token ids to ``(micro-USD price, decimals)``. ``extra_answers`` are returned
    as they are (to play an untrusted solver); ``reject_reason`` makes publishes fail.
    """

    clock: FakeClock
    prices: dict[str, tuple[int, int]] = field(default_factory=dict)
    margins_bps: Sequence[int] = (0, 30)
    quote_ttl: timedelta = timedelta(minutes=2)
    extra_answers: list[Quote | QuoteFailure] = field(default_factory=list)
    reject_reason: str | None = None
    requests: list[QuoteRequest] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)

    def _offer(self, request: QuoteRequest, margin: int) -> Quote | QuoteFailure | None:
        token_in, token_out = (
            request.defuse_asset_identifier_in,
            request.defuse_asset_identifier_out,
        )
        if token_in not in self.prices or token_out not in self.prices or token_in == token_out:
            return None
        (p_in, d_in), (p_out, d_out) = self.prices[token_in], self.prices[token_out]
        num, den = p_in * 10**d_out * (BPS - margin), p_out * 10**d_in * BPS
        if request.exact_amount_in is not None:
            amount_in = request.exact_amount_in
            amount_out = amount_in * num // den
        else:
            assert request.exact_amount_out is not None
            amount_out = request.exact_amount_out
            amount_in = -((-amount_out * den) // num)
        if amount_out == 0:
            return QuoteFailure(
                type=QuoteFailureType.INSUFFICIENT_AMOUNT, min_amount=-((-den) // num)
            )
        digest = _digest(token_in, token_out, str(amount_in), str(amount_out), str(margin))
        return Quote(
            quote_hash=b58encode(digest),
            defuse_asset_identifier_in=token_in,
            defuse_asset_identifier_out=token_out,
            amount_in=amount_in,
            amount_out=amount_out,
            expiration_time=self.clock.now() + self.quote_ttl,
        )

    async def quote(self, request: QuoteRequest) -> list[Quote | QuoteFailure]:
        self.requests.append(request)
        answers: list[Quote | QuoteFailure] = list(self.extra_answers)
        for margin in self.margins_bps:
            offer = self._offer(request, margin)
            if offer is not None:
                answers.append(offer)
        return answers

    async def publish_intent(
        self, signed_data: dict[str, Any], quote_hashes: Sequence[str] = ()
    ) -> PublishResult:
        try:
            signing.verify(signed_data)
            intent_hash = signing.intent_hash(signed_data)
        except signing.SignedPayloadError:
            return PublishResult.model_validate({"status": "FAILED", "reason": "invalid signature"})
        if self.reject_reason is not None:
            return PublishResult.model_validate(
                {"status": "FAILED", "reason": self.reject_reason, "intent_hash": intent_hash}
            )
        self.published.append(signed_data)
        return PublishResult.model_validate({"status": "OK", "intent_hash": intent_hash})

    async def get_status(self, intent_hash: str) -> StatusResult:
        known = {signing.intent_hash(mp) for mp in self.published}
        status = "PENDING" if intent_hash in known else "NOT_FOUND_OR_NOT_VALID"
        return StatusResult.model_validate({"intent_hash": intent_hash, "status": status})


def supported_token(asset: Asset) -> SupportedToken:
    """The bridge's view of a bridged sample asset."""
    return SupportedToken(
        defuse_asset_identifier=f"{asset.bridge_chain}:{asset.contract_address or 'native'}",
        near_token_id=asset.asset_id.removeprefix("nep141:"),
        intents_token_id=asset.asset_id,
        standard="nep141",
        asset_name=asset.symbol,
        decimals=asset.decimals,
        min_deposit_amount=asset.min_deposit_amount,
        min_withdrawal_amount=asset.min_withdrawal_amount,
        withdrawal_fee=asset.withdrawal_fee,
    )


@dataclass
class FakeBridge:
    """Deterministic deposit addresses in each chain's real format; MEMO mode on memo chains."""

    tokens: list[SupportedToken] = field(default_factory=list)
    memo_chains: frozenset[str] = frozenset({"stellar:mainnet", "xrp:mainnet", "ton:mainnet"})
    notified: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def for_assets(cls, assets: Iterable[Asset]) -> FakeBridge:
        return cls(
            [supported_token(a) for a in assets if a.bridge_chain and a.blockchain != "near"]
        )

    async def supported_tokens(self, chains: Sequence[str] | None = None) -> list[SupportedToken]:
        if chains is None:
            return list(self.tokens)
        for chain in chains:
            self._check_chain(chain)
        return [
            t
            for t in self.tokens
            if any(t.defuse_asset_identifier.startswith(c + ":") for c in chains)
        ]

    @staticmethod
    def _check_chain(chain: str) -> None:
        if not _CHAIN.fullmatch(chain):
            raise ValueError(f"invalid chain id {chain!r}")

    async def deposit_address(
        self, account_id: str, chain: str, deposit_mode: DepositMode | None = None
    ) -> DepositAddress:
        self._check_chain(chain)
        family = chain.split(":")[0]
        if deposit_mode is DepositMode.MEMO:
            if chain not in self.memo_chains:
                raise RpcServerError(
                    f"MEMO mode is not supported on {chain}", method="deposit_address"
                )
            memo = str(int.from_bytes(_digest("memo", account_id, chain)[:4], "big"))
            return DepositAddress(
                address=self._address(family, "pool", chain), chain=chain, memo=memo
            )
        return DepositAddress(address=self._address(family, account_id, chain), chain=chain)

    @staticmethod
    def _address(family: str, account_id: str, chain: str) -> str:
        digest = _digest(account_id, chain)
        if family == "eth":
            return "0x" + digest[:20].hex()
        if family == "btc":
            return str(SegwitBech32Encoder.Encode("bc", 0, digest[:20]))
        return b58encode(digest)

    async def notify_deposit(
        self,
        chain: str,
        deposit_address: str,
        tx_hash: str,
        *,
        near_sender_account: str | None = None,
        memo: str | None = None,
    ) -> None:
        self._check_chain(chain)
        if chain == NEAR_MAINNET and not near_sender_account:
            raise ValueError("near_sender_account is required for near:mainnet")
        if memo is not None and len(memo) > STELLAR_MEMO_MAX_LEN:
            raise ValueError(f"memo longer than {STELLAR_MEMO_MAX_LEN} characters")
        self.notified.append(
            {"chain": chain, "deposit_address": deposit_address, "tx_hash": tx_hash,
             "near_sender_account": near_sender_account, "memo": memo}
        )  # fmt: skip


@dataclass
class FakeVerifierViews:
    """The verifier's views over in-memory state."""

    fee_pips: int = 1
    salt: bytes = bytes.fromhex("252812b3")
    balances: dict[tuple[str, str], int] = field(default_factory=dict)
    used_nonces: set[tuple[str, bytes]] = field(default_factory=set)
    fee_reads: int = 0

    async def fee(self) -> int:
        self.fee_reads += 1
        return self.fee_pips

    async def current_salt(self) -> bytes:
        return self.salt

    async def is_nonce_used(self, account_id: str, nonce: bytes) -> bool:
        if len(nonce) != 32:
            raise ValueError("a nonce is 32 bytes")
        return (account_id, bytes(nonce)) in self.used_nonces

    async def mt_balance_of(self, account_id: str, token_id: str) -> int:
        return self.balances.get((account_id, token_id), 0)


@dataclass
class FakePrices:
    """USD prices by CoinGecko id; ``down`` plays an unavailable price source."""

    clock: FakeClock
    prices: dict[str, Decimal] = field(default_factory=dict)
    down: bool = False

    @classmethod
    def from_micro_usd(cls, clock: FakeClock, micro: dict[str, int]) -> FakePrices:
        return cls(clock, {k: Decimal(v).scaleb(-6) for k, v in micro.items()})

    async def usd_prices(self, coingecko_ids: Sequence[str]) -> dict[str, PricePoint]:
        if self.down:
            raise TemporaryError("the price source is down")
        now = self.clock.now()
        return {i: PricePoint(self.prices[i], now) for i in coingecko_ids if i in self.prices}
