"""The verifier's NEAR RPC endpoint over real HTTP, driven by ``nearintents.rpc.near``'s client:
views, simulate, a panicking view, unknown methods and transactions, ``tx`` with logs, blocks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from devnet.verifier import ManualClock, RpcServer, ThreadedRpcServer, Verifier, VerifierConfig
from devnet.verifier.events import parse_log
from devnet.verifier.testing import Signer, token_diff, transfer
from nearintents.encoding import b64decode
from nearintents.rpc import (
    HttpNearRpc,
    RpcServerError,
    UnknownTransaction,
    VerifierViews,
    ViewCallError,
)

USDC = "nep141:usdc.near"
WNEAR = "nep141:wrap.near"
alice = Signer.ed25519("alice")
bob = Signer.ed25519("bob")

pytestmark = pytest.mark.devnet


@pytest.fixture
def verifier() -> Iterator[Verifier]:
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    with Verifier.open(clock=clock, config=VerifierConfig(fee=1)) as v:
        v.deposit(alice.account_id, USDC, 1_000).ensure_success()
        yield v


@pytest.fixture
async def rpc(verifier: Verifier) -> AsyncIterator[HttpNearRpc]:
    async with RpcServer(verifier) as server, HttpNearRpc(server.url, timeout=5) as client:
        yield client


async def test_views(verifier: Verifier, rpc: HttpNearRpc) -> None:
    views = VerifierViews(rpc)
    assert await views.mt_balance_of(alice.account_id, USDC) == 1_000
    assert await views.mt_batch_balance_of(alice.account_id, [USDC, WNEAR]) == [1_000, 0]
    assert (await views.current_salt()).hex() == verifier.current_salt()
    assert await views.is_valid_salt(bytes.fromhex(verifier.current_salt()))
    assert not await views.is_valid_salt(b"\x00\x00\x00\x00")
    assert await views.fee() == 1
    assert await views.fee_collector() == verifier.fee_collector()
    assert await views.public_keys_of(alice.account_id) == [alice.public_key]
    assert await views.has_public_key(alice.account_id, alice.public_key)
    assert not await views.is_nonce_used(alice.account_id, bytes(32))
    assert await rpc.view("usdc.near", "ft_balance_of", {"account_id": verifier.account_id}) == (
        "1000"
    )
    metadata = await rpc.view("wrap.near", "ft_metadata")
    assert metadata["decimals"] == 24


async def test_simulate_intents(verifier: Verifier, rpc: HttpNearRpc) -> None:
    signed = [alice.sign(verifier, [token_diff({USDC: -100, WNEAR: 99})])]
    result = await VerifierViews(rpc).simulate_intents(signed)
    assert result.invariant_violated is not None
    # fee = 1 pip: ceil(100 * 1 / 1e6) = 1 goes to the collector, so only -99 is unmatched.
    assert result.invariant_violated.unmatched_deltas == {USDC: -99, WNEAR: 99}
    assert result.state.fee == 1
    assert result.intents_executed[0].account_id == alice.account_id
    assert result.min_deadline == datetime(2030, 1, 1, 0, 1, tzinfo=UTC)


async def test_a_panicking_view_is_a_view_call_error(verifier: Verifier, rpc: HttpNearRpc) -> None:
    signed = [alice.sign(verifier, [transfer(bob.account_id, {USDC: 5_000})])]
    with pytest.raises(ViewCallError) as raised:
        await VerifierViews(rpc).simulate_intents(signed)
    assert raised.value.message == "insufficient balance or overflow"
    assert raised.value.cause_name == "CONTRACT_EXECUTION_ERROR"
    assert raised.value.cause_info["vm_error"] == (
        'wasm execution failed with error: FunctionCallError(ExecutionError("Smart contract '
        'panicked: insufficient balance or overflow"))'
    )


async def test_bad_view_arguments_and_unknown_methods(rpc: HttpNearRpc) -> None:
    with pytest.raises(ViewCallError, match="Failed to deserialize input from JSON"):
        await rpc.view("intents.near", "mt_balance_of", {"account_id": "x.near"})
    with pytest.raises(ViewCallError) as raised:
        await rpc.view("intents.near", "no_such_method")
    assert "MethodResolveError(MethodNotFound)" in raised.value.cause_info["vm_error"]
    with pytest.raises(RpcServerError) as unknown:
        await rpc.view("nobody.near", "ft_balance_of", {"account_id": "x.near"})
    assert unknown.value.cause_name == "UNKNOWN_ACCOUNT"


async def test_tx_status_with_logs(verifier: Verifier, rpc: HttpNearRpc) -> None:
    signed = [alice.sign(verifier, [transfer(bob.account_id, {USDC: 10}, memo="hi")])]
    record = verifier.execute_intents(signed, sender_id="relay.near").ensure_success()
    outcome = await rpc.tx_status(record.hash, "relay.near")
    assert outcome.succeeded
    assert outcome.transaction is not None
    assert outcome.transaction.hash == record.hash
    assert outcome.transaction.receiver_id == verifier.account_id
    assert outcome.logs == record.logs
    executed = [parse_log(line) for line in outcome.logs]
    assert [e["event"] for e in executed if e] == ["transfer", "intents_executed", "mt_transfer"]

    replay = verifier.execute_intents(signed, sender_id="relay.near")
    failed = await rpc.tx_status(replay.hash, "relay.near")
    assert not failed.succeeded
    assert failed.failure == {
        "ActionError": {
            "index": 0,
            "kind": {
                "FunctionCallError": {
                    "ExecutionError": "Smart contract panicked: nonce was already used"
                }
            },
        }
    }


async def test_ft_transfer_call_status_value(verifier: Verifier, rpc: HttpNearRpc) -> None:
    verifier.faucet_ft("usdc.near", "user.near", 10).ensure_success()
    record = verifier.ft_transfer_call("user.near", "usdc.near", verifier.account_id, 10)
    outcome = await rpc.tx_status(record.hash, "user.near")
    assert outcome.status is not None
    assert outcome.status.success_value == b'"10"'


async def test_unknown_transaction(rpc: HttpNearRpc, verifier: Verifier) -> None:
    with pytest.raises(UnknownTransaction):
        await rpc.tx_status("11111111111111111111111111111111", "relay.near")
    record = verifier.execute_intents([], sender_id="relay.near")
    with pytest.raises(UnknownTransaction):  # known hash, wrong sender
        await rpc.tx_status(record.hash, "someone-else.near")


async def test_block_follows_the_ledger_clock(verifier: Verifier) -> None:
    async with RpcServer(verifier) as server, httpx.AsyncClient() as http:

        async def call(method: str, params: object) -> httpx.Response:
            body = {"jsonrpc": "2.0", "id": "1", "method": method, "params": params}
            return await http.post(server.url, json=body)

        first = (await call("block", {"finality": "final"})).json()["result"]
        assert isinstance(verifier.clock, ManualClock)
        verifier.clock.advance(seconds=5)
        second = (await call("block", {"finality": "final"})).json()["result"]
        assert second["header"]["height"] == first["header"]["height"] + 1
        assert second["header"]["prev_hash"] == first["header"]["hash"]
        assert int(second["header"]["timestamp_nanosec"]) == verifier.clock.now_ns()
        by_height = (await call("block", {"block_id": first["header"]["height"]})).json()
        assert by_height["result"]["header"]["hash"] == first["header"]["hash"]

        missing = await call("no_such_method", {})
        assert missing.status_code == 400
        assert missing.json()["error"]["cause"]["name"] == "METHOD_NOT_FOUND"

        signed = [alice.sign(verifier, [])]
        record = verifier.execute_intents(signed, sender_id="relay.near")
        experimental = (await call("EXPERIMENTAL_tx_status", [record.hash, "relay.near"])).json()
        receipts = experimental["result"]["receipts"]
        assert receipts[0]["receiver_id"] == verifier.account_id
        call_args = receipts[0]["receipt"]["Action"]["actions"][0]["FunctionCall"]["args"]
        assert b64decode(call_args).startswith(b'{"signed":')


def test_threaded_server_for_synchronous_callers(verifier: Verifier) -> None:
    with ThreadedRpcServer(verifier) as server:
        body = {"jsonrpc": "2.0", "id": 7, "method": "status", "params": []}
        answer = httpx.post(server.url, json=body, timeout=5).json()
    assert answer["id"] == 7
    assert answer["result"]["chain_id"] == "devnet"
