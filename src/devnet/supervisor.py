"""``python -m devnet --data-dir DIR``: the whole devnet in one process, on free loopback ports.

It starts, in order: the chains (anvil for ``eth:1`` and ``eth:42161`` as child processes,
LiteSVM Solana, the BTC and XRP ledgers), the verifier and its NEAR RPC, the price feed, the
solver relay (HTTP + WebSocket), the PoA bridge (scan loop, funded hot wallets), two reference
solvers with different spreads, the control API and a mining loop (a block per chain every
``--block-interval`` seconds, so that confirmations progress). At every start it tops up the
solvers' inventory and the users' wallets (see :mod:`devnet.world`), then writes
``<data-dir>/devnet/devnet.json`` atomically once everything answers. SIGINT/SIGTERM stop it
cleanly: the manifest is removed, every task and server stopped, the anvils dump their state.

State lives under ``<data-dir>/devnet/``: ``verifier/``, ``relay/``, ``bridge/``, ``chains/``
(anvil ``--state`` files, the ledgers), so a second start resumes balances and pending work.
One devnet per data directory (an exclusive lock on ``<data-dir>/devnet/lock``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from devnet.bridge import BridgeServer, PoaBridge
from devnet.bridge.bridge import DEFAULT_WITHDRAWAL_LAG_S
from devnet.chains import DevnetChains
from devnet.chains.base import Chain
from devnet.control import ControlServer, intents_user
from devnet.prices import HttpPriceSource, PriceFeed, PriceServer
from devnet.relay.relay import Relay
from devnet.relay.server import RelayServer
from devnet.solver.solver import MarketMaker, SolverConfig
from devnet.verifier import DEFAULT_RELAYER, RpcServer, SystemClock, Verifier, VerifierConfig
from devnet.verifier.ledger import BLOCK_TIME_NS
from devnet.world import (
    BLOCKCHAINS,
    BRIDGE_SEED,
    MANIFEST_NAME,
    MANIFEST_VERSION,
    NEAR_CHAIN,
    PRICES,
    SOLVERS,
    USER_FUNDS,
    USER_SEED,
    USERS,
    DevnetAsset,
    devnet_assets,
    solver_inventory,
    solver_tokens,
    write_manifest,
)
from nearintents.diff import MAX_FEE_PIPS
from nearintents.rpc import HttpNearRpc, VerifierViews

logger = logging.getLogger("devnet")

PROTOCOL_FEE_PIPS = 1  # intents.near's fee on mainnet (0.0001 %)
READY_TIMEOUT_S = 30.0
# NEAR RPC's `final` trails the head by this many blocks (mainnet: a couple of 1-second blocks);
# the relay reports SETTLED as soon as a transaction is in a block, as the real one does.
DEFAULT_FINALITY_LAG_BLOCKS = 2
DEFAULT_NONCE_GC_INTERVAL_S = 10.0
BLOCK_TIME_S = BLOCK_TIME_NS / 1e9


class DevnetBusyError(RuntimeError):
    """Another devnet holds this data directory."""


@dataclass
class Devnet:
    """A running devnet: its URLs and in-process parts (for tests that run it in-process)."""

    data_dir: Path
    verifier: Verifier
    chains: dict[str, Chain]
    bridge: PoaBridge
    solvers: list[MarketMaker]
    urls: dict[str, str]
    evm_rpc: dict[str, str]
    wallets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def manifest_path(self) -> Path:
        return self.data_dir / MANIFEST_NAME

    def manifest(self) -> dict[str, Any]:
        chains = [
            {
                "chain": chain_id,
                "blockchain": BLOCKCHAINS.get(chain_id, chain_id.split(":")[0]),
                "rpc": self.evm_rpc.get(chain_id),
                "confirmations": self.bridge.confirmations.get(chain_id, 1),
                "memo": chain.has_memo,
            }
            for chain_id, chain in self.chains.items()
        ]
        chains.append(
            {
                "chain": NEAR_CHAIN,
                "blockchain": "near",
                "rpc": self.urls["near_rpc"],
                "confirmations": 1,
                "memo": False,
            }
        )
        return {
            "version": MANIFEST_VERSION,
            "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            **self.urls,
            "verifier_account": self.verifier.account_id,
            "relayer_account": DEFAULT_RELAYER,
            "chains": chains,
            "assets": [a.manifest() for a in devnet_assets()],
            "wallets": self.wallets,
            "solvers": [
                {"account": s.config.account_id, "spread_bps": s.config.spread_bps}
                for s in self.solvers
            ],
        }


def _lock(devnet_dir: Path) -> int:
    fd = os.open(devnet_dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DevnetBusyError(f"another devnet is running on {devnet_dir}") from None
    return fd


def _fund_solvers(verifier: Verifier) -> None:
    """Register the solvers' keys and top their inventory up to the target (idempotent)."""
    assets = devnet_assets()
    for spec in SOLVERS:
        keys = verifier.view("public_keys_of", {"account_id": spec.account_id})
        public_key = str(spec.key.public_key)
        if public_key not in keys:
            verifier.add_public_key(spec.account_id, public_key).ensure_success()
        for asset in assets:
            target = solver_inventory(asset)
            held = int(verifier.view("mt_balance_of", {"account_id": spec.account_id,
                                                       "token_id": asset.asset_id}))  # fmt: skip
            if held < target // 2:
                verifier.deposit(spec.account_id, asset.asset_id, target - held).ensure_success()


async def _fund_users(control_url: str, verifier: Verifier) -> list[dict[str, Any]]:
    """Create alice and bob on every chain through the control API and top their wallets up
    (and their verifier accounts for the NEAR-native assets). Returns the ``wallets`` entries."""
    by_chain: dict[str, list[DevnetAsset]] = {}
    for asset in devnet_assets():
        by_chain.setdefault(asset.chain, []).append(asset)
    wallets: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=control_url, timeout=30.0) as http:

        async def call(method: str, path: str, **kwargs: Any) -> Any:
            response = await http.request(method, path, **kwargs)
            if response.status_code != 200:
                raise RuntimeError(f"control {path}: {response.text}")
            return response.json()

        for chain_id, assets in by_chain.items():
            if chain_id == NEAR_CHAIN:
                continue
            for name in USERS:
                wallet = await call("POST", "/wallets", json={"chain": chain_id, "name": name})
                funded: dict[str, str] = {}
                for asset in assets:
                    target = asset.units(USER_FUNDS[asset.symbol])
                    query = {"chain": chain_id, "address": wallet["address"],
                             "asset": asset.chain_asset}  # fmt: skip
                    held = int((await call("GET", "/balance", params=query))["balance"])
                    if held < target // 2:
                        body = {**query, "amount": str(target - held)}
                        await call("POST", "/faucet", json=body)
                    funded[asset.symbol] = str(target)
                wallets.append(
                    {
                        "chain": chain_id,
                        "name": name,
                        "address": wallet["address"],
                        "funded": funded,
                    }
                )
    for name in USERS:
        account = intents_user(USER_SEED, name).account_id
        funded = {}
        for asset in by_chain.get(NEAR_CHAIN, []):
            target = asset.units(USER_FUNDS[asset.symbol])
            view = {"account_id": account, "token_id": asset.asset_id}
            held = int(verifier.view("mt_balance_of", view))
            if held < target // 2:
                verifier.deposit(account, asset.asset_id, target - held).ensure_success()
            funded[asset.symbol] = str(target)
        wallets.append({"chain": NEAR_CHAIN, "name": name, "address": account, "funded": funded})
    return wallets


async def _mine_forever(chains: dict[str, Chain], interval_s: float) -> None:
    """A block on every chain each ``interval_s`` (anvil automines transactions, but deposits
    need blocks on top of theirs; the simulated chains and LiteSVM only mine on demand)."""
    while True:
        await asyncio.sleep(interval_s)
        for chain_id, chain in chains.items():
            try:
                await chain.mine(1)
            except Exception as exc:  # loop top: one chain failing must not stop the others
                logger.warning("mining %s failed: %r", chain_id, exc)


async def _near_forever(verifier: Verifier, block_s: float, gc_interval_s: float) -> None:
    """NEAR's side of time: an empty block whenever a block time has passed (so `final` catches
    up with the head even when nobody transacts), and every ``gc_interval_s`` a garbage
    collector pass (``cleanup_nonces`` of every expired or invalid-salt nonce, as mainnet's
    GarbageCollector role does)."""
    next_gc = time.monotonic() + gc_interval_s
    while True:
        await asyncio.sleep(block_s)
        try:
            await asyncio.to_thread(verifier.head_block)
            if time.monotonic() >= next_gc:
                next_gc = time.monotonic() + gc_interval_s
                record = await asyncio.to_thread(verifier.collect_garbage)
                if record is not None:
                    logger.info("nonce garbage collected in %s", record.hash)
        except Exception as exc:  # loop top: the devnet must keep producing blocks
            logger.warning("NEAR block/GC pass failed: %r", exc)


async def _wait_until(check: Any, what: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            while not check():  # noqa: ASYNC110 - polls state owned by other tasks
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise RuntimeError(f"timed out waiting for {what}") from None


async def _answering(urls: dict[str, str]) -> None:
    """Every HTTP endpoint answers (any status): what ``devnet.json`` promises."""
    probes = {
        "near_rpc": ("POST", urls["near_rpc"], {"jsonrpc": "2.0", "id": 0, "method": "status"}),
        "relay": ("POST", urls["relay"], {"jsonrpc": "2.0", "id": 0, "method": "get_status"}),
        "bridge": ("POST", urls["bridge"], {"jsonrpc": "2.0", "id": 0, "method": "ping"}),
        "prices": ("GET", urls["prices"] + "/api/v3/ping", None),
        "control": ("GET", urls["control"] + "/chains", None),
    }
    async with httpx.AsyncClient(timeout=10.0) as http:
        for name, (method, url, body) in probes.items():
            await http.request(method, url, json=body)
            logger.info("%s answers on %s", name, url)


@asynccontextmanager
async def run_devnet(
    data_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    block_interval_s: float = 1.0,
    bridge_poll_s: float = 0.5,
    withdrawal_lag_s: float = DEFAULT_WITHDRAWAL_LAG_S,
    finality_lag_blocks: int = DEFAULT_FINALITY_LAG_BLOCKS,
    nonce_gc_interval_s: float = DEFAULT_NONCE_GC_INTERVAL_S,
    write: bool = True,
    protocol_fee_pips: int = PROTOCOL_FEE_PIPS,
) -> AsyncIterator[Devnet]:
    """The devnet under ``<data_dir>/devnet`` until exit; ``devnet.json`` written when ready
    (``write``) and removed at exit. The verifier's fee is ``protocol_fee_pips``: set at genesis,
    and changed by the DAO's ``set_fee`` when an existing devnet restarts with another value."""
    if not 0 <= protocol_fee_pips < MAX_FEE_PIPS:
        raise ValueError(f"protocol_fee_pips must be 0..{MAX_FEE_PIPS - 1}")
    root = Path(data_dir) / "devnet"
    root.mkdir(parents=True, exist_ok=True)
    lock = _lock(root)
    manifest_path = root / MANIFEST_NAME
    manifest_path.unlink(missing_ok=True)  # a stale one from a killed devnet
    started = time.monotonic()
    try:
        async with AsyncExitStack() as stack:
            logger.info("starting chains: anvil eth:1 and eth:42161, LiteSVM, BTC and XRP ledgers")
            chains = await DevnetChains.start(root)
            stack.push_async_callback(chains.aclose)
            evm_rpc = {}
            for node, chain_id in zip(chains.nodes, ("eth:1", "eth:42161"), strict=False):
                evm_rpc[chain_id] = node.url
                logger.info("anvil %s ready on %s", chain_id, node.url)

            verifier = Verifier.open(
                root / "verifier", clock=SystemClock(), config=VerifierConfig(fee=protocol_fee_pips)
            )
            stack.callback(verifier.close)
            verifier.finality_lag = finality_lag_blocks
            ensure_fee(verifier, protocol_fee_pips)
            rpc = await stack.enter_async_context(RpcServer(verifier, host=host))
            logger.info("verifier %s: NEAR RPC on %s", verifier.account_id, rpc.url)

            feed = PriceFeed({**PRICES})
            prices = await stack.enter_async_context(PriceServer(feed, host=host))
            logger.info("price feed on %s", prices.url)

            relay = await stack.enter_async_context(Relay(verifier, data_dir=root / "relay"))
            relay_server = await stack.enter_async_context(RelayServer(relay, host=host))
            logger.info("relay on %s (solvers: %s)", relay_server.url, relay_server.ws_url)

            bridge = PoaBridge(
                verifier,
                list(chains.chains.values()),
                seed=BRIDGE_SEED,
                data_dir=root / "bridge",
                poll_interval=bridge_poll_s,
                withdrawal_lag_s=withdrawal_lag_s,
            )
            stack.callback(bridge.close)
            bridge_server = await stack.enter_async_context(BridgeServer(bridge, host=host))
            logger.info("bridge on %s (hot wallets funded, scanning)", bridge_server.url)

            control = await stack.enter_async_context(
                ControlServer(
                    chains.chains, bridge=bridge, verifier=verifier, user_seed=USER_SEED, host=host
                )
            )
            logger.info("control API on %s", control.url)

            _fund_solvers(verifier)
            near = await stack.enter_async_context(HttpNearRpc(rpc.url, timeout=10))
            views = VerifierViews(near, verifier.account_id)
            price_source = HttpPriceSource(prices.url, ttl_s=1.0)
            stack.push_async_callback(price_source.aclose)
            solvers = []
            for spec in SOLVERS:
                config = SolverConfig(
                    account_id=spec.account_id,
                    tokens=solver_tokens(),
                    spread_bps=spec.spread_bps,
                    verifying_contract=verifier.account_id,
                )
                solver = MarketMaker(
                    config, spec.key, relay_ws_url=relay_server.ws_url, views=views,
                    prices=price_source,
                )  # fmt: skip
                await stack.enter_async_context(solver)
                solvers.append(solver)
            for solver in solvers:
                await _wait_until(solver.ready.is_set, f"solver {solver.config.account_id}")
                logger.info(
                    "solver %s quoting (spread %d bps)",
                    solver.config.account_id,
                    solver.config.spread_bps,
                )

            wallets = await _fund_users(control.url, verifier)
            logger.info("user wallets funded: %s", ", ".join(USERS))

            miner = asyncio.create_task(
                _mine_forever(chains.chains, block_interval_s), name="devnet-miner"
            )

            async def stop_miner() -> None:
                miner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await miner

            stack.push_async_callback(stop_miner)
            near_time = asyncio.create_task(
                _near_forever(verifier, BLOCK_TIME_S, nonce_gc_interval_s), name="devnet-near"
            )

            async def stop_near_time() -> None:
                near_time.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await near_time

            stack.push_async_callback(stop_near_time)

            urls = {
                "near_rpc": rpc.url,
                "relay": relay_server.url,
                "relay_ws": relay_server.ws_url,
                "bridge": bridge_server.url,
                "prices": prices.url,
                "control": control.url,
            }
            await _answering(urls)
            devnet = Devnet(
                data_dir=root,
                verifier=verifier,
                chains=chains.chains,
                bridge=bridge,
                solvers=solvers,
                urls=urls,
                evm_rpc=evm_rpc,
                wallets=wallets,
            )
            if write:
                write_manifest(manifest_path, devnet.manifest())
            logger.info("devnet ready in %.1f s: %s", time.monotonic() - started, manifest_path)
            try:
                yield devnet
            finally:
                manifest_path.unlink(missing_ok=True)
                logger.info("stopping the devnet")
    finally:
        os.close(lock)
    logger.info("devnet stopped")


def ensure_fee(verifier: Verifier, fee_pips: int) -> None:
    """The verifier charges ``fee_pips``: set at genesis by its config; an existing state from an
    earlier run with another fee is changed by the DAO's ``set_fee``, as on chain."""
    if verifier.fee() != fee_pips:
        verifier.set_fee(fee_pips).ensure_success()
    logger.info("verifier protocol fee: %d pips", fee_pips)


def fee_pips(text: str) -> int:
    """``--protocol-fee-pips``: an integer in 0..999,999 (100 % would leave nothing to swap)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < MAX_FEE_PIPS:
        raise argparse.ArgumentTypeError(f"{value} is not in 0..{MAX_FEE_PIPS - 1}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m devnet", description="Run the local NEAR Intents devnet."
    )
    p.add_argument("--data-dir", type=Path, default=Path(".oneclick"), help="state directory")
    p.add_argument("--host", default="127.0.0.1", help="listen address of the servers")
    p.add_argument("--block-interval", type=float, default=1.0, help="seconds between mined blocks")
    p.add_argument(
        "--withdrawal-lag",
        type=float,
        default=DEFAULT_WITHDRAWAL_LAG_S,
        help="seconds the bridge answers 'Withdrawals not found' after a burn (as mainnet's)",
    )
    p.add_argument(
        "--finality-lag",
        type=int,
        default=DEFAULT_FINALITY_LAG_BLOCKS,
        help="blocks NEAR RPC's `final` trails `optimistic` (mainnet: a few)",
    )
    p.add_argument(
        "--nonce-gc-interval",
        type=float,
        default=DEFAULT_NONCE_GC_INTERVAL_S,
        help="seconds between the verifier's nonce garbage collector passes",
    )
    p.add_argument(
        "--protocol-fee-pips",
        type=fee_pips,
        default=PROTOCOL_FEE_PIPS,
        help=f"the verifier's fee in pips, 1e-6 (default {PROTOCOL_FEE_PIPS}, as on mainnet)",
    )
    p.add_argument("--log-level", default="INFO")
    return p


async def serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with run_devnet(
        args.data_dir,
        host=args.host,
        block_interval_s=args.block_interval,
        withdrawal_lag_s=args.withdrawal_lag,
        finality_lag_blocks=args.finality_lag,
        nonce_gc_interval_s=args.nonce_gc_interval,
        protocol_fee_pips=args.protocol_fee_pips,
    ):
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Requests of every client library would drown the progress lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        asyncio.run(serve(args))
    except DevnetBusyError as exc:
        logger.error("%s", exc)
        return 2
    except Exception:
        logger.exception("the devnet failed")
        return 1
    return 0


__all__ = ["Devnet", "DevnetBusyError", "main", "run_devnet"]
