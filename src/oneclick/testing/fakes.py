"""In-process fakes of the relay, bridge, verifier, price source and clock.

They behave like the real services where the service relies on it (validation of arguments,
deterministic deposit addresses, signature checks on publish) and record what they were asked,
so tests assert on outcomes rather than on calls to mocks.

Wired together (``relay.verifier = bridge.verifier = verifier``, as ``fake_world`` does) they
model settlement: the relay executes a published swap against the solver's side of its quote in
the verifier's ledger (:mod:`oneclick.testing.ledger`) when its status is first asked, the
bridge mints deposits into the ledger and pays out the ledger's ``WITHDRAW_TO:`` burns.
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
from nearintents.diff import fee_amount
from nearintents.encoding import b58encode
from nearintents.nonce import VersionedNonce, decode_nonce
from nearintents.rpc import (
    Deposit,
    DepositAddress,
    DepositMode,
    DepositStatus,
    PublishResult,
    Quote,
    QuoteFailure,
    QuoteFailureType,
    QuoteRequest,
    RecentDeposits,
    RpcServerError,
    StatusResult,
    SupportedToken,
    Withdrawal,
    WithdrawalData,
    WithdrawalsNotFound,
    WithdrawalStatus,
)
from nearintents.rpc.bridge import NEAR_MAINNET, STELLAR_MEMO_MAX_LEN, WITHDRAWALS_NOT_FOUND
from oneclick.domain.assets import Asset
from oneclick.domain.errors import TemporaryError
from oneclick.services.ports import PricePoint
from oneclick.testing.ledger import Ledger, Rejected

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


def _net(token_id: str, amount: int, fee_pips: int) -> int:
    """What a ``-amount`` delta delivers once the verifier's fee is taken (PROTOCOL.md §2.12)."""
    return amount - fee_amount(token_id, -amount, fee_pips)


def _least_gross(token_id: str, target: int, fee_pips: int) -> int:
    """``min { a : _net(a) ≥ target }``: searched upward, the fake favours plainness."""
    gross = target
    while _net(token_id, gross, fee_pips) < target:
        gross += max(1, (target - _net(token_id, gross, fee_pips)) // 2)
    while gross > 1 and _net(token_id, gross - 1, fee_pips) >= target:
        gross -= 1
    return gross


@dataclass
class FakeSolverRelay:
    """Solvers quoting from fixed USD prices, one per margin in ``margins_bps``.

    Like the devnet relay (:mod:`devnet.relay.fees`), solvers are asked for and sign their raw
    amounts, and the answer carries the channel's side reconciled with the verifier's fee
    (``verifier.fee_pips``; 0 without a verifier): a channel signing ``{-amount_in,
    +amount_out}`` verbatim settles exactly against the solver's diff in the fee-charging ledger.

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
    verifier: FakeVerifierViews | None = None  # set: publishes settle in its ledger
    solver_account: str = "solver.near"
    settle: bool = True  # False: published intents stay PENDING
    issued: dict[str, Quote] = field(default_factory=dict)
    solver_sides: dict[str, tuple[int, int]] = field(default_factory=dict)  # hash: (in, out)
    intents: dict[str, _Published] = field(default_factory=dict)

    @property
    def fee_pips(self) -> int:
        return self.verifier.fee_pips if self.verifier is not None else 0

    def _offer(self, request: QuoteRequest, margin: int) -> Quote | QuoteFailure | None:
        token_in, token_out = (
            request.defuse_asset_identifier_in,
            request.defuse_asset_identifier_out,
        )
        if token_in not in self.prices or token_out not in self.prices or token_in == token_out:
            return None
        fee = self.fee_pips
        (p_in, d_in), (p_out, d_out) = self.prices[token_in], self.prices[token_out]
        num, den = p_in * 10**d_out * (BPS - margin), p_out * 10**d_in * BPS
        if request.exact_amount_in is not None:
            amount_in = request.exact_amount_in
            solver_in = _net(token_in, amount_in, fee)
            solver_out = solver_in * num // den
            amount_out = _net(token_out, solver_out, fee) if solver_out > 0 else 0
        else:
            assert request.exact_amount_out is not None
            amount_out = request.exact_amount_out
            solver_out = _least_gross(token_out, amount_out, fee)
            solver_in = -((-solver_out * den) // num)
            amount_in = _least_gross(token_in, solver_in, fee)
        if amount_out <= 0:
            solver_min = -((-den) // num)
            return QuoteFailure(
                type=QuoteFailureType.INSUFFICIENT_AMOUNT,
                min_amount=_least_gross(token_in, solver_min, fee),
            )
        digest = _digest(
            token_in, token_out, str(amount_in), str(amount_out), str(margin),
            self.clock.now().isoformat(),
        )  # fmt: skip
        quote = Quote(
            quote_hash=b58encode(digest),
            defuse_asset_identifier_in=token_in,
            defuse_asset_identifier_out=token_out,
            amount_in=amount_in,
            amount_out=amount_out,
            expiration_time=self.clock.now() + self.quote_ttl,
        )
        self.solver_sides[quote.quote_hash] = (solver_in, solver_out)
        return quote

    async def quote(self, request: QuoteRequest) -> list[Quote | QuoteFailure]:
        self.requests.append(request)
        answers: list[Quote | QuoteFailure] = list(self.extra_answers)
        for margin in self.margins_bps:
            offer = self._offer(request, margin)
            if isinstance(offer, Quote):
                self.issued[offer.quote_hash] = offer
            if offer is not None:
                answers.append(offer)
        return answers

    def _solver_side(self, quote_hashes: Sequence[str]) -> list[tuple[str, dict[str, int]]]:
        sides = []
        for quote_hash in quote_hashes:
            quote = self.issued.get(quote_hash)
            if quote is None:
                raise Rejected(f"unknown quote {quote_hash}")
            if quote.expiration_time <= self.clock.now():
                raise Rejected("expired")
            solver_in, solver_out = self.solver_sides[quote_hash]
            diff = {quote.defuse_asset_identifier_in: solver_in,
                    quote.defuse_asset_identifier_out: -solver_out}  # fmt: skip
            sides.append((self.solver_account, diff))
        return sides

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
        if intent_hash in self.intents:  # a repeat of the same bytes: nothing new happens
            return PublishResult.model_validate({"status": "OK", "intent_hash": intent_hash})
        trusted: list[tuple[str, dict[str, int]]] = []
        if self.verifier is not None and quote_hashes:
            # The relay simulates a matched intent against the solver's before accepting it.
            try:
                trusted = self._solver_side(quote_hashes)
                self.verifier.run([signed_data], trusted=trusted, dry_run=True)
            except Rejected as exc:
                return PublishResult.model_validate(
                    {"status": "FAILED", "reason": str(exc), "intent_hash": intent_hash}
                )
        self.published.append(signed_data)
        self.intents[intent_hash] = _Published(signed_data, trusted)
        return PublishResult.model_validate({"status": "OK", "intent_hash": intent_hash})

    async def get_status(self, intent_hash: str) -> StatusResult:
        record = self.intents.get(intent_hash)
        body: dict[str, Any] = {"intent_hash": intent_hash, "status": "NOT_FOUND_OR_NOT_VALID"}
        if record is None:
            return StatusResult.model_validate(body)
        if record.status == "PENDING" and self.verifier is not None and self.settle:
            try:
                record.tx_hash = self.verifier.run([record.signed_data], trusted=record.trusted)
                record.status = "SETTLED"
            except Rejected as exc:
                record.status, record.reason = "FAILED", str(exc)
                record.tx_hash = b58encode(_digest("failed", intent_hash))
        if record.status == "SETTLED":
            body.update(status="SETTLED", data={"hash": record.tx_hash})
        elif record.status == "FAILED":
            body.update(status_details="FAILED", data={"hash": record.tx_hash})
        else:
            body["status"] = "PENDING"
        return StatusResult.model_validate(body)


@dataclass
class _Published:
    signed_data: dict[str, Any]
    trusted: list[tuple[str, dict[str, int]]]
    status: str = "PENDING"
    tx_hash: str | None = None
    reason: str | None = None


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
    verifier: FakeVerifierViews | None = None  # set: deposits mint, withdrawals pay out
    clock: FakeClock | None = None
    withdrawal_delay: timedelta = timedelta(0)  # payouts stay PENDING this long
    # "Withdrawals not found" this long after a burn, as the real bridge while it indexes NEAR
    index_lag: timedelta = timedelta(seconds=3)
    failed_withdrawals: set[str] = field(default_factory=set)  # NEAR tx hashes to report FAILED
    seen: dict[str, list[Deposit]] = field(default_factory=dict)  # account id -> deposits

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

    def _token(self, token_id: str) -> SupportedToken:
        for token in self.tokens:
            if token.intents_token_id == token_id:
                return token
        raise ValueError(f"the bridge does not support {token_id}")

    def deposit(
        self, account_id: str, token_id: str, amount: int, *, credited: bool = True,
        tx_hash: str | None = None,
    ) -> str:  # fmt: skip
        """A user's deposit on the token's chain to ``account_id``'s deposit address: seen as
        PENDING, minted into the verifier once ``credited`` (or :meth:`credit` later)."""
        token = self._token(token_id)
        seen = self.seen.setdefault(account_id, [])
        tx_hash = tx_hash or "0x" + _digest("deposit", account_id, str(len(seen))).hex()
        chain = token.defuse_asset_identifier.rsplit(":", 1)[0]
        when = self.clock.now() if self.clock else datetime(2026, 1, 1, tzinfo=UTC)
        seen.append(
            Deposit(
                tx_hash=tx_hash, chain=chain, defuse_asset_identifier=token.defuse_asset_identifier,
                near_token_id=token.near_token_id, decimals=token.decimals, amount=amount,
                account_id=account_id, address=account_id, status=DepositStatus.PENDING,
                created_at=when,
            )
        )  # fmt: skip
        if credited:
            self.credit(tx_hash)
        return tx_hash

    def credit(self, tx_hash: str) -> None:
        """The bridge confirms a deposit and mints it into the account."""
        for account_id, deposits in self.seen.items():
            for i, deposit in enumerate(deposits):
                if deposit.tx_hash == tx_hash and deposit.status is DepositStatus.PENDING:
                    deposits[i] = deposit.model_copy(update={"status": DepositStatus.COMPLETED})
                    if self.verifier is not None:
                        token_id = f"nep141:{deposit.near_token_id}"
                        self.verifier.ledger.mint(account_id, token_id, deposit.amount)
                    return
        raise ValueError(f"no pending deposit {tx_hash}")

    async def recent_deposits(
        self,
        account_id: str,
        *,
        chain: str | None = None,
        status: DepositStatus | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RecentDeposits:
        if chain is not None:
            self._check_chain(chain)
        found = [
            d for d in self.seen.get(account_id, [])
            if (chain is None or d.chain == chain) and (status is None or d.status is status)
        ]  # fmt: skip
        start, size = offset or 0, limit or 20
        return RecentDeposits(
            deposits=found[start : start + size], total=len(found), limit=size, offset=start
        )

    async def withdrawal_status(self, withdrawal_hash: str) -> list[Withdrawal]:
        records = []
        if self.verifier is not None:
            records = [
                w for w in self.verifier.ledger.withdrawals
                if w.tx_hash == withdrawal_hash and w.receiver_id == w.token
                and (w.memo or "").startswith("WITHDRAW_TO:")
                and (self.clock is None or self.clock.now() >= w.at + self.index_lag)
            ]  # fmt: skip
        if not records:
            raise WithdrawalsNotFound(WITHDRAWALS_NOT_FOUND, method="withdrawal_status")
        answers = []
        for record in records:
            token = self._token(f"nep141:{record.token}")
            fee = token.withdrawal_fee
            data = WithdrawalData(
                tx_hash=record.tx_hash, chain=token.defuse_asset_identifier.rsplit(":", 1)[0],
                near_token_id=record.token, amount=record.amount, account_id=record.account_id,
                address=(record.memo or "").removeprefix("WITHDRAW_TO:"), withdrawal_fee=fee,
                withdraw_amount=max(record.amount - fee, 0), created_at=record.at,
            )  # fmt: skip
            now = self.clock.now() if self.clock else record.at
            if withdrawal_hash in self.failed_withdrawals:
                answers.append(Withdrawal(status=WithdrawalStatus.FAILED, data=data))
            elif now < record.at + self.withdrawal_delay:
                answers.append(Withdrawal(status=WithdrawalStatus.PENDING, data=data))
            else:
                transfer = "0x" + _digest("payout", record.tx_hash, record.token).hex()
                data = data.model_copy(update={"transfer_tx_hash": transfer})
                answers.append(Withdrawal(status=WithdrawalStatus.COMPLETED, data=data))
        return answers


@dataclass
class FakeVerifierViews:
    """The verifier's views over an in-memory :class:`Ledger` that also executes intents.

    As on mainnet, the views read ``final``, which trails the relay's optimistic execution by
    ``final_lag`` (two 1-second blocks): an executed transaction's nonces and balance changes
    show only after that. :meth:`collect_garbage` is the contract's ``cleanup_nonces`` over every
    cleanable nonce (versioned, deadline passed or salt no longer valid)."""

    fee_pips: int = 1
    salt: bytes = bytes.fromhex("252812b3")
    ledger: Ledger = field(default_factory=Ledger)
    clock: FakeClock | None = None
    fee_reads: int = 0
    final_lag: timedelta = timedelta(seconds=2)
    executed_at: dict[str, datetime] = field(default_factory=dict)  # tx hash -> when
    nonce_txs: dict[tuple[str, bytes], str] = field(default_factory=dict)  # nonce -> tx hash
    batch_reads: int = 0

    @property
    def balances(self) -> dict[tuple[str, str], int]:
        return self.ledger.balances

    @property
    def used_nonces(self) -> set[tuple[str, bytes]]:
        return self.ledger.used_nonces

    def _now(self) -> datetime:
        return self.clock.now() if self.clock else datetime.now(UTC)

    def run(
        self,
        signed: Sequence[dict[str, Any]],
        *,
        trusted: Sequence[tuple[str, dict[str, int]]] = (),
        dry_run: bool = False,
    ) -> str:
        """``execute_intents`` (or ``simulate_intents`` with ``dry_run``); raises ``Rejected``."""
        now = self._now()
        before = set(self.used_nonces)
        tx_hash = self.ledger.execute(
            signed, now=now, salts={self.salt}, fee_pips=self.fee_pips, trusted=trusted,
            dry_run=dry_run,
        )  # fmt: skip
        if not dry_run:
            self.executed_at[tx_hash] = now
            for nonce in self.used_nonces - before:
                self.nonce_txs[nonce] = tx_hash
        return tx_hash

    def is_final(self, tx_hash: str) -> bool:
        at = self.executed_at.get(tx_hash)
        return at is None or self._now() >= at + self.final_lag

    def collect_garbage(self) -> int:
        """``cleanup_nonces`` of every cleanable used nonce; how many were cleared."""
        now = self._now()
        cleanable = set()
        for account_id, nonce in self.used_nonces:
            decoded = decode_nonce(nonce)
            if isinstance(decoded, VersionedNonce) and (
                decoded.deadline < now or decoded.salt != self.salt
            ):
                cleanable.add((account_id, nonce))
        self.used_nonces.difference_update(cleanable)
        return len(cleanable)

    async def fee(self) -> int:
        self.fee_reads += 1
        return self.fee_pips

    async def current_salt(self) -> bytes:
        return self.salt

    async def is_nonce_used(self, account_id: str, nonce: bytes) -> bool:
        if len(nonce) != 32:
            raise ValueError("a nonce is 32 bytes")
        key = (account_id, bytes(nonce))
        return key in self.used_nonces and self.is_final(self.nonce_txs.get(key, ""))

    async def mt_balance_of(self, account_id: str, token_id: str) -> int:
        return await self._final_balance(account_id, token_id)

    async def _final_balance(self, account_id: str, token_id: str) -> int:
        pending = sum(
            m.delta for m in self.ledger.movements
            if m.account_id == account_id and m.token_id == token_id and m.tx_hash
            and not self.is_final(m.tx_hash)
        )  # fmt: skip
        return self.balances.get((account_id, token_id), 0) - pending

    async def executed_in(self, tx_hash: str, intent_hash: str) -> bool | None:
        if tx_hash not in self.executed_at or not self.is_final(tx_hash):
            return None
        return (tx_hash, intent_hash) in self.ledger.executed

    async def mt_batch_balance_of(self, account_id: str, token_ids: Sequence[str]) -> list[int]:
        self.batch_reads += 1
        return [await self._final_balance(account_id, t) for t in token_ids]

    async def has_public_key(self, account_id: str, public_key: str) -> bool:
        return self.ledger.owns(account_id, public_key)


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
