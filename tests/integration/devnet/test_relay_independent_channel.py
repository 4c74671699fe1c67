"""Distribution channels written independently of our code settle against the devnet relay: one
built on the official ``@defuse-protocol/intents-sdk`` (``tests/conformance/intents_sdk/
channel.mjs``), and a minimal one below.

The channel below imports neither ``oneclick`` nor ``nearintents``: it speaks the relay's
JSON-RPC with httpx, signs NEP-413 with PyNaCl from the documented byte layout, reads balances
back through the verifier's NEAR RPC, and signs the relay's answer VERBATIM, as the official
SDKs do (sdk-monorepo ``packages/intents-sdk/src/bridges/direct-bridge/direct-bridge.ts``:
``{[assetIn]: "-amount_in", [assetOut]: amount_out}``). At the verifier's fee of 1 and 100 pips
the batch must settle and the channel be paid exactly ``amount_out`` for exactly ``amount_in``;
on the relay before issue 12 it failed with ``unmatched_deltas``.

NEP-413 (near/NEPs ``neps/nep-0413.md``; docs.near-intents.org "Signing intents"): the signed
bytes are ``sha256(borsh(tag: u32 = 2**31 + 413, message: string, nonce: [u8; 32],
recipient: string, callback_url: Option<string>))``; borsh strings are a little-endian u32
length then UTF-8; ``None`` is one zero byte.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import struct
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import base58
import httpx
import nacl.signing
import pytest

from devnet.relay.testing import USDC, WNEAR, World, relay_world

pytestmark = pytest.mark.devnet

REPO_ROOT = Path(__file__).resolve().parents[3]
SDK_CHANNEL = REPO_ROOT / "tests" / "conformance" / "intents_sdk" / "channel.mjs"

NEAR = 10**24
USDC_UNIT = 10**6
NEP413_TAG = 2**31 + 413


def _borsh_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<I", len(data)) + data


@dataclass
class Channel:
    """A minimal channel: one implicit NEAR account, quotes, verbatim signing, publishing."""

    relay_url: str
    near_rpc_url: str
    verifying_contract: str
    http: httpx.AsyncClient
    key: nacl.signing.SigningKey

    @property
    def account_id(self) -> str:
        return bytes(self.key.verify_key).hex()  # an implicit account owns its key

    async def _rpc(self, url: str, method: str, params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": "channel", "method": method, "params": params}
        answer = (await self.http.post(url, json=body)).json()
        assert "error" not in answer, answer
        return answer["result"]

    async def quote(self, asset_in: str, asset_out: str, **exact: str) -> dict[str, Any]:
        params = {"defuse_asset_identifier_in": asset_in, "defuse_asset_identifier_out": asset_out,
                  "min_deadline_ms": 60_000, "wait_ms": 5_000, **exact}  # fmt: skip
        quotes = await self._rpc(self.relay_url, "quote", [params])
        offers = [q for q in quotes or [] if "quote_hash" in q]
        assert offers, f"no quote: {quotes}"
        return offers[0]  # the relay ranks best first

    def sign(self, intents: list[dict[str, Any]]) -> dict[str, Any]:
        deadline = datetime.now(UTC) + timedelta(minutes=2)
        message = json.dumps(
            {
                "signer_id": self.account_id,
                "deadline": deadline.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "intents": intents,
            },
            separators=(",", ":"),
        )
        nonce = os.urandom(32)
        signed_bytes = (
            struct.pack("<I", NEP413_TAG)
            + _borsh_string(message)
            + nonce
            + _borsh_string(self.verifying_contract)
            + b"\x00"  # callback_url: None
        )
        signature = self.key.sign(hashlib.sha256(signed_bytes).digest()).signature
        return {
            "standard": "nep413",
            "payload": {
                "message": message,
                "nonce": base64.b64encode(nonce).decode(),
                "recipient": self.verifying_contract,
            },
            "public_key": "ed25519:" + base58.b58encode(bytes(self.key.verify_key)).decode(),
            "signature": "ed25519:" + base58.b58encode(signature).decode(),
        }

    async def take(self, quote: dict[str, Any]) -> dict[str, Any]:
        """Sign the quote verbatim, publish it with its hash, wait for the relay's verdict."""
        diff = {
            quote["defuse_asset_identifier_in"]: "-" + quote["amount_in"],
            quote["defuse_asset_identifier_out"]: quote["amount_out"],
        }
        signed = self.sign([{"intent": "token_diff", "diff": diff}])
        published = await self._rpc(
            self.relay_url,
            "publish_intent",
            [{"quote_hashes": [quote["quote_hash"]], "signed_data": signed}],
        )
        assert published["status"] == "OK", published
        async with asyncio.timeout(10):
            while True:
                status = await self._rpc(
                    self.relay_url, "get_status", [{"intent_hash": published["intent_hash"]}]
                )
                if status["status"] in ("SETTLED", "NOT_FOUND_OR_NOT_VALID"):
                    return dict(status)
                await asyncio.sleep(0.02)

    async def balance(self, token_id: str) -> int:
        args = json.dumps({"account_id": self.account_id, "token_id": token_id}).encode()
        result = await self._rpc(
            self.near_rpc_url,
            "query",
            {
                "request_type": "call_function",
                "finality": "final",
                "account_id": self.verifying_contract,
                "method_name": "mt_balance_of",
                "args_base64": base64.b64encode(args).decode(),
            },
        )
        return int(json.loads(bytes(result["result"])))


@pytest.fixture(params=[1, 100], ids=lambda fee: f"{fee}-pips")
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    # The channel dates its intents by system time: the verifier's clock must be now.
    async with relay_world(fee_pips=request.param, start=time.time_ns()) as w:
        await w.add_solver("maker", spread_bps=10, balances={WNEAR: 1_000 * NEAR})
        yield w


@pytest.fixture
async def channel(world: World) -> AsyncIterator[Channel]:
    async with httpx.AsyncClient(timeout=10) as http:
        ch = Channel(
            world.relay_server.url,
            world.near_rpc_url,
            world.verifier.account_id,
            http,
            nacl.signing.SigningKey.generate(),
        )
        world.verifier.deposit(ch.account_id, USDC, 1_000 * USDC_UNIT).ensure_success()
        yield ch


async def _settles_exactly(channel: Channel, quote: dict[str, Any]) -> None:
    before = (await channel.balance(USDC), await channel.balance(WNEAR))
    status = await channel.take(quote)
    assert status["status"] == "SETTLED", status
    after = (await channel.balance(USDC), await channel.balance(WNEAR))
    assert after[0] == before[0] - int(quote["amount_in"])
    assert after[1] == before[1] + int(quote["amount_out"])


async def test_exact_in_signed_verbatim_pays_exactly_amount_out(channel: Channel) -> None:
    amount_in = str(30 * USDC_UNIT + 7)  # an odd amount: the fee rounds up
    quote = await channel.quote(USDC, WNEAR, exact_amount_in=amount_in)
    assert quote["amount_in"] == amount_in  # the request's exact amount stays exact
    await _settles_exactly(channel, quote)


async def test_exact_out_signed_verbatim_pays_exactly_amount_out(channel: Channel) -> None:
    amount_out = str(7 * NEAR + 123_456_789)
    quote = await channel.quote(USDC, WNEAR, exact_amount_out=amount_out)
    assert quote["amount_out"] == amount_out
    await _settles_exactly(channel, quote)


@pytest.mark.parametrize(
    ("mode", "amount", "exact"),
    [("--exact-in", 30 * USDC_UNIT + 7, "amount_in"), ("--exact-out", 7 * NEAR + 1, "amount_out")],
)
async def test_the_official_intents_sdk_signs_the_quote_verbatim_and_is_paid_exactly(
    world: World, channel: Channel, mode: str, amount: int, exact: str
) -> None:
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"
    before = (await channel.balance(USDC), await channel.balance(WNEAR))
    done = await asyncio.to_thread(
        subprocess.run,
        [node, str(SDK_CHANNEL), world.relay_server.url.removesuffix("/rpc"), world.near_rpc_url,
         world.verifier.account_id, bytes(channel.key).hex(), USDC, WNEAR, mode, str(amount)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    quote = answer["quote"]
    assert quote[exact] == str(amount)  # the request's exact amount stays exact
    tx = world.verifier.tx(answer["txHash"])
    assert tx is not None
    assert tx.succeeded
    after = (await channel.balance(USDC), await channel.balance(WNEAR))
    assert after[0] == before[0] - int(quote["amount_in"])
    assert after[1] == before[1] + int(quote["amount_out"])
