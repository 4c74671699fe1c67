"""The swap pipeline on the real devnet world: ``oneclick up`` (devnet with anvil, the API, one
worker, SQLite) as a subprocess, then swaps one after the other, USDC on eth:1 → USDC on
Arbitrum, the way a user does them: a non-dry quote, a transfer on eth:1 to the deposit address
(control API ``/send``), ``/v0/deposit/submit``, then ``/v0/status`` polled every 50 ms.

Each swap's time from the transfer to SUCCESS is split by step: ``credit`` (transfer → PROCESSING:
the eth:1 confirmations, the bridge crediting the verifier, the engine seeing it), ``swap quote``
(PROCESSING → swap intent signed: a fresh quote from the solvers), ``swap settle`` (→ payout intent
signed: published through the relay, settled on the verifier), ``payout`` (→ SUCCESS: the bridge
withdraws on Arbitrum, the engine sees it delivered). Leg times come from the service's database
(``intents.created_at``), status times from the polls. The floor beside them is the chain's:
confirmations x the measured block time.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select

from oneclick.store.tables import intents, swaps

ETH_USDC = "nep141:eth-0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48.omft.near"
ARB_USDC = "nep141:arb-0xaf88d065e77c8cc2239327c5edb3a432268e5831.omft.near"
AMOUNT = "25000000"  # 25 USDC
START_TIMEOUT_S = 120.0
SWAP_TIMEOUT_S = 60.0
POLL_S = 0.05
STAGES = ("credit", "swap quote", "swap settle", "payout", "deposit → SUCCESS")


@dataclass
class Stack:
    api: str
    manifest: dict[str, Any]
    data_dir: Path

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, self.manifest["control"] + path, timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def wallet(self, chain: str, name: str) -> str:
        address: str = next(
            w["address"]
            for w in self.manifest["wallets"]
            if w["chain"] == chain and w["name"] == name
        )
        return address

    def head(self, chain: str) -> int:
        chains = self.control("GET", "/chains")["chains"]
        return int(next(c["head"] for c in chains if c["chain"] == chain))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _tokens_ready(api: str) -> bool:
    with contextlib.suppress(httpx.HTTPError, ValueError):
        response = httpx.get(api + "/v0/tokens", timeout=5)
        return response.status_code == 200 and {ETH_USDC, ARB_USDC} <= {
            t["assetId"] for t in response.json()
        }
    return False


@contextlib.contextmanager
def oneclick_up(work: Path) -> Iterator[Stack]:
    """``oneclick up --data-dir work/up --port FREE`` in its own process group, its output in
    ``work/up.log``; SIGTERM (``up`` stops its children), then SIGKILL, on the way out."""
    data_dir, port = work / "up", _free_port()
    log = work / "up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
            [sys.executable, "-m", "oneclick.cli", "up", "--data-dir", str(data_dir),
             "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
            # one client sends every swap: above the public per-client quote limit
            env={**os.environ, "ONECLICK_API__RATE_LIMITS__SWAPS": "10000/minute"},
        )  # fmt: skip
    api = f"http://127.0.0.1:{port}"
    try:
        give_up = time.monotonic() + START_TIMEOUT_S
        stack_file = data_dir / "stack.json"
        while not (stack_file.exists() and _tokens_ready(api)):
            if process.poll() is not None or time.monotonic() > give_up:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                raise RuntimeError(f"oneclick up did not start:\n{tail}")
            time.sleep(0.2)
        yield Stack(api, json.loads(stack_file.read_text()), data_dir)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _one_swap(stack: Stack, http: httpx.Client) -> dict[str, Any]:
    body = {
        "dry": False, "swapType": "EXACT_INPUT", "slippageTolerance": 100,
        "originAsset": ETH_USDC, "depositType": "ORIGIN_CHAIN", "destinationAsset": ARB_USDC,
        "amount": AMOUNT, "refundTo": stack.wallet("eth:1", "alice"), "refundType": "ORIGIN_CHAIN",
        "recipient": stack.wallet("eth:42161", "bob"), "recipientType": "DESTINATION_CHAIN",
        "deadline": (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }  # fmt: skip
    asked = time.time()
    response = http.post("/v0/quote", json=body)
    response.raise_for_status()
    address = response.json()["quote"]["depositAddress"]
    quoted = time.time()
    usdc = next(a for a in stack.manifest["assets"] if a["assetId"] == ETH_USDC)
    sent = stack.control("POST", "/send", json={
        "chain": "eth:1", "wallet": "alice", "to": address, "amount": AMOUNT,
        "asset": usdc["contractAddress"],
    })  # fmt: skip
    sent_at = time.time()
    http.post("/v0/deposit/submit", json={"txHash": sent["tx_hash"], "depositAddress": address})
    seen: dict[str, float] = {}
    give_up = time.monotonic() + SWAP_TIMEOUT_S
    status = ""
    while status not in ("SUCCESS", "REFUNDED", "FAILED") and time.monotonic() < give_up:
        status = http.get("/v0/status", params={"depositAddress": address}).json()["status"]
        seen.setdefault(status, time.time())
        time.sleep(POLL_S)
    return {"address": address, "quote_s": quoted - asked, "sent_at": sent_at,
            "status": status, "seen": seen}  # fmt: skip


def _legs(data_dir: Path, address: str) -> dict[str, float]:
    """When each kind of leg (SWAP, WITHDRAW, ...) of the swap was signed, as epoch seconds."""
    db = create_engine(f"sqlite:///{data_dir / 'oneclick.db'}")
    try:
        with db.connect() as conn:
            rows = conn.execute(
                select(intents.c.kind, intents.c.created_at)
                .join(swaps, swaps.c.id == intents.c.swap_id)
                .where(swaps.c.deposit_address == address)
                .order_by(intents.c.created_at)
            ).all()
    finally:
        db.dispose()
    signed: dict[str, float] = {}
    for kind, created_at in rows:
        when = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        signed.setdefault(str(kind), when.timestamp())
    return signed


def _stages(run: dict[str, Any], signed: dict[str, float]) -> dict[str, float]:
    seen, sent = run["seen"], run["sent_at"]
    processing = seen.get("PROCESSING", signed.get("SWAP", sent))
    swap, payout, done = signed.get("SWAP"), signed.get("WITHDRAW"), seen.get("SUCCESS")
    if swap is None or payout is None or done is None:
        return {}
    return {"credit": processing - sent, "swap quote": swap - processing,
            "swap settle": payout - swap, "payout": done - payout,
            "deposit → SUCCESS": done - sent}  # fmt: skip


def run(work: Path, n: int) -> dict[str, Any]:
    """``n`` swaps on a fresh ``oneclick up``; per stage p50/max (seconds) and the floors."""
    started = time.monotonic()
    with oneclick_up(work) as stack, httpx.Client(base_url=stack.api, timeout=30) as http:
        ready_s = time.monotonic() - started
        confirmations = {c["chain"]: c["confirmations"] for c in stack.manifest["chains"]}
        head0, t0 = stack.head("eth:1"), time.monotonic()
        runs = [_one_swap(stack, http) for _ in range(n)]
        head1, t1 = stack.head("eth:1"), time.monotonic()
        block_s = (t1 - t0) / max(1, head1 - head0)
        stages = [_stages(r, _legs(stack.data_dir, r["address"])) for r in runs]
    ok = [s for s in stages if s]
    table = {
        stage: {"p50_s": round(statistics.median(s[stage] for s in ok), 2),
                "max_s": round(max(s[stage] for s in ok), 2)} if ok else None
        for stage in STAGES
    }  # fmt: skip
    # Only the deposit waits for blocks: anvil mines the payout's transaction as it arrives.
    floor = {"credit": confirmations["eth:1"] * block_s}
    floor["deposit → SUCCESS"] = floor["credit"]
    return {
        "swaps": n,
        "completed": len(ok),
        "statuses": [r["status"] for r in runs],
        "stack_ready_s": round(ready_s, 1),
        "quote_p50_s": round(statistics.median(r["quote_s"] for r in runs), 3),
        "block_s": round(block_s, 2),
        "confirmations": {c: confirmations.get(c) for c in ("eth:1", "eth:42161")},
        "stages": table,
        "floor_s": {k: round(v, 2) for k, v in floor.items()},
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
