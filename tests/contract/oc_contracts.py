"""Contract suites for the ports. Each suite is a base class; a concrete test class provides
the adapter (fake now, the nearintents client against the devnet later) and the data it knows.
Subclass, override the fixtures, and the same assertions run against the new adapter."""

import asyncio
import contextlib
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from nearintents import signing
from nearintents.encoding import b58encode, b64encode
from nearintents.keys import Ed25519SecretKey, implicit_account_id
from nearintents.payload import format_rfc3339
from nearintents.rpc import (
    DepositMode,
    IntentStatus,
    Quote,
    QuoteFailure,
    QuoteRequest,
    SupportedToken,
    UnknownTransaction,
    WithdrawalsNotFound,
)
from nearintents.tokens import TokenId
from oneclick.services.ports import Bridge, NearChain, Prices, SolverRelay, Verifier


class RelayContract:
    """Fixtures: ``relay``; ``pair`` = two quotable token ids; ``amount`` a quotable input."""

    @pytest.fixture
    def amount(self) -> int:
        return 1_000_000

    async def test_exact_in_quotes_match_the_request(
        self, relay: SolverRelay, pair, amount
    ) -> None:
        request = QuoteRequest(
            defuse_asset_identifier_in=pair[0], defuse_asset_identifier_out=pair[1],
            exact_amount_in=amount,
        )  # fmt: skip
        answers = await relay.quote(request)
        offers = [a for a in answers if isinstance(a, Quote)]
        assert offers, "a quotable pair gets at least one offer"
        assert all(a.matches(request) and a.amount_out > 0 for a in offers)
        assert all(a.expiration_time > datetime(2000, 1, 1, tzinfo=UTC) for a in offers)

    async def test_exact_out_quotes_fix_the_output(self, relay: SolverRelay, pair, amount) -> None:
        request = QuoteRequest(
            defuse_asset_identifier_in=pair[0], defuse_asset_identifier_out=pair[1],
            exact_amount_out=amount,
        )  # fmt: skip
        offers = [a for a in await relay.quote(request) if isinstance(a, Quote)]
        assert offers
        assert all(a.amount_out == amount and a.amount_in > 0 for a in offers)

    async def test_unknown_pair_gets_no_offer(self, relay: SolverRelay, pair) -> None:
        request = QuoteRequest(
            defuse_asset_identifier_in=pair[0],
            defuse_asset_identifier_out="nep141:no-such-token.near", exact_amount_in=1000,
        )  # fmt: skip
        answers = await relay.quote(request)
        assert all(isinstance(a, QuoteFailure) or not a.matches(request) for a in answers)

    async def test_a_badly_signed_intent_is_not_published(self, relay: SolverRelay) -> None:
        garbage = {"standard": "raw_ed25519", "payload": "{}", "public_key": "ed25519:1",
                   "signature": "ed25519:1"}  # fmt: skip
        result = await relay.publish_intent(garbage, [])
        assert not result.ok

    async def test_unknown_intent_status(self, relay: SolverRelay) -> None:
        unknown = "11111111111111111111111111111111"
        status = await relay.get_status(unknown)
        assert status.status is IntentStatus.NOT_FOUND_OR_NOT_VALID


class SettlingRelayContract:
    """A quote signed verbatim settles exactly (issue 12: the relay's ``amount_in`` /
    ``amount_out`` are the channel's side, reconciled with the verifier's fee).

    Fixtures: ``relay``; ``pair``; ``amount``; ``contract`` (the verifier account); ``now`` (the
    clock intents are dated by); ``fund(account, token, amount)`` and ``balance(account, token)``
    (async, against the verifier the relay settles in)."""

    @pytest.mark.parametrize("exact", ["in", "out"])
    async def test_a_quote_signed_verbatim_settles_exactly(
        self, relay: SolverRelay, pair, amount, contract, now, fund, balance, exact
    ) -> None:
        key = Ed25519SecretKey.generate()
        user = implicit_account_id(key.public_key)
        token_in, token_out = pair
        request = QuoteRequest(
            defuse_asset_identifier_in=token_in, defuse_asset_identifier_out=token_out,
            **({"exact_amount_in": amount} if exact == "in" else {"exact_amount_out": amount}),
        )  # fmt: skip
        offers = [a for a in await relay.quote(request) if isinstance(a, Quote)]
        assert offers
        quote = offers[0]
        await fund(user, token_in, 2 * quote.amount_in)

        async def once_final(expected: tuple[int, int]) -> tuple[int, int]:
            # Balances are read at NEAR's `final`, which trails the relay's SETTLED (and a
            # funding transfer) by a few blocks, as on mainnet: wait for them, bounded.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(30):
                    while (await balance(user, token_in), await balance(user, token_out)) != (  # noqa: ASYNC110
                        expected
                    ):
                        await asyncio.sleep(0.1)
            return (await balance(user, token_in), await balance(user, token_out))

        before = await once_final((2 * quote.amount_in, 0))  # a fresh account
        payload = {
            "signer_id": user, "verifying_contract": contract,
            "deadline": format_rfc3339(now() + timedelta(minutes=1)),
            "nonce": b64encode(os.urandom(32)),
            "intents": [{"intent": "token_diff", "diff": {
                token_in: str(-quote.amount_in), token_out: str(quote.amount_out)}}],
        }  # fmt: skip
        signed = signing.sign("nep413", payload, key)
        published = await relay.publish_intent(signed, [quote.quote_hash])
        assert published.ok, published
        async with asyncio.timeout(30):
            while True:  # polled: get_status is the relay's only way to tell
                status = await relay.get_status(signing.intent_hash(signed))
                if status.status not in (IntentStatus.PENDING, IntentStatus.TX_BROADCASTED):
                    break
                await asyncio.sleep(0.05)
        assert status.status is IntentStatus.SETTLED, status
        expected = (before[0] - quote.amount_in, before[1] + quote.amount_out)
        assert await once_final(expected) == expected


class BridgeContract:
    """Fixtures: ``bridge``; ``chain`` a supported chain; ``memo_chain`` one with MEMO mode."""

    async def test_supported_tokens_are_verifier_tokens(self, bridge: Bridge) -> None:
        tokens = await bridge.supported_tokens()
        assert tokens
        assert all(isinstance(t, SupportedToken) for t in tokens)
        assert all(TokenId.parse(t.intents_token_id) for t in tokens)

    async def test_deposit_addresses_are_stable_and_per_account(
        self, bridge: Bridge, chain
    ) -> None:
        a1 = await bridge.deposit_address("a" * 64, chain)
        a2 = await bridge.deposit_address("a" * 64, chain)
        b = await bridge.deposit_address("b" * 64, chain)
        assert a1.address == a2.address != b.address
        assert a1.chain == chain
        assert a1.memo is None

    async def test_memo_mode_gives_a_memo(self, bridge: Bridge, memo_chain) -> None:
        answer = await bridge.deposit_address("c" * 64, memo_chain, DepositMode.MEMO)
        assert answer.memo

    async def test_notify_deposit_accepts_a_deposit(self, bridge: Bridge, chain) -> None:
        address = (await bridge.deposit_address("d" * 64, chain)).address
        assert await bridge.notify_deposit(chain, address, "ab" * 32) is None

    async def test_an_unknown_burn_is_withdrawals_not_found(self, bridge: Bridge) -> None:
        # The real bridge's bare-string error, also for a fresh burn it has not indexed yet.
        with pytest.raises(WithdrawalsNotFound):
            await bridge.withdrawal_status("8LKE47o44ybZQR9ozLyDnvMDTh4Ao5ipy2mJWsYByG5Q")

    async def test_bad_chain_ids_are_refused_before_sending(self, bridge: Bridge) -> None:
        with pytest.raises(ValueError, match="chain"):
            await bridge.deposit_address("a" * 64, "Not A Chain")


class VerifierContract:
    """Fixture: ``verifier``."""

    async def test_fee_is_in_pips(self, verifier: Verifier) -> None:
        assert 0 <= await verifier.fee() < 1_000_000

    async def test_salt_is_four_bytes(self, verifier: Verifier) -> None:
        assert len(await verifier.current_salt()) == 4

    async def test_fresh_nonce_is_unused(self, verifier: Verifier) -> None:
        assert await verifier.is_nonce_used("fresh-account.near", bytes(range(32))) is False

    async def test_unknown_account_has_no_balance(self, verifier: Verifier) -> None:
        assert await verifier.mt_balance_of("nobody-here.near", "nep141:wrap.near") == 0

    async def test_an_unknown_transaction_tells_nothing(self, verifier: Verifier) -> None:
        unknown = "8LKE47o44ybZQR9ozLyDnvMDTh4Ao5ipy2mJWsYByG5Q"
        assert await verifier.executed_in(unknown, unknown) is None

    async def test_batch_balances_come_in_the_order_asked(self, verifier: Verifier) -> None:
        tokens = ["nep141:wrap.near", "nep141:btc.omft.near"]
        assert await verifier.mt_batch_balance_of("nobody-here.near", tokens) == [0, 0]

    async def test_an_implicit_account_has_its_own_key_only(self, verifier: Verifier) -> None:
        key = Ed25519SecretKey.generate().public_key
        other = Ed25519SecretKey.generate().public_key
        account = implicit_account_id(key)
        assert await verifier.has_public_key(account, str(key)) is True
        assert await verifier.has_public_key(account, str(other)) is False
        assert await verifier.has_public_key("nobody-here.near", str(key)) is False


class NearChainContract:
    """Fixtures: ``near``; ``existing`` a named account that exists; ``relayer`` a sender."""

    async def test_an_existing_account_exists(self, near: NearChain, existing: str) -> None:
        assert await near.account_exists(existing) is True

    async def test_a_missing_named_account_does_not_exist(self, near: NearChain) -> None:
        assert await near.account_exists("nobody-here-at-all.near") is False

    async def test_an_unknown_transaction_is_unknown(self, near: NearChain, relayer: str) -> None:
        with pytest.raises(UnknownTransaction):
            await near.tx_status(b58encode(bytes(range(32))), relayer)


class PricesContract:
    """Fixtures: ``prices``; ``known_id`` a priced CoinGecko id."""

    async def test_known_ids_have_decimal_prices(self, prices: Prices, known_id: str) -> None:
        points = await prices.usd_prices([known_id])
        assert isinstance(points[known_id].usd, Decimal)
        assert points[known_id].usd > 0

    async def test_unknown_ids_are_left_out(self, prices: Prices, known_id: str) -> None:
        points = await prices.usd_prices([known_id, "no-such-coin-xyz"])
        assert set(points) == {known_id}
