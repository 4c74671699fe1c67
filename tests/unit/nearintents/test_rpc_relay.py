"""HttpSolverRelay against a real local server answering like PROTOCOL.md §3.1-3.3."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from nearintents.encoding import b58encode
from nearintents.rpc import (
    HttpSolverRelay,
    IntentStatus,
    PublishStatus,
    Quote,
    QuoteFailure,
    QuoteRequest,
    RpcMalformedResponse,
    RpcServerError,
    RpcTimeout,
)


def b58hash(seed: str) -> str:
    return b58encode(hashlib.sha256(seed.encode()).digest())


INTENT_HASH = b58hash("intent")
OTHER_HASH = b58hash("other")
TX_HASH = b58hash("tx")
QUOTE_HASH = b58hash("quote")

QUOTE = {
    "quote_hash": QUOTE_HASH,
    "defuse_asset_identifier_in": "nep141:ft1.near",
    "defuse_asset_identifier_out": "nep141:ft2.near",
    "amount_in": "1000",
    "amount_out": "2000",
    "expiration_time": "2024-10-01T12:10:27Z",
}
SIGNED = {
    "standard": "nep413",
    "payload": {"recipient": "intents.near", "nonce": "AAAA", "message": "{}"},
    "public_key": "ed25519:abc",
    "signature": "ed25519:def",
}


def exact_in(amount: int = 1000, **kwargs: object) -> QuoteRequest:
    return QuoteRequest(
        defuse_asset_identifier_in="nep141:ft1.near",
        defuse_asset_identifier_out="nep141:ft2.near",
        exact_amount_in=amount,
        **kwargs,
    )


# --- quote ---


async def test_quote_parses_the_documented_offer_and_sends_the_documented_params(rpc_server):
    rpc_server.result("quote", [QUOTE])
    async with HttpSolverRelay(rpc_server.url) as relay:
        quotes = await relay.quote(exact_in())
    assert quotes == [
        Quote(
            quote_hash=QUOTE_HASH,
            defuse_asset_identifier_in="nep141:ft1.near",
            defuse_asset_identifier_out="nep141:ft2.near",
            amount_in=1000,
            amount_out=2000,
            expiration_time=datetime(2024, 10, 1, 12, 10, 27, tzinfo=UTC),
        )
    ]
    (body,) = rpc_server.calls("quote")
    assert body["params"] == [
        {
            "defuse_asset_identifier_in": "nep141:ft1.near",
            "defuse_asset_identifier_out": "nep141:ft2.near",
            "exact_amount_in": "1000",
            "min_deadline_ms": 60000,
        }
    ]


async def test_quote_sends_optional_fields_only_when_set(rpc_server):
    rpc_server.result("quote", None)
    request = QuoteRequest(
        defuse_asset_identifier_in="nep141:ft1.near",
        defuse_asset_identifier_out="nep141:ft2.near",
        exact_amount_out=5,
        min_deadline_ms=120_000,
        wait_ms=100,
        min_wait_ms=50,
        max_wait_ms=200,
        trusted_metadata={"partner": "x", "n": [1, 2]},
    )
    async with HttpSolverRelay(rpc_server.url) as relay:
        await relay.quote(request)
    (params,) = rpc_server.calls("quote")[0]["params"]
    assert params == {
        "defuse_asset_identifier_in": "nep141:ft1.near",
        "defuse_asset_identifier_out": "nep141:ft2.near",
        "exact_amount_out": "5",
        "min_deadline_ms": 120000,
        "wait_ms": 100,
        "min_wait_ms": 50,
        "max_wait_ms": 200,
        "trusted_metadata": {"partner": "x", "n": [1, 2]},
    }


async def test_quote_null_means_no_offers(rpc_server):
    rpc_server.result("quote", None)
    async with HttpSolverRelay(rpc_server.url) as relay:
        assert await relay.quote(exact_in()) == []


async def test_quote_mixes_offers_and_failures(rpc_server):
    rpc_server.result("quote", [{"type": "INSUFFICIENT_AMOUNT", "min_amount": "5000"}, QUOTE])
    async with HttpSolverRelay(rpc_server.url) as relay:
        failure, offer = await relay.quote(exact_in())
    assert failure == QuoteFailure(type="INSUFFICIENT_AMOUNT", min_amount=5000)
    assert isinstance(offer, Quote)
    assert offer.amount_out == 2000


async def test_quote_accepts_unix_seconds_expiration_as_an_old_tutorial_showed(rpc_server):
    rpc_server.result("quote", [{**QUOTE, "expiration_time": "1726184627"}])
    async with HttpSolverRelay(rpc_server.url) as relay:
        (offer,) = await relay.quote(exact_in())
    assert isinstance(offer, Quote)
    assert offer.expiration_time == datetime(2024, 9, 12, 23, 43, 47, tzinfo=UTC)


@pytest.mark.parametrize(
    "entry",
    [
        {**QUOTE, "amount_out": "02000"},
        {**QUOTE, "amount_out": 2000.0},
        {**QUOTE, "amount_in": "-1"},
        {**QUOTE, "expiration_time": "2024-10-01T12:10:27"},  # no zone
        {**QUOTE, "defuse_asset_identifier_in": "ft1.near"},
        {k: v for k, v in QUOTE.items() if k != "quote_hash"},
        {"type": "TOO_SMALL", "min_amount": "1"},
        {"type": "INSUFFICIENT_AMOUNT", "min_amount": "1.5"},
        "a string",
    ],
)
async def test_quote_entries_that_do_not_validate_are_malformed(rpc_server, entry):
    rpc_server.result("quote", [QUOTE, entry])
    async with HttpSolverRelay(rpc_server.url) as relay:
        with pytest.raises(RpcMalformedResponse):
            await relay.quote(exact_in())


async def test_quote_result_that_is_not_a_list_is_malformed(rpc_server):
    rpc_server.result("quote", QUOTE)
    async with HttpSolverRelay(rpc_server.url) as relay:
        with pytest.raises(RpcMalformedResponse):
            await relay.quote(exact_in())


async def test_quote_waits_for_the_collection_window_plus_a_margin(rpc_server):
    rpc_server.hang("quote")
    started = time.monotonic()
    async with HttpSolverRelay(rpc_server.url, timeout=0.2) as relay:
        with pytest.raises(RpcTimeout):
            await relay.quote(exact_in(wait_ms=400))
    elapsed = time.monotonic() - started
    assert 0.55 <= elapsed < 5  # 0.4 s window + 0.2 s margin, not just the 0.2 s timeout


def test_collection_window_defaults_to_the_relays_3_seconds():
    assert exact_in().collection_window_s == 3.0
    assert exact_in(wait_ms=100, max_wait_ms=7000).collection_window_s == 7.0


@pytest.mark.parametrize(
    "fields",
    [
        {"exact_amount_in": 1, "exact_amount_out": 1},
        {},
        {"exact_amount_in": 0},
        {"exact_amount_in": -5},
        {"exact_amount_in": "01"},
        {"exact_amount_in": 1, "min_deadline_ms": 0},
        {"exact_amount_in": 1, "wait_ms": -1},
        {"exact_amount_in": 1, "surprise": True},
    ],
)
def test_quote_request_rejects_invalid_combinations(fields):
    with pytest.raises(ValidationError):
        QuoteRequest(
            defuse_asset_identifier_in="nep141:a.near",
            defuse_asset_identifier_out="nep141:b.near",
            **fields,
        )


def test_quote_matches_checks_assets_and_the_fixed_amount():
    offer = Quote.model_validate(QUOTE)
    assert offer.matches(exact_in(1000))
    assert not offer.matches(exact_in(999))
    swapped = QuoteRequest(
        defuse_asset_identifier_in="nep141:ft2.near",
        defuse_asset_identifier_out="nep141:ft1.near",
        exact_amount_in=1000,
    )
    assert not offer.matches(swapped)
    exact_out = QuoteRequest(
        defuse_asset_identifier_in="nep141:ft1.near",
        defuse_asset_identifier_out="nep141:ft2.near",
        exact_amount_out=2000,
    )
    assert offer.matches(exact_out)


# --- auth ---


async def test_an_api_key_is_sent_in_both_header_styles(rpc_server):
    rpc_server.result("quote", None)
    async with HttpSolverRelay(rpc_server.url, api_key="jwt-123") as relay:
        await relay.quote(exact_in())
    headers = rpc_server.last.headers
    assert headers["authorization"] == "Bearer jwt-123"
    assert headers["x-api-key"] == "jwt-123"


async def test_no_api_key_sends_no_auth_headers(rpc_server):
    rpc_server.result("quote", None)
    async with HttpSolverRelay(rpc_server.url) as relay:
        await relay.quote(exact_in())
    assert "authorization" not in rpc_server.last.headers
    assert "x-api-key" not in rpc_server.last.headers


# --- publish ---


async def test_publish_intent_sends_the_signed_payload_and_quote_hashes(rpc_server):
    rpc_server.result("publish_intent", {"status": "OK", "intent_hash": INTENT_HASH})
    async with HttpSolverRelay(rpc_server.url) as relay:
        result = await relay.publish_intent(SIGNED, [QUOTE_HASH])
    assert result.ok
    assert result.status is PublishStatus.OK
    assert result.intent_hash == INTENT_HASH
    assert result.intent_hashes == (INTENT_HASH,)
    (body,) = rpc_server.calls("publish_intent")
    assert body["params"] == [{"quote_hashes": [QUOTE_HASH], "signed_data": SIGNED}]


async def test_publish_intent_standalone_sends_empty_quote_hashes(rpc_server):
    rpc_server.result("publish_intent", {"status": "OK", "intent_hash": INTENT_HASH})
    async with HttpSolverRelay(rpc_server.url) as relay:
        await relay.publish_intent(SIGNED)
    assert rpc_server.calls("publish_intent")[0]["params"][0]["quote_hashes"] == []


async def test_publish_intent_failure_keeps_the_reason(rpc_server):
    rpc_server.result(
        "publish_intent",
        {"status": "FAILED", "reason": "nonce was already used", "intent_hash": INTENT_HASH},
    )
    async with HttpSolverRelay(rpc_server.url) as relay:
        result = await relay.publish_intent(SIGNED, [QUOTE_HASH])
    assert not result.ok
    assert result.status is PublishStatus.FAILED
    assert result.reason == "nonce was already used"
    assert result.intent_hash == INTENT_HASH


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "OK"},  # OK without a hash
        {"status": "DONE", "intent_hash": INTENT_HASH},
        {"status": "OK", "intent_hash": "not-base58-0OIl"},
        {"status": "OK", "intent_hash": INTENT_HASH, "intent_hashes": [INTENT_HASH]},
        {"status": "OK", "intent_hashes": [INTENT_HASH, OTHER_HASH]},
    ],
)
async def test_publish_intent_answers_that_do_not_validate_are_malformed(rpc_server, answer):
    rpc_server.result("publish_intent", answer)
    async with HttpSolverRelay(rpc_server.url) as relay:
        with pytest.raises(RpcMalformedResponse):
            await relay.publish_intent(SIGNED, [QUOTE_HASH])


async def test_publish_intent_error_string_is_a_server_error(rpc_server):
    rpc_server.error("publish_intent", "internal")
    async with HttpSolverRelay(rpc_server.url) as relay:
        with pytest.raises(RpcServerError) as caught:
            await relay.publish_intent(SIGNED)
    assert caught.value.message == "internal"
    assert caught.value.method == "publish_intent"


async def test_publish_intents_sends_every_payload(rpc_server):
    rpc_server.result(
        "publish_intents", {"status": "OK", "intent_hashes": [INTENT_HASH, OTHER_HASH]}
    )
    async with HttpSolverRelay(rpc_server.url) as relay:
        result = await relay.publish_intents([SIGNED, {**SIGNED, "signature": "x"}], [QUOTE_HASH])
    assert result.intent_hashes == (INTENT_HASH, OTHER_HASH)
    assert result.intent_hash is None
    (params,) = rpc_server.calls("publish_intents")[0]["params"]
    assert params["quote_hashes"] == [QUOTE_HASH]
    assert params["signed_datas"] == [SIGNED, {**SIGNED, "signature": "x"}]


async def test_publish_intents_with_a_wrong_number_of_hashes_is_malformed(rpc_server):
    rpc_server.result("publish_intents", {"status": "OK", "intent_hashes": [INTENT_HASH]})
    async with HttpSolverRelay(rpc_server.url) as relay:
        with pytest.raises(RpcMalformedResponse, match="1 intent hashes for 2 payloads"):
            await relay.publish_intents([SIGNED, SIGNED])


async def test_publish_intents_failure_may_carry_hashes(rpc_server):
    rpc_server.result(
        "publish_intents", {"status": "FAILED", "reason": "expired", "intent_hashes": []}
    )
    async with HttpSolverRelay(rpc_server.url) as relay:
        result = await relay.publish_intents([SIGNED, SIGNED])
    assert (result.ok, result.reason, result.intent_hashes) == (False, "expired", ())


def test_publish_intents_needs_at_least_one_payload():
    from nearintents.rpc import PublishIntentsRequest

    with pytest.raises(ValidationError):
        PublishIntentsRequest(signed_datas=[])


# --- get_status ---


@pytest.mark.parametrize(
    ("answer", "status", "tx_hash"),
    [
        ({"status": "PENDING"}, IntentStatus.PENDING, None),
        (
            {"status": "TX_BROADCASTED", "data": {"hash": TX_HASH}},
            IntentStatus.TX_BROADCASTED,
            TX_HASH,
        ),
        ({"status": "SETTLED", "data": {"hash": TX_HASH}}, IntentStatus.SETTLED, TX_HASH),
        ({"status": "NOT_FOUND_OR_NOT_VALID"}, IntentStatus.NOT_FOUND_OR_NOT_VALID, None),
    ],
)
async def test_get_status_reports_each_status(rpc_server, answer, status, tx_hash):
    rpc_server.result("get_status", {"intent_hash": INTENT_HASH, **answer})
    async with HttpSolverRelay(rpc_server.url) as relay:
        result = await relay.get_status(INTENT_HASH)
    assert result.status is status
    assert result.tx_hash == tx_hash
    assert not result.failed_on_chain
    assert rpc_server.calls("get_status")[0]["params"] == [{"intent_hash": INTENT_HASH}]


async def test_get_status_ignores_a_field_it_does_not_know(rpc_server):
    answer = {"intent_hash": INTENT_HASH, "status": "SETTLED", "data": {"hash": TX_HASH},
              "settled_at": 1.5, "route": {"solver": "x"}}  # fmt: skip
    rpc_server.result("get_status", answer)
    async with HttpSolverRelay(rpc_server.url) as relay:
        result = await relay.get_status(INTENT_HASH)
    assert result.status is IntentStatus.SETTLED


async def test_get_status_with_a_status_it_does_not_know_is_malformed(rpc_server):
    # Refused, not guessed: the service retries it for a bounded time (services/boundary.py).
    rpc_server.result("get_status", {"intent_hash": INTENT_HASH, "status": "FINALIZING"})
    async with HttpSolverRelay(rpc_server.url) as relay:
        with pytest.raises(RpcMalformedResponse):
            await relay.get_status(INTENT_HASH)


async def test_get_status_failed_on_chain(rpc_server):
    rpc_server.result(
        "get_status",
        {
            "intent_hash": INTENT_HASH,
            "status": "NOT_FOUND_OR_NOT_VALID",
            "status_details": "FAILED",
            "data": {"hash": TX_HASH},
        },
    )
    async with HttpSolverRelay(rpc_server.url) as relay:
        result = await relay.get_status(INTENT_HASH)
    assert result.failed_on_chain
    assert result.tx_hash == TX_HASH


@pytest.mark.parametrize(
    "answer",
    [
        {"intent_hash": INTENT_HASH, "status": "SETTLED"},  # settled without a tx
        {"intent_hash": INTENT_HASH, "status": "DONE"},
        {"intent_hash": INTENT_HASH, "status": "SETTLED", "data": {"hash": "short"}},
        {"intent_hash": OTHER_HASH, "status": "PENDING"},  # someone else's intent
        {"status": "PENDING"},
    ],
)
async def test_get_status_answers_that_do_not_validate_are_malformed(rpc_server, answer):
    rpc_server.result("get_status", answer)
    async with HttpSolverRelay(rpc_server.url) as relay:
        with pytest.raises(RpcMalformedResponse):
            await relay.get_status(INTENT_HASH)


async def test_get_status_error_object_is_a_server_error(rpc_server):
    rpc_server.error("get_status", {"code": -32602, "message": "invalid intent hash"})
    async with HttpSolverRelay(rpc_server.url) as relay:
        with pytest.raises(RpcServerError) as caught:
            await relay.get_status(INTENT_HASH)
    assert caught.value.code == -32602


async def test_get_status_behind_a_failing_proxy(rpc_server):
    rpc_server.raw("get_status", b"upstream connect error", status=503, media_type="text/plain")
    async with HttpSolverRelay(rpc_server.url) as relay:
        with pytest.raises(RpcServerError) as caught:
            await relay.get_status(INTENT_HASH)
    assert caught.value.http_status == 503
    assert caught.value.retryable
