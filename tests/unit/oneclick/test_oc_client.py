"""oneclick.client against the service on fakes (ASGI transport) and against scripted answers
(httpx.MockTransport) for what the fakes never say: 5xx, timeouts, garbage."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from oneclick.client import (
    BadRequest,
    InvalidResponse,
    NotFound,
    OneClickClient,
    OneClickSyncClient,
    QuoteRequest,
    QuoteSignatureMismatch,
    RequestTimeout,
    ServerError,
    SwapStatus,
    TransportError,
    Unauthorized,
    WaitTimeout,
)
from oneclick.custody.keys import KeyMaterial
from oneclick.testing.world import FakeWorld, fake_world, sqlite_url

USDT = "nep141:eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near"


def btc_to_usdt(**change: Any) -> QuoteRequest:
    fields: dict[str, Any] = {
        "origin_asset": "1cs_v1:btc:native:coin",
        "destination_asset": USDT,
        "amount": "10000",
        "refund_to": "bc1q6mte80265ghwq4vsrpm9lnaz46uvdreu9z8wly",
        "recipient": "0xcac3C41676deF4FE375E57118f3eB83A99105577",
        "deadline": "2026-01-01T14:00:00.000Z",  # the fake clock is at 2026-01-01T12:00Z
    }
    fields.update(change)
    return QuoteRequest(**fields)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[FakeWorld]:
    built = await fake_world(sqlite_url(tmp_path))
    yield built
    await built.aclose()


@pytest.fixture
async def api(world: FakeWorld) -> AsyncIterator[OneClickClient]:
    transport = httpx.ASGITransport(app=world.app())
    async with OneClickClient(
        "http://oneclick", manager_public_key=world.keys.manager_public_key, transport=transport
    ) as client:
        yield client


async def test_tokens_are_typed(api: OneClickClient) -> None:
    tokens = await api.tokens()
    btc = next(t for t in tokens if t.asset_id == "nep141:btc.omft.near")
    assert (btc.symbol, btc.decimals, btc.blockchain, int(btc.price)) == ("BTC", 8, "btc", 60000)


async def test_dry_and_live_quotes_verify_with_the_manager_key(
    api: OneClickClient, world: FakeWorld
) -> None:
    dry = await api.quote(btc_to_usdt(dry=True), verify=True)
    assert dry.quote.deposit_address is None
    assert dry.quote_request.dry is True
    live = await api.quote(btc_to_usdt(), verify=True)
    assert live.quote.deposit_address is not None
    assert live.quote.deposit_address.startswith("bc1q")
    assert int(live.quote.min_amount_out) == int(live.quote.amount_out) * 9900 // 10000
    # to_wire() gives back the body as served: the signature still verifies on it
    assert live.verify_signature(world.keys.manager_public_key)
    assert not live.verify_signature(KeyMaterial.generate().manager_public_key)


async def test_a_quote_signed_by_another_key_is_refused(world: FakeWorld) -> None:
    other = KeyMaterial.generate().manager_public_key
    transport = httpx.ASGITransport(app=world.app())
    async with OneClickClient(
        "http://oneclick", manager_public_key=other, transport=transport
    ) as client:
        with pytest.raises(QuoteSignatureMismatch) as caught:
            await client.quote(btc_to_usdt(), verify=True)
        assert caught.value.public_key == other
        unchecked = await client.quote(btc_to_usdt(dry=True))  # verify=False: no check
        assert unchecked.signature.startswith("ed25519:")


async def test_status_echoes_the_quote_and_submit_deposit_answers_the_same(
    api: OneClickClient,
) -> None:
    quote = await api.quote(btc_to_usdt())
    address = quote.quote.deposit_address
    assert address is not None
    status = await api.status(address)
    assert status.status == SwapStatus.PENDING_DEPOSIT
    assert not status.is_terminal
    assert status.quote_response.to_wire() == quote.to_wire()
    assert status.swap_details.intent_hashes == []
    submitted = await api.submit_deposit("ab" * 32, address)
    assert submitted.quote_response.signature == quote.signature


async def test_api_errors_carry_status_message_and_correlation_id(api: OneClickClient) -> None:
    with pytest.raises(NotFound) as missing:
        await api.status("bc1qunknownunknownunknownunknownunknownxyz")
    assert missing.value.status == 404
    assert "not found" in missing.value.message
    assert missing.value.correlation_id is not None
    uuid.UUID(missing.value.correlation_id)
    with pytest.raises(BadRequest) as bad:
        await api.quote(btc_to_usdt(amount="01"))
    assert bad.value.status == 400
    assert "amount" in bad.value.message


async def test_an_invalid_jwt_is_unauthorized(world: FakeWorld) -> None:
    transport = httpx.ASGITransport(app=world.app())
    async with OneClickClient("http://oneclick", jwt="not-a-jwt", transport=transport) as client:
        with pytest.raises(Unauthorized) as caught:
            await client.quote(btc_to_usdt(dry=True))
        assert caught.value.status == 401
        assert await client.tokens()  # public: no token check


# --- scripted answers ---------------------------------------------------------------------


def _status_body(status: str, **details: Any) -> dict[str, Any]:
    quote = {
        "correlationId": "c", "timestamp": "2026-01-01T12:00:00.000Z", "signature": "ed25519:x",
        "quoteRequest": {"dry": False, "swapType": "EXACT_INPUT", "originAsset": "a",
                         "destinationAsset": "b", "amount": "1", "recipient": "r",
                         "refundTo": "t", "aNewField": [1, 2]},
        "quote": {"amountIn": "1", "amountInFormatted": "1", "minAmountIn": "1",
                  "amountOut": "2", "amountOutFormatted": "2", "minAmountOut": "2",
                  "depositAddress": "dep"},
    }  # fmt: skip
    swap = {"intentHashes": [], "nearTxHashes": [], "originChainTxHashes": [],
            "destinationChainTxHashes": [], **details}  # fmt: skip
    return {"correlationId": "c", "quoteResponse": quote, "status": status,
            "updatedAt": "2026-01-01T12:00:00.000Z", "swapDetails": swap,
            "futureField": True}  # fmt: skip


def _scripted(answers: list[httpx.Response | Exception]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle)


async def test_server_errors_timeouts_and_garbage_are_told_apart() -> None:
    cases: list[tuple[httpx.Response | Exception, type[Exception]]] = [
        (httpx.Response(503, json={"message": "relay down"},
                        headers={"x-correlation-id": "abc"}), ServerError),
        (httpx.Response(502, text="<html>bad gateway</html>"), ServerError),
        (httpx.ReadTimeout("slow"), RequestTimeout),
        (httpx.ConnectError("refused"), TransportError),
        (httpx.Response(200, text="not json"), InvalidResponse),
        (httpx.Response(200, json={"status": "SUCCESS"}), InvalidResponse),
    ]  # fmt: skip
    for answer, expected in cases:
        async with OneClickClient("http://x", transport=_scripted([answer])) as client:
            with pytest.raises(expected) as caught:
                await client.status("dep")
        if isinstance(caught.value, ServerError) and caught.value.status == 503:
            assert (caught.value.message, caught.value.correlation_id) == ("relay down", "abc")


async def test_unknown_fields_and_statuses_are_kept() -> None:
    body = _status_body("SOMETHING_NEW")
    async with OneClickClient(
        "http://x", transport=_scripted([httpx.Response(200, json=body)])
    ) as client:
        status = await client.status("dep")
    assert status.status == "SOMETHING_NEW"
    assert not status.is_terminal
    assert status.to_wire() == body  # nothing lost, nothing added


async def test_wait_for_status_reports_each_change_once() -> None:
    answers: list[httpx.Response | Exception] = [
        httpx.Response(200, json=_status_body("PENDING_DEPOSIT")),
        httpx.Response(200, json=_status_body("PENDING_DEPOSIT")),
        httpx.Response(200, json=_status_body("KNOWN_DEPOSIT_TX")),
        httpx.Response(200, json=_status_body("PROCESSING")),
        httpx.Response(200, json=_status_body("PROCESSING", intentHashes=["h1"])),
        httpx.Response(200, json=_status_body("SUCCESS", intentHashes=["h1"])),
    ]
    seen: list[tuple[str, list[str]]] = []
    polls: list[str] = []

    async def on_poll(status: Any) -> None:
        polls.append(status.status)

    async with OneClickClient("http://x", transport=_scripted(answers)) as client:
        final = await client.wait_for_status(
            "dep", poll_interval=0, timeout=30,
            on_change=lambda s: seen.append((s.status, s.swap_details.intent_hashes)),
            on_poll=on_poll,
        )  # fmt: skip
    assert final.status == "SUCCESS"
    assert seen == [("PENDING_DEPOSIT", []), ("KNOWN_DEPOSIT_TX", []), ("PROCESSING", []),
                    ("PROCESSING", ["h1"]), ("SUCCESS", ["h1"])]  # fmt: skip
    assert len(polls) == 6


def test_sync_client_waits_for_a_predicate_and_times_out() -> None:
    answers: list[httpx.Response | Exception] = [
        httpx.Response(200, json=_status_body("PENDING_DEPOSIT")),
        httpx.Response(200, json=_status_body("PROCESSING")),
    ]
    with OneClickSyncClient("http://x", transport=_scripted(answers)) as client:
        found = client.wait_for_status(
            "dep", predicate=lambda s: s.status == "PROCESSING", poll_interval=0
        )
        assert found.status == "PROCESSING"
        # PROCESSING forever from here on: a short wait gives up with the last status
        with pytest.raises(WaitTimeout) as caught:
            client.wait_for_status("dep", timeout=0.05, poll_interval=0.01)
    assert caught.value.last is not None
    assert caught.value.last.status == "PROCESSING"


def test_sync_client_maps_errors_like_the_async_one() -> None:
    transport = _scripted([httpx.Response(404, json={"message": "Deposit address x not found",
                                                     "correlationId": "k"})])  # fmt: skip
    with (
        OneClickSyncClient("http://x", transport=transport) as client,
        pytest.raises(NotFound) as caught,
    ):
        client.status("x")
    assert (caught.value.status, caught.value.correlation_id) == (404, "k")


def test_verify_needs_a_key() -> None:
    quote = _status_body("PENDING_DEPOSIT")["quoteResponse"]
    with OneClickSyncClient(
        "http://x", transport=_scripted([httpx.Response(200, json=quote)])
    ) as c:
        assert c.quote(btc_to_usdt()).quote.deposit_address == "dep"
        with pytest.raises(ValueError, match="manager public key"):
            c.quote(btc_to_usdt(), verify=True)
