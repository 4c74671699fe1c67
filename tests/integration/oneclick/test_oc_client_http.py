"""The client, the ``oneclick quote``/``status`` commands and the TypeScript SDK flow
(``tests/conformance/ts_sdk/flow.mjs --no-deposit``) against the service on fakes served by a real
uvicorn on a free loopback port (in a thread with its own event loop)."""

import asyncio
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from nearintents.quote_signature import verify_quote_signature
from oneclick.cli.main import app
from oneclick.client import NotFound, OneClickSyncClient, QuoteRequest, SwapStatus
from oneclick.testing.assets import USDC_BASE, USDT_ETH
from oneclick.testing.world import fake_world, sqlite_url

REPO = Path(__file__).resolve().parents[3]
FLOW = REPO / "tests" / "conformance" / "ts_sdk" / "flow.mjs"
ALICE = "0x" + "a1" * 20
BOB = "0x" + "b0" * 20


@dataclass
class Served:
    url: str
    manager_public_key: str
    data_dir: Path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The fake world's app on http://127.0.0.1:<free port>, stopped (and joined) after."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    ready, keys = threading.Event(), []
    server: list[uvicorn.Server] = []
    failure: list[BaseException] = []

    async def serve() -> None:
        world = await fake_world(sqlite_url(tmp_path))
        # The clients date their deadlines by the wall clock; the service refuses deadlines
        # more than 24 h after its own clock, so the fake clock starts at the wall's.
        world.clock.set(datetime.now(UTC))
        keys.append(world.keys.manager_public_key)
        config = uvicorn.Config(world.app(), log_level="warning", lifespan="off")
        server.append(uvicorn.Server(config))
        try:
            serving = asyncio.create_task(server[0].serve(sockets=[sock]))
            while not server[0].started and not serving.done():  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            ready.set()
            await serving
        finally:
            await world.aclose()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="oneclick-fake-api", daemon=True)
    thread.start()
    ready.wait(timeout=30)
    try:
        assert not failure, failure
        assert server, "the server was not built"
        assert server[0].started, "the server did not start"
        yield Served(f"http://127.0.0.1:{port}", keys[0], tmp_path / "data")
    finally:
        if server:
            server[0].should_exit = True
        thread.join(timeout=30)
        sock.close()
        assert not thread.is_alive()


def request(**change: Any) -> QuoteRequest:
    fields: dict[str, Any] = {
        "origin_asset": USDT_ETH, "destination_asset": USDC_BASE, "amount": "1000000",
        "refund_to": ALICE, "recipient": BOB,
    }  # fmt: skip
    return QuoteRequest(**(fields | change))


def test_sync_client_over_a_real_socket(served: Served) -> None:
    with OneClickSyncClient(served.url, manager_public_key=served.manager_public_key) as api:
        assert {t.asset_id for t in api.tokens()} >= {USDT_ETH, USDC_BASE}
        quote = api.quote(request(), verify=True)
        address = quote.quote.deposit_address
        assert address is not None
        assert api.status(address).status == SwapStatus.PENDING_DEPOSIT
        with pytest.raises(NotFound):
            api.status("0x000000000000000000000000000000000000dead")


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_quote_and_status_commands(served: Served, tmp_path: Path) -> None:
    common = ["--from", "USDT@eth", "--to", USDC_BASE, "--amount", "1000000",
              "--recipient", BOB, "--refund-to", ALICE, "--api", served.url,
              "--data-dir", str(tmp_path / "none")]  # fmt: skip
    done = _cli("quote", *common, "--manager-key", served.manager_public_key, "--json")
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert verify_quote_signature(body, served.manager_public_key)
    address = body["quote"]["depositAddress"]

    pretty = _cli("quote", *common, "--dry", "--manager-key", served.manager_public_key)
    assert pretty.exit_code == 0, pretty.output
    assert "verified" in pretty.stdout
    assert "amount out" in pretty.stdout

    shown = _cli("status", address, "--api", served.url, "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["status"] == "PENDING_DEPOSIT"
    plain = _cli("status", address, "--api", served.url).stdout
    assert "PENDING_DEPOSIT" in plain
    assert f"track: {served.url}/track/{address}" in plain  # the tracking page

    # the stack's API URL is found in <data-dir>/stack.json
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "stack.json").write_text(json.dumps({"api": served.url}))
    found = _cli("status", address, "--data-dir", str(tmp_path / "stack"), "--json")
    assert found.exit_code == 0, found.output


def test_command_errors_and_exit_codes(served: Served, tmp_path: Path) -> None:
    base = ["--recipient", BOB, "--refund-to", ALICE, "--api", served.url,
            "--data-dir", str(tmp_path)]  # fmt: skip
    unknown = _cli("status", "0x000000000000000000000000000000000000dead", "--api", served.url)
    assert unknown.exit_code == 1
    assert "404" in unknown.stderr
    assert "not found" in unknown.stderr
    refused = _cli("quote", "--from", USDT_ETH, "--to", USDC_BASE, "--amount", "0", *base)
    assert refused.exit_code == 1, refused.output
    assert "HTTP 400" in refused.stderr
    bad_key = _cli("quote", "--from", USDT_ETH, "--to", USDC_BASE, "--amount", "1000000", *base,
                   "--manager-key", "ed25519:" + "1" * 44)  # fmt: skip
    assert bad_key.exit_code == 4, bad_key.output
    ambiguous = _cli("quote", "--from", "USDC", "--to", USDT_ETH, "--amount", "1", *base)
    assert ambiguous.exit_code == 2
    assert "ambiguous" in ambiguous.stderr
    not_integer = _cli("quote", "--from", USDT_ETH, "--to", USDC_BASE, "--amount", "1.5", *base)
    assert not_integer.exit_code == 2
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{closed.getsockname()[1]}"
    down = _cli("status", "0xabc", "--api", nobody, "--timeout", "5")
    assert down.exit_code == 3
    assert "oneclick up" in down.stderr


def test_demo_says_how_to_start_a_stack(tmp_path: Path) -> None:
    done = _cli("demo", "--data-dir", str(tmp_path), "--manager-key", "ed25519:x")
    assert done.exit_code == 3
    assert "oneclick up" in done.stderr


def test_ts_sdk_flow_quotes_verifies_and_gets_404(served: Served, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the TypeScript SDK tests need node 20", pytrace=False)
    devnet = {
        "version": 1, "control": "http://127.0.0.1:9/unused",
        "chains": [{"chain": "eth:1", "blockchain": "eth", "confirmations": 0, "memo": False}],
        "assets": [{"assetId": USDT_ETH, "chain": "eth:1", "blockchain": "eth", "symbol": "USDT",
                    "decimals": 6},
                   {"assetId": USDC_BASE, "chain": "eth:8453", "blockchain": "base",
                    "symbol": "USDC", "decimals": 6}],
        "wallets": [{"chain": "eth:1", "name": "alice", "address": ALICE},
                    {"chain": "eth:8453", "name": "bob", "address": BOB}],
    }  # fmt: skip
    devnet_json = tmp_path / "devnet.json"
    devnet_json.write_text(json.dumps(devnet))
    done = subprocess.run(
        [node, str(FLOW), served.url, str(devnet_json), served.manager_public_key,
         "--no-deposit", "--from", USDT_ETH, "--to", USDC_BASE],
        capture_output=True, cwd=REPO, timeout=90, check=False, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    assert summary["quote"]["verified"]
    assert summary["dryQuote"]["verified"]
    assert summary["firstStatus"] == "PENDING_DEPOSIT"
    assert summary["notFound"]["status"] == 404
    assert "deposit" not in summary
