"""HttpNearRpc and VerifierViews against a real local server answering like a NEAR RPC node."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from nearintents.encoding import b58encode
from nearintents.rpc import (
    Finality,
    HttpNearRpc,
    RpcMalformedResponse,
    RpcServerError,
    RpcTimeout,
    TxExecutionStatus,
    UnknownTransaction,
    VerifierViews,
    ViewCallError,
)


def b58hash(seed: str) -> str:
    return b58encode(hashlib.sha256(seed.encode()).digest())


BLOCK_HASH = b58hash("block")
TX_HASH = b58hash("tx")
INTENT_HASH = b58hash("intent")
NONCE = base64.b64encode(bytes(range(32))).decode()
ACCOUNT = "alice.near"


def view_result(value: Any, logs: list[str] | None = None) -> dict[str, Any]:
    """A ``call_function`` result carrying ``value`` as its JSON return value."""
    raw = json.dumps(value).encode()
    return {"result": list(raw), "logs": logs or [], "block_height": 17, "block_hash": BLOCK_HASH}


def args_of(body: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(body["params"]["args_base64"]))


def serve_views(rpc_server, answers: dict[str, Any]) -> None:
    """Answer ``query`` per ``method_name`` with the JSON value in ``answers``."""

    def handler(req: dict[str, Any]) -> Any:
        value = answers[req["params"]["method_name"]]
        return {"jsonrpc": "2.0", "id": req["id"], "result": view_result(value)}

    rpc_server.on("query", handler)


PANIC_VM_ERROR = (
    'wasm execution failed with error: FunctionCallError(ExecutionError("Smart contract '
    'panicked: invalid salt"))'
)


# --- call_function / view ---


async def test_call_function_sends_a_query_with_object_params(rpc_server):
    rpc_server.result("query", view_result("1000", logs=["hello"]))
    async with HttpNearRpc(rpc_server.url) as near:
        raw = await near.call_function(
            "intents.near", "mt_balance_of", {"account_id": ACCOUNT, "token_id": "nep141:a.near"}
        )
    assert raw == b'"1000"'
    (body,) = rpc_server.calls("query")
    params = body["params"]
    assert isinstance(params, dict)  # NEAR RPC takes an object, not an array
    assert {k: v for k, v in params.items() if k != "args_base64"} == {
        "request_type": "call_function",
        "finality": "final",
        "account_id": "intents.near",
        "method_name": "mt_balance_of",
    }
    assert args_of(body) == {"account_id": ACCOUNT, "token_id": "nep141:a.near"}


async def test_call_function_result_keeps_logs_and_block(rpc_server):
    rpc_server.result("query", view_result(True, logs=["a", "b"]))
    async with HttpNearRpc(rpc_server.url) as near:
        outcome = await near.call_function_result("c.near", "m", finality=Finality.OPTIMISTIC)
    assert outcome.result == b"true"
    assert outcome.logs == ("a", "b")
    assert (outcome.block_height, outcome.block_hash) == (17, BLOCK_HASH)
    body = rpc_server.calls("query")[0]
    assert body["params"]["finality"] == "optimistic"
    assert args_of(body) == {}


async def test_view_decodes_the_json_return_value(rpc_server):
    rpc_server.result("query", view_result({"big": 2**100, "list": [1, "2"]}))
    async with HttpNearRpc(rpc_server.url) as near:
        assert await near.view("c.near", "m") == {"big": 2**100, "list": [1, "2"]}


async def test_view_of_nothing_is_none(rpc_server):
    rpc_server.result(
        "query", {"result": [], "logs": [], "block_height": 1, "block_hash": BLOCK_HASH}
    )
    async with HttpNearRpc(rpc_server.url) as near:
        assert await near.view("c.near", "m") is None


async def test_view_returning_bytes_that_are_not_json_is_malformed(rpc_server):
    rpc_server.result(
        "query",
        {"result": list(b"\x00\x01"), "logs": [], "block_height": 1, "block_hash": BLOCK_HASH},
    )
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(RpcMalformedResponse, match="not JSON"):
            await near.view("c.near", "m")


@pytest.mark.parametrize(
    "result",
    [
        {"result": [256], "logs": [], "block_height": 1, "block_hash": BLOCK_HASH},
        {"result": [-1], "logs": [], "block_height": 1, "block_hash": BLOCK_HASH},
        {"result": "AAE=", "logs": [], "block_height": 1, "block_hash": BLOCK_HASH},
        {"result": [1], "logs": [], "block_height": 1},
        {"logs": [], "block_height": 1, "block_hash": BLOCK_HASH},
        {"result": [1], "error": "x", "logs": [], "block_height": 1, "block_hash": BLOCK_HASH},
    ],
)
async def test_call_function_results_of_the_wrong_shape_are_malformed(rpc_server, result):
    rpc_server.result("query", result)
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(RpcMalformedResponse):
            await near.call_function("c.near", "m")


async def test_a_contract_panic_as_a_json_rpc_error(rpc_server):
    error = {
        "name": "HANDLER_ERROR",
        "cause": {
            "name": "CONTRACT_EXECUTION_ERROR",
            "info": {"vm_error": PANIC_VM_ERROR, "block_height": 17, "block_hash": BLOCK_HASH},
        },
        "code": -32000,
        "message": "Server error",
        "data": "Function call returned an error: " + PANIC_VM_ERROR,
    }
    rpc_server.error("query", error)
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(ViewCallError) as caught:
            await near.view("intents.near", "simulate_intents", {"signed": []})
    err = caught.value
    assert err.message == "invalid salt"
    assert err.method == "simulate_intents"
    assert err.cause_name == "CONTRACT_EXECUTION_ERROR"
    assert not err.retryable
    assert isinstance(err, RpcServerError)
    assert isinstance(err.__cause__, RpcServerError)


async def test_a_contract_panic_in_result_error_on_older_nodes(rpc_server):
    old = (
        "wasm execution failed with error: FunctionCallError(HostError(GuestPanic { panic_msg: "
        '"nonce was already used" }))'
    )
    rpc_server.result(
        "query", {"error": old, "logs": [], "block_height": 3, "block_hash": BLOCK_HASH}
    )
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(ViewCallError) as caught:
            await near.call_function("intents.near", "simulate_intents")
    assert caught.value.message == "nonce was already used"
    assert caught.value.data == old


async def test_a_json_panic_is_unescaped_from_the_rust_debug_wrapper(rpc_server):
    # A node formats the VM error with Rust's {:?}: quotes inside the message arrive escaped.
    message = (
        'invariant violated: {"error":"unmatched_deltas",'
        '"unmatched_deltas":{"nep141:a.near":"-100"}}'
    )
    escaped = message.replace("\\", "\\\\").replace('"', '\\"')
    vm_error = (
        'wasm execution failed with error: FunctionCallError(ExecutionError("Smart contract '
        f'panicked: {escaped}"))'
    )
    rpc_server.error(
        "query",
        {
            "name": "HANDLER_ERROR",
            "cause": {"name": "CONTRACT_EXECUTION_ERROR", "info": {"vm_error": vm_error}},
            "code": -32000,
            "message": "Server error",
            "data": vm_error,
        },
    )
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(ViewCallError) as caught:
            await near.view("intents.near", "simulate_intents", {"signed": []})
    assert caught.value.message == message


async def test_a_contract_panic_in_a_legacy_error_without_cause(rpc_server):
    rpc_server.error(
        "query", {"code": -32000, "message": "Server error", "data": "wasm execution failed: boom"}
    )
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(ViewCallError) as caught:
            await near.call_function("intents.near", "fee")
    assert caught.value.message == "wasm execution failed: boom"


async def test_other_query_errors_stay_server_errors(rpc_server):
    error = {
        "name": "HANDLER_ERROR",
        "cause": {"name": "UNKNOWN_ACCOUNT", "info": {"requested_account_id": "nobody.near"}},
        "code": -32000,
        "message": "Server error",
        "data": "account nobody.near does not exist while viewing",
    }
    rpc_server.error("query", error)
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(RpcServerError) as caught:
            await near.call_function("nobody.near", "fee")
    assert type(caught.value) is RpcServerError
    assert caught.value.cause_name == "UNKNOWN_ACCOUNT"


async def test_a_slow_node_times_out(rpc_server):
    rpc_server.hang("query")
    async with HttpNearRpc(rpc_server.url, timeout=0.2) as near:
        with pytest.raises(RpcTimeout):
            await near.call_function("intents.near", "fee")


async def test_api_key_headers_reach_the_node(rpc_server):
    rpc_server.result("query", view_result(1))
    async with HttpNearRpc(rpc_server.url, api_key="node-key") as near:
        await near.view("intents.near", "fee")
    assert rpc_server.last.headers["authorization"] == "Bearer node-key"
    assert rpc_server.last.headers["x-api-key"] == "node-key"


# --- tx ---

TX_RESULT = {
    "final_execution_status": "FINAL",
    "status": {"SuccessValue": base64.b64encode(b'"42"').decode()},
    "transaction": {
        "signer_id": "relay.near",
        "public_key": "ed25519:Gowpa4kXNyTMRKgt5W7147pmcc2PxiFic8UHW9rsNvJ6",
        "nonce": 13,
        "receiver_id": "intents.near",
        "actions": [
            {
                "FunctionCall": {
                    "method_name": "execute_intents",
                    "args": "e30=",
                    "gas": 300000000000000,
                    "deposit": "0",
                }
            }
        ],
        "signature": "ed25519:7oCBMfSHrZkT7tzPDBxxCd3tWFhTES38eks3MCZMpYPJRfPWKxJsvm"
        "wQiVBBxRLoxPTnXVaMU2jPV3MdFKZTobH",
        "hash": TX_HASH,
    },
    "transaction_outcome": {
        "proof": [],
        "block_hash": BLOCK_HASH,
        "id": TX_HASH,
        "outcome": {
            "logs": [],
            "receipt_ids": [b58hash("r1")],
            "gas_burnt": 223182562500,
            "tokens_burnt": "22318256250000000000",
            "executor_id": "relay.near",
            "status": {"SuccessReceiptId": b58hash("r1")},
        },
    },
    "receipts_outcome": [
        {
            "proof": [],
            "block_hash": BLOCK_HASH,
            "id": b58hash("r1"),
            "outcome": {
                "logs": [
                    'EVENT_JSON:{"standard":"dip4","version":"0.4.3","event":"token_diff","data":[]}',
                    'EVENT_JSON:{"standard":"dip4","version":"0.4.3","event":"intents_executed","data":[]}',
                ],
                "receipt_ids": [],
                "gas_burnt": 1,
                "tokens_burnt": "0",
                "executor_id": "intents.near",
                "status": {"SuccessValue": ""},
                "metadata": {"version": 3, "gas_profile": []},
            },
        }
    ],
}


async def test_tx_status_parses_outcomes_and_logs(rpc_server):
    rpc_server.result("tx", TX_RESULT)
    async with HttpNearRpc(rpc_server.url) as near:
        outcome = await near.tx_status(TX_HASH, "relay.near", wait_until=TxExecutionStatus.FINAL)
    assert outcome.final_execution_status is TxExecutionStatus.FINAL
    assert outcome.succeeded
    assert outcome.failure is None
    assert outcome.status is not None
    assert outcome.status.success_value == b'"42"'
    assert outcome.transaction is not None
    assert outcome.transaction.receiver_id == "intents.near"
    assert [line.split('"event":"')[1].split('"')[0] for line in outcome.logs] == [
        "token_diff",
        "intents_executed",
    ]
    assert outcome.receipts_outcome[0].outcome.tokens_burnt == 0
    assert rpc_server.calls("tx")[0]["params"] == {
        "tx_hash": TX_HASH,
        "sender_account_id": "relay.near",
        "wait_until": "FINAL",
    }


async def test_tx_status_default_wait_is_executed_optimistic(rpc_server):
    rpc_server.result("tx", TX_RESULT)
    async with HttpNearRpc(rpc_server.url) as near:
        await near.tx_status(TX_HASH, "relay.near")
    assert rpc_server.calls("tx")[0]["params"]["wait_until"] == "EXECUTED_OPTIMISTIC"


async def test_tx_status_failure(rpc_server):
    failure = {
        "ActionError": {
            "index": 0,
            "kind": {
                "FunctionCallError": {
                    "ExecutionError": "Smart contract panicked: deadline has expired"
                }
            },
        }
    }
    rpc_server.result("tx", {**TX_RESULT, "status": {"Failure": failure}})
    async with HttpNearRpc(rpc_server.url) as near:
        outcome = await near.tx_status(TX_HASH, "relay.near")
    assert not outcome.succeeded
    assert outcome.failure == failure


async def test_tx_status_when_only_included(rpc_server):
    rpc_server.result("tx", {"final_execution_status": "INCLUDED"})
    async with HttpNearRpc(rpc_server.url) as near:
        outcome = await near.tx_status(TX_HASH, "relay.near", wait_until=TxExecutionStatus.NONE)
    assert outcome.final_execution_status is TxExecutionStatus.INCLUDED
    assert outcome.status is None
    assert not outcome.succeeded
    assert outcome.logs == []


async def test_unknown_transaction(rpc_server):
    error = {
        "name": "HANDLER_ERROR",
        "cause": {"name": "UNKNOWN_TRANSACTION", "info": {"requested_transaction_hash": TX_HASH}},
        "code": -32000,
        "message": "Server error",
        "data": f"Transaction {TX_HASH} doesn't exist",
    }
    rpc_server.error("tx", error)
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(UnknownTransaction) as caught:
            await near.tx_status(TX_HASH, "relay.near")
    assert caught.value.retryable
    assert caught.value.cause_info == {"requested_transaction_hash": TX_HASH}


async def test_node_timeout_error_is_retryable(rpc_server):
    error = {
        "name": "TIMEOUT_ERROR",
        "cause": {"name": "TIMEOUT_ERROR"},
        "code": -32000,
        "message": "Server error",
        "data": "Timeout",
    }
    rpc_server.error("tx", error, status=408)
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(RpcServerError) as caught:
            await near.tx_status(TX_HASH, "relay.near")
    assert type(caught.value) is RpcServerError
    assert caught.value.retryable


@pytest.mark.parametrize(
    "result",
    [
        {**TX_RESULT, "transaction": {**TX_RESULT["transaction"], "hash": b58hash("other")}},
        {**TX_RESULT, "status": {"SuccessValue": "not base64!"}},
        {**TX_RESULT, "status": {"Success": ""}},
        {**TX_RESULT, "final_execution_status": "DONE"},
        {**TX_RESULT, "receipts_outcome": [{"id": "x"}]},
    ],
)
async def test_tx_results_that_do_not_validate_are_malformed(rpc_server, result):
    rpc_server.result("tx", result)
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(RpcMalformedResponse):
            await near.tx_status(TX_HASH, "relay.near")


# --- verifier views ---


async def test_balances(rpc_server):
    serve_views(
        rpc_server, {"mt_balance_of": "1000", "mt_batch_balance_of": ["1", "0", str(2**127)]}
    )
    async with HttpNearRpc(rpc_server.url) as near:
        views = VerifierViews(near)
        assert await views.mt_balance_of(ACCOUNT, "nep141:wrap.near") == 1000
        tokens = ["nep141:a.near", "nep141:b.near", "nep141:c.near"]
        assert await views.mt_batch_balance_of(ACCOUNT, tokens) == [1, 0, 2**127]
    single, batch = rpc_server.calls("query")
    assert single["params"]["account_id"] == "intents.near"
    assert args_of(single) == {"account_id": ACCOUNT, "token_id": "nep141:wrap.near"}
    assert args_of(batch) == {"account_id": ACCOUNT, "token_ids": tokens}


@pytest.mark.parametrize("value", [1.5, "01", "-1", None])
async def test_a_balance_that_does_not_validate_is_malformed(rpc_server, value):
    serve_views(rpc_server, {"mt_balance_of": value})
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(RpcMalformedResponse):
            await VerifierViews(near).mt_balance_of(ACCOUNT, "nep141:a.near")


async def test_a_batch_balance_of_the_wrong_length_is_malformed(rpc_server):
    serve_views(rpc_server, {"mt_batch_balance_of": ["1"]})
    async with HttpNearRpc(rpc_server.url) as near:
        views = VerifierViews(near)
        with pytest.raises(RpcMalformedResponse, match="1 balances for 2 tokens"):
            await views.mt_batch_balance_of(ACCOUNT, ["nep141:a.near", "nep141:b.near"])


async def test_salts_fees_and_keys(rpc_server):
    serve_views(
        rpc_server,
        {
            "current_salt": "252812b3",
            "is_valid_salt": True,
            "fee": 1,
            "fee_collector": "fees.near",
            "is_nonce_used": False,
            "public_keys_of": ["ed25519:Gowpa4kXNyTMRKgt5W7147pmcc2PxiFic8UHW9rsNvJ6"],
            "has_public_key": True,
        },
    )
    async with HttpNearRpc(rpc_server.url) as near:
        views = VerifierViews(near, "staging-intents.near", finality=Finality.OPTIMISTIC)
        assert await views.current_salt() == bytes.fromhex("252812b3")
        assert await views.is_valid_salt(bytes.fromhex("252812b3")) is True
        assert await views.fee() == 1
        assert await views.fee_collector() == "fees.near"
        assert await views.is_nonce_used(ACCOUNT, bytes(range(32))) is False
        assert await views.public_keys_of(ACCOUNT) == [
            "ed25519:Gowpa4kXNyTMRKgt5W7147pmcc2PxiFic8UHW9rsNvJ6"
        ]
        assert await views.has_public_key(ACCOUNT, "ed25519:abc") is True
    sent = {c["params"]["method_name"]: c for c in rpc_server.calls("query")}
    assert all(c["params"]["account_id"] == "staging-intents.near" for c in sent.values())
    assert all(c["params"]["finality"] == "optimistic" for c in sent.values())
    assert args_of(sent["is_valid_salt"]) == {"salt": "252812b3"}
    assert args_of(sent["is_nonce_used"]) == {"account_id": ACCOUNT, "nonce": NONCE}
    assert args_of(sent["has_public_key"]) == {"account_id": ACCOUNT, "public_key": "ed25519:abc"}
    assert args_of(sent["current_salt"]) == {}


@pytest.mark.parametrize(
    ("method", "value"),
    [
        ("current_salt", "252812"),
        ("current_salt", "zz2812b3"),
        ("is_valid_salt", "true"),
        ("fee", "1"),
        ("fee", 1_000_001),
        ("fee_collector", ""),
        ("public_keys_of", ["rsa:abc"]),
        ("has_public_key", 1),
    ],
)
async def test_view_values_that_do_not_validate_are_malformed(rpc_server, method, value):
    serve_views(rpc_server, {method: value})
    calls = {
        "current_salt": lambda v: v.current_salt(),
        "is_valid_salt": lambda v: v.is_valid_salt(b"\x00" * 4),
        "fee": lambda v: v.fee(),
        "fee_collector": lambda v: v.fee_collector(),
        "public_keys_of": lambda v: v.public_keys_of(ACCOUNT),
        "has_public_key": lambda v: v.has_public_key(ACCOUNT, "ed25519:abc"),
    }
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(RpcMalformedResponse) as caught:
            await calls[method](VerifierViews(near))
    assert caught.value.method == method


async def test_views_refuse_wrong_sized_salts_and_nonces(rpc_server):
    async with HttpNearRpc(rpc_server.url) as near:
        views = VerifierViews(near)
        with pytest.raises(ValueError, match="4 bytes"):
            await views.is_valid_salt(b"\x00" * 5)
        with pytest.raises(ValueError, match="32 bytes"):
            await views.is_nonce_used(ACCOUNT, b"\x00" * 31)
    assert rpc_server.received == []


SIMULATION = {
    "intents_executed": [
        {"intent_hash": INTENT_HASH, "account_id": "charlie.near", "nonce": NONCE}
    ],
    "logs": ['EVENT_JSON:{"standard":"dip4","version":"0.4.3","event":"token_diff","data":[]}'],
    "min_deadline": "2025-05-23T07:40:13.735337Z",
    "invariant_violated": {
        "error": "unmatched_deltas",
        "unmatched_deltas": {"nep141:usdc.near": "-100"},
    },
    "state": {"fee": 1, "current_salt": "252812b3"},
}


async def test_simulate_intents_parses_the_documented_output(rpc_server):
    serve_views(rpc_server, {"simulate_intents": SIMULATION})
    signed = [
        {
            "standard": "raw_ed25519",
            "payload": "{}",
            "public_key": "ed25519:x",
            "signature": "ed25519:y",
        }
    ]
    async with HttpNearRpc(rpc_server.url) as near:
        result = await VerifierViews(near).simulate_intents(signed)
    (executed,) = result.intents_executed
    assert (executed.intent_hash, executed.account_id, executed.nonce) == (
        INTENT_HASH,
        "charlie.near",
        NONCE,
    )
    assert result.min_deadline == datetime(2025, 5, 23, 7, 40, 13, 735337, tzinfo=UTC)
    assert result.invariant_violated is not None
    assert result.invariant_violated.unmatched_deltas == {"nep141:usdc.near": -100}
    assert result.state.fee == 1
    assert result.state.current_salt == bytes.fromhex("252812b3")
    assert len(result.logs) == 1
    assert args_of(rpc_server.calls("query")[0]) == {"signed": signed}


async def test_simulate_intents_balanced_has_no_violation(rpc_server):
    balanced = {k: v for k, v in SIMULATION.items() if k != "invariant_violated"}
    balanced["intents_executed"] = [{"account_id": "bob.near", "nonce": NONCE}]
    balanced["min_deadline"] = "2025-05-21T10:34:04.254392123Z"
    serve_views(rpc_server, {"simulate_intents": balanced})
    async with HttpNearRpc(rpc_server.url) as near:
        result = await VerifierViews(near).simulate_intents([])
    assert result.invariant_violated is None
    assert result.intents_executed[0].intent_hash is None
    assert result.min_deadline.tzinfo is not None


async def test_simulate_intents_overflow_violation(rpc_server):
    serve_views(
        rpc_server,
        {"simulate_intents": {**SIMULATION, "invariant_violated": {"error": "overflow"}}},
    )
    async with HttpNearRpc(rpc_server.url) as near:
        result = await VerifierViews(near).simulate_intents([])
    assert result.invariant_violated is not None
    assert result.invariant_violated.error == "overflow"
    assert result.invariant_violated.unmatched_deltas == {}


@pytest.mark.parametrize(
    "change",
    [
        {
            "invariant_violated": {
                "error": "unmatched_deltas",
                "unmatched_deltas": {"nep141:a.near": "-1.5"},
            }
        },
        {"invariant_violated": {"error": "unmatched_deltas"}},
        {"state": {"fee": 1, "current_salt": "2528"}},
        {"min_deadline": "2025-05-23T07:40:13"},
        {"intents_executed": [{"account_id": "a.near", "nonce": "short"}]},
    ],
)
async def test_simulation_outputs_that_do_not_validate_are_malformed(rpc_server, change):
    serve_views(rpc_server, {"simulate_intents": {**SIMULATION, **change}})
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(RpcMalformedResponse):
            await VerifierViews(near).simulate_intents([])


async def test_simulate_intents_panic_is_a_view_call_error(rpc_server):
    rpc_server.result(
        "query",
        {"error": PANIC_VM_ERROR, "logs": [], "block_height": 3, "block_hash": BLOCK_HASH},
    )
    async with HttpNearRpc(rpc_server.url) as near:
        with pytest.raises(ViewCallError, match="invalid salt"):
            await VerifierViews(near).simulate_intents([])
