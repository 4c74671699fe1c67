"""The production adapters (the nearintents clients and the CoinGecko adapter) pass the same port
contracts as the fakes, against a real devnet (``python -m devnet``) over HTTP on loopback.

One devnet process serves the whole module; it is stopped (and its anvils with it) at the end."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from oc_contracts import (
    BridgeContract,
    PricesContract,
    RelayContract,
    SettlingRelayContract,
    VerifierContract,
)

from nearintents.rpc import HttpNearRpc, HttpPoaBridge, HttpSolverRelay, VerifierViews
from oneclick.adapters.coingecko import CoinGeckoPrices
from oneclick.testing import FakeClock

pytestmark = [pytest.mark.devnet, pytest.mark.slow]

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("devnet")
    manifest = data_dir / "devnet" / "devnet.json"
    log = (data_dir / "devnet.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "devnet", "--data-dir", str(data_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not manifest.exists():  # written atomically once every service answers
            if process.poll() is not None:
                pytest.fail(f"python -m devnet exited with {process.returncode}: see {log.name}")
            if time.monotonic() > deadline:
                pytest.fail(f"the devnet did not start within {START_TIMEOUT_S} s: see {log.name}")
            time.sleep(0.1)
        yield json.loads(manifest.read_text())
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def _asset(devnet: dict[str, Any], symbol: str, chain: str) -> str:
    return next(
        a["assetId"] for a in devnet["assets"] if a["symbol"] == symbol and a["chain"] == chain
    )


class TestDevnetSolverRelay(RelayContract):
    @pytest.fixture
    async def relay(self, devnet: dict[str, Any]) -> AsyncIterator[HttpSolverRelay]:
        async with HttpSolverRelay(devnet["relay"]) as client:
            yield client

    @pytest.fixture
    def pair(self, devnet: dict[str, Any]) -> tuple[str, str]:
        return (_asset(devnet, "USDC", "eth:1"), _asset(devnet, "USDC", "eth:42161"))


class TestDevnetRelaySettling(SettlingRelayContract):
    """The devnet relay settling in the devnet verifier (mainnet's 1 pip), funded through the
    control API's verifier transfer from alice."""

    @pytest.fixture
    async def relay(self, devnet: dict[str, Any]) -> AsyncIterator[HttpSolverRelay]:
        async with HttpSolverRelay(devnet["relay"]) as client:
            yield client

    @pytest.fixture
    def pair(self, devnet: dict[str, Any]) -> tuple[str, str]:
        return (_asset(devnet, "USDC", "eth:1"), _asset(devnet, "USDC", "eth:42161"))

    @pytest.fixture
    def amount(self) -> int:
        return 12_345_678

    @pytest.fixture
    def contract(self, devnet: dict[str, Any]) -> str:
        return str(devnet["verifier_account"])

    @pytest.fixture
    def now(self) -> Callable[[], datetime]:
        return lambda: datetime.now(UTC)  # the devnet runs on the system clock

    @pytest.fixture
    async def fund(
        self, devnet: dict[str, Any]
    ) -> AsyncIterator[Callable[[str, str, int], Awaitable[None]]]:
        async with httpx.AsyncClient(base_url=devnet["control"], timeout=30) as http:

            async def fund(account: str, token: str, amount: int) -> None:
                body = {"wallet": "alice", "to": account, "token": token, "amount": str(amount)}
                answer = await http.post("/intents/transfer", json=body)
                assert answer.status_code == 200, answer.text

            yield fund

    @pytest.fixture
    async def balance(
        self, devnet: dict[str, Any]
    ) -> AsyncIterator[Callable[[str, str], Awaitable[int]]]:
        async with HttpNearRpc(devnet["near_rpc"]) as rpc:
            yield VerifierViews(rpc, devnet["verifier_account"]).mt_balance_of


class TestDevnetBridge(BridgeContract):
    @pytest.fixture
    async def bridge(self, devnet: dict[str, Any]) -> AsyncIterator[HttpPoaBridge]:
        async with HttpPoaBridge(devnet["bridge"]) as client:
            yield client

    @pytest.fixture(params=["eth:1", "btc:mainnet", "sol:mainnet"])
    def chain(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def memo_chain(self) -> str:
        return "xrp:mainnet"


class TestDevnetVerifierViews(VerifierContract):
    @pytest.fixture
    async def verifier(self, devnet: dict[str, Any]) -> AsyncIterator[VerifierViews]:
        async with HttpNearRpc(devnet["near_rpc"]) as rpc:
            yield VerifierViews(
                rpc, devnet["verifier_account"], relayer_account_id=devnet["relayer_account"]
            )


class TestDevnetPrices(PricesContract):
    @pytest.fixture
    async def prices(self, devnet: dict[str, Any]) -> AsyncIterator[CoinGeckoPrices]:
        adapter = CoinGeckoPrices(devnet["prices"], clock=FakeClock())
        yield adapter
        await adapter.aclose()

    @pytest.fixture
    def known_id(self) -> str:
        return "usd-coin"


def test_the_module_devnet_wrote_a_usable_manifest(devnet: dict[str, Any], tmp_path: Path) -> None:
    assert {c["chain"] for c in devnet["chains"]} >= {"eth:1", "eth:42161", "xrp:mainnet"}
    assert devnet["verifier_account"] == "intents.near"
