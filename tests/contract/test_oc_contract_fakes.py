"""The fakes (and the CoinGecko adapter over a local transport) pass the port contracts.
The devnet issue adds subclasses that build the nearintents clients against the devnet."""

import json
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from oc_contracts import (
    BridgeContract,
    PricesContract,
    RelayContract,
    SettlingRelayContract,
    VerifierContract,
)

from oneclick.adapters.coingecko import CoinGeckoPrices
from oneclick.domain.errors import PermanentError, TemporaryError
from oneclick.testing import (
    SAMPLE_ASSETS,
    FakeBridge,
    FakeClock,
    FakePrices,
    FakeSolverRelay,
    FakeVerifierViews,
)


class TestFakeSolverRelay(RelayContract):
    @pytest.fixture
    def relay(self) -> FakeSolverRelay:
        return FakeSolverRelay(
            FakeClock(), {"nep141:a.near": (1_000_000, 6), "nep141:b.near": (2_000_000, 6)}
        )

    @pytest.fixture
    def pair(self) -> tuple[str, str]:
        return ("nep141:a.near", "nep141:b.near")


class TestFakeRelaySettling(SettlingRelayContract):
    """The fake relay settling in the fake verifier's fee-charging ledger, at 100 pips."""

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def verifier(self, clock: FakeClock) -> FakeVerifierViews:
        views = FakeVerifierViews(fee_pips=100, clock=clock)
        for token in ("nep141:a.near", "nep141:b.near"):
            views.ledger.mint("solver.near", token, 10**30)
        return views

    @pytest.fixture
    def relay(self, clock: FakeClock, verifier: FakeVerifierViews) -> FakeSolverRelay:
        prices = {"nep141:a.near": (1_000_000, 6), "nep141:b.near": (2_000_000, 6)}
        return FakeSolverRelay(clock, prices, verifier=verifier)

    @pytest.fixture
    def pair(self) -> tuple[str, str]:
        return ("nep141:a.near", "nep141:b.near")

    @pytest.fixture
    def amount(self) -> int:
        return 1_234_567

    @pytest.fixture
    def contract(self, verifier: FakeVerifierViews) -> str:
        return verifier.ledger.contract

    @pytest.fixture
    def now(self, clock: FakeClock):
        return clock.now

    @pytest.fixture
    def fund(self, verifier: FakeVerifierViews):
        async def fund(account: str, token: str, amount: int) -> None:
            verifier.ledger.mint(account, token, amount)

        return fund

    @pytest.fixture
    def balance(self, verifier: FakeVerifierViews, clock: FakeClock):
        async def balance(account: str, token: str) -> int:
            clock.advance(timedelta(seconds=1))  # time passes as the channel polls
            return await verifier.mt_balance_of(account, token)

        return balance


class TestFakeBridge(BridgeContract):
    @pytest.fixture
    def bridge(self) -> FakeBridge:
        return FakeBridge.for_assets(SAMPLE_ASSETS)

    @pytest.fixture(params=["eth:1", "btc:mainnet", "sol:mainnet"])
    def chain(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def memo_chain(self) -> str:
        return "stellar:mainnet"


class TestFakeVerifierViews(VerifierContract):
    @pytest.fixture
    def verifier(self) -> FakeVerifierViews:
        return FakeVerifierViews()


class TestFakePrices(PricesContract):
    @pytest.fixture
    def prices(self) -> FakePrices:
        return FakePrices(FakeClock(), {"bitcoin": Decimal("60000.5")})

    @pytest.fixture
    def known_id(self) -> str:
        return "bitcoin"


def _coingecko(handler) -> CoinGeckoPrices:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return CoinGeckoPrices("http://prices.local", clock=FakeClock(), client=client)


def _simple_price(request: httpx.Request) -> httpx.Response:
    assert request.url.path == "/api/v3/simple/price"
    assert request.url.params["vs_currencies"] == "usd"
    table = {"bitcoin": {"usd": 60000.123456789012345, "last_updated_at": 1767268800}}
    wanted = request.url.params["ids"].split(",")
    return httpx.Response(200, json={k: v for k, v in table.items() if k in wanted})


class TestCoinGeckoPrices(PricesContract):
    @pytest.fixture
    def prices(self) -> CoinGeckoPrices:
        return _coingecko(_simple_price)

    @pytest.fixture
    def known_id(self) -> str:
        return "bitcoin"


async def test_coingecko_keeps_every_digit_and_caches() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            200,
            content=json.dumps({"x": {"usd": 0.1234567890123456789}})
            .encode()
            .replace(b"0.12345678901234568", b"0.1234567890123456789"),
        )

    prices = _coingecko(handler)
    first = await prices.usd_prices(["x"])
    await prices.usd_prices(["x"])
    assert first["x"].usd == Decimal("0.1234567890123456789")
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("response", "error"),
    [(httpx.Response(503), TemporaryError), (httpx.Response(429), TemporaryError),
     (httpx.Response(404), PermanentError),
     (httpx.Response(200, content=b"<html>"), PermanentError),
     (httpx.Response(200, json={"x": {"usd": "NaN"}}), PermanentError)],
)  # fmt: skip
async def test_coingecko_failures_say_who_must_act(response: httpx.Response, error: type) -> None:
    with pytest.raises(error):
        await _coingecko(lambda _: response).usd_prices(["x"])


async def test_coingecko_unreachable_is_temporary() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TemporaryError):
        await _coingecko(refuse).usd_prices(["x"])
