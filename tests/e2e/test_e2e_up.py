"""``oneclick up`` as a real process tree (devnet with anvil, API, worker) driven over HTTP:
serves the devnet's tokens and a real quote, ``oneclick devnet info``/``deposit``, a clean
SIGTERM (nothing left running), then a second start on the same data directory that resumes the
swap and keeps every balance."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

pytestmark = [pytest.mark.devnet, pytest.mark.slow]

T = TypeVar("T")
ETH_USDC = "nep141:eth-0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48.omft.near"
ARB_USDC = "nep141:arb-0xaf88d065e77c8cc2239327c5edb3a432268e5831.omft.near"
START_LIMIT_S = 90.0
STOP_LIMIT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def processes_under(directory: Path) -> list[str]:
    """Every live process whose command line mentions ``directory`` (ours: devnet, anvil's
    ``--state``, API, worker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(directory) in cmdline and state != "Z":
            found.append(f"{entry.name} {cmdline}")
    return found


def wait_for(check: Callable[[], T | None], what: str, limit_s: float, up: Up) -> T:
    deadline = time.monotonic() + limit_s
    while True:
        result = check()
        if result:
            return result
        if up.proc.poll() is not None:
            raise AssertionError(f"oneclick up exited ({up.proc.returncode}) before {what}:\n"
                                 f"{up.log_tail()}")  # fmt: skip
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{up.log_tail()}")
        time.sleep(0.1)


class Up:
    """One ``oneclick up`` run (its own process group, output in a log file)."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.api = f"http://127.0.0.1:{port}"
        self.log = data_dir.parent / f"up-{time.monotonic_ns()}.log"
        self.started = time.monotonic()
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "oneclick.cli", "up", "--data-dir", str(data_dir),
                 "--port", str(port)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def cli(self, *args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "oneclick.cli", *args, "--data-dir", str(self.data_dir)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if "--json" in args else done.stdout

    def stop(self) -> int:
        os.killpg(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout=STOP_LIMIT_S)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_LIMIT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "oneclick"
    yield directory
    # Whatever a failed test left behind: stop what runs under our directory (all ours).
    for line in processes_under(directory):
        pid = int(line.split()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def tokens_listed(up: Up, wanted: set[str]) -> list[dict[str, Any]] | None:
    try:
        response = httpx.get(up.api + "/v0/tokens", timeout=5)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    tokens: list[dict[str, Any]] = response.json()
    return tokens if wanted <= {t["assetId"] for t in tokens} else None


def wallet(info: dict[str, Any], chain: str, name: str) -> dict[str, Any]:
    return next(w for w in info["wallets"] if w["chain"] == chain and w["name"] == name)


def status_of(up: Up, deposit_address: str) -> str | None:
    response = httpx.get(up.api + "/v0/status", params={"depositAddress": deposit_address})
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


@pytest.mark.timeout(300)
def test_oneclick_up_serves_quotes_stops_cleanly_and_resumes(data_dir: Path) -> None:
    port = free_port()
    up = Up(data_dir, port)
    try:
        manifest_file = data_dir / "devnet" / "devnet.json"
        manifest = wait_for(
            lambda: json.loads(manifest_file.read_text()) if manifest_file.exists() else None,
            "devnet.json", START_LIMIT_S, up,
        )  # fmt: skip
        asset_ids = {a["assetId"] for a in manifest["assets"]}
        tokens = wait_for(lambda: tokens_listed(up, asset_ids), "/v0/tokens", START_LIMIT_S, up)
        first_start_s = time.monotonic() - up.started
        usdc = next(t for t in tokens if t["assetId"] == ETH_USDC)
        assert usdc["blockchain"] == "eth"
        assert usdc["contractAddress"].lower() == "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
        assert usdc["price"] == 1

        info = up.cli("devnet", "info", "--json")
        assert info["api"] == up.api
        alice_eth, bob_arb = wallet(info, "eth:1", "alice"), wallet(info, "eth:42161", "bob")
        assert alice_eth["balances"]["USDC"] == alice_eth["funded"]["USDC"]
        stack = json.loads((data_dir / "stack.json").read_text())
        assert stack["api"] == up.api
        assert stack["manager_public_key"].startswith("ed25519:")
        assert stack["relay"] == manifest["relay"]

        # A real quote: relay + both solvers + a bridge deposit address for the custody account.
        body = {
            "dry": False, "swapType": "EXACT_INPUT", "slippageTolerance": 100,
            "originAsset": ETH_USDC, "depositType": "ORIGIN_CHAIN", "destinationAsset": ARB_USDC,
            "amount": "25000000", "refundTo": alice_eth["address"], "refundType": "ORIGIN_CHAIN",
            "recipient": bob_arb["address"], "recipientType": "DESTINATION_CHAIN",
            "deadline": in_an_hour(),
        }  # fmt: skip
        response = httpx.post(up.api + "/v0/quote", json=body, timeout=30)
        assert response.status_code == 200, response.text
        quote = response.json()["quote"]
        deposit_address = quote["depositAddress"]
        assert deposit_address.startswith("0x")
        amount_out = int(quote["amountOut"])
        assert 24_000_000 < amount_out < 25_000_000

        sent = up.cli("devnet", "deposit", "--asset", ETH_USDC, "--to", deposit_address,
                      "--amount", "25000000", "--json")  # fmt: skip
        assert sent["tx_hash"].startswith("0x")
        assert status_of(up, deposit_address) in {"PENDING_DEPOSIT", "KNOWN_DEPOSIT_TX",
                                                  "PROCESSING", "SUCCESS"}  # fmt: skip

        # Stop in the middle of the swap (or just after it): everything exits.
        devnet_pid = stack["devnet_pid"]
        assert up.stop() == 0
        assert not manifest_file.exists()
        assert not (data_dir / "stack.json").exists()
        with pytest.raises(ProcessLookupError):
            os.kill(devnet_pid, 0)
        assert processes_under(data_dir) == []

        # The second start resumes: the swap completes exactly once, balances are kept.
        up = Up(data_dir, port)
        wait_for(lambda: tokens_listed(up, asset_ids), "/v0/tokens again", START_LIMIT_S, up)
        second_start_s = time.monotonic() - up.started
        wait_for(lambda: status_of(up, deposit_address) == "SUCCESS", "SUCCESS", 60, up)
        info = up.cli("devnet", "info", "--json")
        alice_eth, bob_arb = wallet(info, "eth:1", "alice"), wallet(info, "eth:42161", "bob")
        assert int(alice_eth["balances"]["USDC"]) == int(alice_eth["funded"]["USDC"]) - 25_000_000
        assert int(bob_arb["balances"]["USDC"]) == int(bob_arb["funded"]["USDC"]) + amount_out
        balance = up.cli("devnet", "balance", "--asset", ARB_USDC, "--address",
                         bob_arb["address"], "--json")  # fmt: skip
        assert balance["balance"] == bob_arb["balances"]["USDC"]
        check_public_limits(up, body)
        check_json_logs(data_dir, deposit_address)
        print(f"\noneclick up serves quotes after {first_start_s:.1f} s (first start), "
              f"{second_start_s:.1f} s (second start)")  # fmt: skip
        assert up.stop() == 0
        assert processes_under(data_dir) == []
    finally:
        up.kill()


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_public_limits(up: Up, body: dict[str, Any]) -> None:
    """The defaults of a fresh ``oneclick up``: a 2099 deadline is a 400, a 2 MB body a 413, and
    a burst of 300 live quotes from one client meets 429s with ``Retry-After``."""
    with httpx.Client(base_url=up.api, timeout=30) as http:
        far = http.post("/v0/quote", json={**body, "deadline": "2099-01-01T00:00:00Z"})
        assert far.status_code == 400, far.text
        assert far.json()["message"] == "deadline must be at most 86400 seconds in the future"
        huge = http.post("/v0/quote", json={**body, "referral": "x" * 2_000_000})
        assert huge.status_code == 413, huge.text
        assert huge.json()["message"] == "Request body is larger than the limit of 65536 bytes"
    # One client (its own address, given by the trusted local proxy header): live quotes.
    client = {"x-forwarded-for": "203.0.113.50"}
    statuses: list[int] = []
    refused: list[httpx.Response] = []
    with httpx.Client(base_url=up.api, timeout=30, headers=client) as http:
        for _ in range(300):
            response = http.post("/v0/quote", json={**body, "deadline": in_an_hour()})
            statuses.append(response.status_code)
            if response.status_code == 429:
                refused.append(response)
        tokens = http.get("/v0/tokens")
    # swaps: 10/minute;100/hour for an anonymous client, then nothing but 429
    assert statuses[10:] == [429] * 290, statuses
    assert 1 <= int(refused[0].headers["retry-after"]) <= 60
    assert refused[-1].headers["ratelimit-policy"].startswith('"requests";q=600;w=60')
    assert refused[-1].json()["message"].startswith("Too many requests")
    assert tokens.status_code == 200  # reads have their own, larger budget


def check_json_logs(data_dir: Path, deposit_address: str) -> None:
    """``logs/api.log`` and ``logs/worker.log`` are JSON lines; the swap's carry its id."""
    lines = {
        name: [json.loads(line) for line in
               (data_dir / "logs" / f"{name}.log").read_text().splitlines() if line.strip()]
        for name in ("api", "worker")
    }  # fmt: skip
    issued = [line for line in lines["api"] if line["message"] == "quote issued"
              and line["deposit_address"] == deposit_address]  # fmt: skip
    assert len(issued) == 1
    assert issued[0]["correlation_id"]
    swap_id = issued[0]["swap_id"]
    signed = [line for line in lines["worker"] if line["message"] == "swap intent signed"
              and line.get("swap_id") == swap_id]  # fmt: skip
    assert signed, "no 'swap intent signed' line carries the swap id"
    assert signed[0]["deposit_address"] == deposit_address
    assert signed[0]["phase"] == "SWAP"


def test_devnet_commands_without_a_devnet_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "oneclick.cli", "devnet", "info", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"no devnet running under {tmp_path}: start it with `oneclick up`" in done.stderr
