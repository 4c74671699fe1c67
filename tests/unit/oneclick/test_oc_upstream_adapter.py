"""``HttpUpstream``: what an upstream 1Click sends is validated, its failures say who must act,
and the partner credentials travel in headers only (never in an error, a log line or a repr).
The upstream is played at the HTTP transport (``httpx.MockTransport``); the client code is real.
Also the settings of upstream mode."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from oneclick.adapters.upstream import HttpUpstream, UnreadableUpstream
from oneclick.config import load_settings
from oneclick.domain.errors import (
    ConfigurationError,
    NotFound,
    TemporaryError,
    UpstreamRefused,
)
from oneclick.domain.swaps import SwapStatus
from oneclick.services.ports import UpstreamQuoteRequest

JWT = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBhcnRuZXI.SIGNATURE-NEVER-SHOWN"
API_KEY = "api-key-never-shown"
USDC = "nep141:eth-0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48.omft.near"
CUSTODY = "ab" * 32
REQUEST = UpstreamQuoteRequest(
    dry=False, swap_type="FLEX_INPUT", slippage_bps=9999, asset=USDC, amount=10_000_000,
    deposit_type="ORIGIN_CHAIN", refund_to="0x9225800e768357c3209e099705120dbf9e8CF86e",
    refund_type="ORIGIN_CHAIN", recipient=CUSTODY, recipient_type="INTENTS",
    deadline=datetime(2026, 12, 7, 1, tzinfo=UTC),
)  # fmt: skip


def quote_answer(**quote: Any) -> dict[str, Any]:
    echo = {
        "originAsset": USDC, "destinationAsset": USDC, "amount": "10000000",
        "recipient": CUSTODY, "refundTo": REQUEST.refund_to,
    }  # fmt: skip
    body = {
        "amountIn": "10000000", "minAmountIn": "1000", "amountOut": "10000000",
        "depositAddress": "0x3Dee106EA74F5147998b9435311FaB4be79ebF19",
        "deadline": "2026-12-08T01:00:00.000Z",
    }  # fmt: skip
    body.update(quote)
    return {"quoteRequest": echo, "quote": {k: v for k, v in body.items() if v is not None}}


def upstream(
    answer: Any, status: int = 200, seen: list[httpx.Request] | None = None
) -> HttpUpstream:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, bytes):
            return httpx.Response(status, content=answer)
        return httpx.Response(status, json=answer)

    return HttpUpstream("http://upstream.test", api_key=API_KEY, jwt=JWT,
                        transport=httpx.MockTransport(handle))  # fmt: skip


async def test_a_quote_is_asked_with_our_credentials_and_read() -> None:
    seen: list[httpx.Request] = []
    client = upstream(quote_answer(depositMemo="12345"), seen=seen)
    quote = await client.quote(REQUEST)
    assert quote.deposit_address == "0x3Dee106EA74F5147998b9435311FaB4be79ebF19"
    assert quote.deposit_memo == "12345"
    assert (quote.amount_in, quote.min_amount_in, quote.amount_out) == (10**7, 1000, 10**7)
    [request] = seen
    assert request.headers["authorization"] == f"Bearer {JWT}"
    assert request.headers["x-api-key"] == API_KEY
    body = json.loads(request.content)
    assert body["originAsset"] == body["destinationAsset"] == USDC
    assert body["recipientType"] == "INTENTS"
    assert body["deadline"] == "2026-12-07T01:00:00.000Z"
    assert "depositMode" not in body


@pytest.mark.parametrize(
    "change",
    [
        {"amountIn": "1e7"},
        {"amountIn": 10_000_000},
        {"amountOut": "-1"},
        {"amountOut": "10000001"},  # a same-asset quote never creates value
        {"minAmountIn": "10000001"},
        {"depositAddress": ""},
        {"depositAddress": "x" * 300},
        {"depositAddress": None},
        {"deadline": "tomorrow"},
    ],
)
async def test_a_quote_that_does_not_validate_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(UnreadableUpstream):
        await upstream(quote_answer(**change)).quote(REQUEST)


@pytest.mark.parametrize("field", ["originAsset", "recipient", "amount", "refundTo"])
async def test_a_quote_for_something_else_is_refused(field: str) -> None:
    answer = quote_answer()
    answer["quoteRequest"][field] = "something-else.near"
    with pytest.raises(UnreadableUpstream, match=field):
        await upstream(answer).quote(REQUEST)


async def test_failures_say_who_must_act_and_never_show_the_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    cases: list[tuple[HttpUpstream, type[Exception]]] = [
        (upstream({"message": "amount is too low"}, 400), UpstreamRefused),
        (upstream({"message": "Unauthorized"}, 401), TemporaryError),
        (upstream({"message": "no"}, 404), NotFound),
        (upstream({"message": "slow down"}, 429), TemporaryError),
        (upstream({"message": "boom"}, 502), TemporaryError),
        (upstream(b"<html>proxy</html>", 200), UnreadableUpstream),
        (upstream(httpx.ConnectError("refused")), TemporaryError),
        (upstream(httpx.ReadTimeout("slow")), TemporaryError),
    ]
    for client, kind in cases:
        with pytest.raises(kind) as caught:
            await client.quote(REQUEST)
        shown = f"{caught.value} {caught.value!r} {client!r}"
        assert JWT not in shown
        assert API_KEY not in shown
    assert JWT not in caplog.text
    assert API_KEY not in caplog.text
    with pytest.raises(UpstreamRefused, match="amount is too low"):
        await cases[0][0].quote(REQUEST)


async def test_a_status_is_read_strictly() -> None:
    answer = {
        "status": "SUCCESS",
        "swapDetails": {
            "originChainTxHashes": [{"hash": "0xaa", "explorerUrl": ""}],
            "destinationChainTxHashes": [{"hash": "0xbb", "explorerUrl": ""}],
            "nearTxHashes": ["Cq1"],
            "depositedAmount": "10", "amountOut": "9", "refundedAmount": "0",
        },
    }  # fmt: skip
    status = await upstream(answer).status("0xdead", None)
    assert status.status is SwapStatus.SUCCESS
    assert status.origin_tx_hashes == ("0xaa",)
    assert status.destination_tx_hashes == ("0xbb",)
    assert (status.deposited_amount, status.amount_out, status.refunded_amount) == (10, 9, 0)
    for bad in (
        {"status": "DONE"},
        {"status": "SUCCESS", "swapDetails": {"amountOut": 9.5}},
        {"status": "SUCCESS", "swapDetails": {"destinationChainTxHashes": [{"hash": 5}]}},
        {"status": "SUCCESS", "swapDetails": []},
    ):
        with pytest.raises(UnreadableUpstream):
            await upstream(bad).status("0xdead", None)


async def test_tokens_are_validated() -> None:
    good = [{"assetId": USDC, "blockchain": "eth", "symbol": "USDC", "decimals": 6,
             "contractAddress": "0xa0b8", "coingeckoId": "usd-coin", "price": 1}]  # fmt: skip
    [token] = await upstream(good).tokens()
    assert (token.asset_id, token.decimals, token.coingecko_id) == (USDC, 6, "usd-coin")
    for bad in ({"tokens": []}, [{**good[0], "decimals": "6"}], [{**good[0], "decimals": 999}]):
        with pytest.raises(UnreadableUpstream):
            await upstream(bad).tokens()


def test_upstream_mode_settings_are_layered_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "oneclick.toml"
    toml.write_text('[bridge]\nmode = "upstream"\n[upstream]\nurl = "http://up.test"\n')
    monkeypatch.setenv("ONECLICK_UPSTREAM__JWT", JWT)
    settings = load_settings(toml)
    assert settings.bridge.mode == "upstream"
    assert settings.upstream.url == "http://up.test"
    assert settings.upstream.payouts == "upstream"
    assert settings.upstream.jwt is not None
    assert settings.upstream.jwt.get_secret_value() == JWT
    assert JWT not in repr(settings)
    toml.write_text('[bridge]\nmode = "both"\n')
    with pytest.raises(ConfigurationError, match="mode"):
        load_settings(toml)
    toml.write_text('[upstream]\npayouts = "teleport"\n')
    with pytest.raises(ConfigurationError, match="payouts"):
        load_settings(toml)
