"""Signed NEAR transactions over the devnet's NEAR RPC, over real HTTP: ``view_access_key``,
``send_tx`` and ``broadcast_tx_commit`` (nearcore's parameter forms), ``tx`` by the signed hash,
and an ``INVALID_TRANSACTION`` error for a reused nonce."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import py_near_primitives as npp  # type: ignore[import-untyped]
import pytest

from devnet.verifier import ManualClock, RpcServer, Verifier, VerifierConfig
from devnet.verifier.near_tokens import ONE_NEAR
from nearintents.encoding import b58decode, b58encode
from nearintents.keys import Ed25519SecretKey
from nearintents.near_tx import FunctionCall, sign_transaction
from nearintents.rpc import HttpNearRpc, RpcServerError, TxExecutionStatus, VerifierViews

pytestmark = pytest.mark.devnet

KEY = Ed25519SecretKey(hashlib.sha256(b"carol").digest())
PUBLIC_KEY = "ed25519:" + b58encode(KEY.public_key.data)
CAROL = "carol.near"


@pytest.fixture
def verifier() -> Iterator[Verifier]:
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    with Verifier.open(clock=clock, config=VerifierConfig(fee=1)) as v:
        v.faucet_near(CAROL, 5 * ONE_NEAR).ensure_success()
        v.add_access_key(CAROL, PUBLIC_KEY).ensure_success()
        yield v


@pytest.fixture
async def url(verifier: Verifier) -> AsyncIterator[str]:
    async with RpcServer(verifier) as server:
        yield server.url


async def rpc(url: str, method: str, params: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as http:
        body = {"jsonrpc": "2.0", "id": "x", "method": method, "params": params}
        answer: dict[str, Any] = (await http.post(url, json=body)).json()
    return answer


def signed_transfer(receiver: str, nonce: int, block_hash: str) -> str:
    tx = npp.Transaction(CAROL, KEY.public_key.data, nonce, receiver, b58decode(block_hash),
                         [npp.TransferAction(ONE_NEAR)])  # fmt: skip
    signature = KEY.sign(hashlib.sha256(bytes(tx.serialize())).digest()).data
    return base64.b64encode(bytes(npp.SignedTransaction(signature, tx).serialize())).decode()


async def test_a_wallet_signs_and_sends_with_the_nonce_it_reads(url: str) -> None:
    view = {"request_type": "view_access_key", "finality": "final", "account_id": CAROL,
            "public_key": PUBLIC_KEY}  # fmt: skip
    key = (await rpc(url, "query", view))["result"]
    assert key["permission"] == "FullAccess"
    receiver = "d" * 64
    sent = await rpc(url, "send_tx", {"signed_tx_base64": signed_transfer(
        receiver, key["nonce"] + 1, key["block_hash"]), "wait_until": "FINAL"})  # fmt: skip
    outcome = sent["result"]
    assert outcome["status"] == {"SuccessValue": ""}
    tx_hash = outcome["transaction"]["hash"]
    async with HttpNearRpc(url, timeout=5) as client:
        found = await client.tx_status(tx_hash, CAROL)
        assert found.succeeded
        assert await client.account_exists(receiver)
    assert (await rpc(url, "query", view))["result"]["nonce"] == key["nonce"] + 1

    replay = signed_transfer(receiver, key["nonce"] + 1, key["block_hash"])
    again = await rpc(url, "broadcast_tx_commit", [replay])  # the same bytes: the same outcome
    assert again["result"]["transaction"]["hash"] == tx_hash
    other = signed_transfer("e" * 64, key["nonce"] + 1, key["block_hash"])
    reused = await rpc(url, "broadcast_tx_commit", [other])
    assert reused["error"]["cause"]["name"] == "INVALID_TRANSACTION"
    assert "must be larger than nonce" in json.dumps(reused["error"])


async def test_bytes_that_are_not_a_transaction_are_a_parse_error(url: str) -> None:
    answer = await rpc(url, "send_tx", {"signed_tx_base64": base64.b64encode(b"nope").decode()})
    assert answer["error"]["cause"]["name"] == "PARSE_ERROR"
    missing = {"request_type": "view_access_key", "finality": "final", "account_id": CAROL,
               "public_key": "ed25519:" + b58encode(bytes(32))}  # fmt: skip
    assert (await rpc(url, "query", missing))["error"]["cause"]["name"] == "UNKNOWN_ACCESS_KEY"


async def test_the_library_signs_an_ft_transfer_call_the_devnet_executes(
    verifier: Verifier, url: str
) -> None:
    """nearintents' own client: read the key's nonce, sign with nearcore's types, send_tx."""
    verifier.faucet_ft("usdc.near", CAROL, 900).ensure_success()
    async with HttpNearRpc(url, timeout=5) as client:
        nonce, block_hash = await client.access_key(CAROL, PUBLIC_KEY)
        call = FunctionCall("ft_transfer_call", {"receiver_id": verifier.account_id,
                            "amount": "900", "msg": ""}, deposit=1)  # fmt: skip
        signed = sign_transaction(KEY, CAROL, "usdc.near", nonce + 1, block_hash, [call])
        outcome = await client.send_tx(signed.base64, wait_until=TxExecutionStatus.FINAL)
        assert outcome.succeeded
        assert outcome.transaction is not None
        assert outcome.transaction.hash == signed.hash
        assert await VerifierViews(client).mt_balance_of(CAROL, "nep141:usdc.near") == 900
        stale = sign_transaction(KEY, CAROL, "usdc.near", nonce + 1, block_hash,
                                 [FunctionCall("near_deposit", {}, deposit=1)])  # fmt: skip
        with pytest.raises(RpcServerError) as refused:  # the same nonce, other bytes
            await client.send_tx(stale.base64)
        assert refused.value.cause_name == "INVALID_TRANSACTION"


async def test_a_signer_that_cannot_pay_for_gas_is_refused_like_nearcore(
    url: str, verifier: Verifier
) -> None:
    """nearcore's ``InvalidTxError::NotEnoughBalance`` over RPC: a transfer of all carol holds
    leaves nothing for its gas. Then one she can pay: it burns gas, shown in the outcome and
    read back from her balance."""
    view = {"request_type": "view_access_key", "finality": "final", "account_id": CAROL,
            "public_key": PUBLIC_KEY}  # fmt: skip
    key = (await rpc(url, "query", view))["result"]
    everything = [npp.TransferAction(5 * ONE_NEAR)]
    tx = npp.Transaction(CAROL, KEY.public_key.data, key["nonce"] + 1, "e" * 64,
                         b58decode(key["block_hash"]), everything)  # fmt: skip
    signature = KEY.sign(hashlib.sha256(bytes(tx.serialize())).digest()).data
    data = base64.b64encode(bytes(npp.SignedTransaction(signature, tx).serialize())).decode()
    refused = await rpc(url, "send_tx", {"signed_tx_base64": data})
    cause = refused["error"]["cause"]
    assert cause["name"] == "INVALID_TRANSACTION"
    shortfall = cause["info"]["TxExecutionError"]["InvalidTxError"]["NotEnoughBalance"]
    assert shortfall["signer_id"] == CAROL
    assert shortfall["balance"] == str(5 * ONE_NEAR)
    assert int(shortfall["cost"]) > 5 * ONE_NEAR
    async with HttpNearRpc(url, timeout=5) as client:
        assert await client.native_balance(CAROL) == 5 * ONE_NEAR  # nothing charged
        assert await client.native_balance("e" * 64) is None
    sent = await rpc(url, "send_tx", {"signed_tx_base64": signed_transfer(
        "e" * 64, key["nonce"] + 1, key["block_hash"]), "wait_until": "FINAL"})  # fmt: skip
    burnt = int(sent["result"]["transaction_outcome"]["outcome"]["tokens_burnt"])
    assert burnt > 0
    assert verifier.native_balance(CAROL) == 4 * ONE_NEAR - burnt
