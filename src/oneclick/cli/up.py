"""``oneclick up``: the whole stack on loopback in one supervised process tree.

1. keys: created on first run (as ``oneclick keys init``) unless ``ONECLICK_KEYS__*`` are set;
2. ``python -m devnet --data-dir DIR`` as a child; wait for ``DIR/devnet/devnet.json``;
3. ``DIR/oneclick.toml`` generated from it (:mod:`oneclick.devnet_link`), migrations applied;
4. ``oneclick api`` and ``oneclick worker`` as children; wait until ``/v0/tokens`` answers;
5. ``DIR/stack.json`` written, the URLs, the manager key and a ``curl`` quote printed.

Children run in their own process groups (a terminal's Ctrl-C reaches only us) and get SIGTERM if
we die (Linux ``PR_SET_PDEATHSIG``). Their output is echoed with a ``[name]`` prefix and kept in
``DIR/logs/<name>.log``. A child that exits on its own is restarted, after a backoff that doubles
from 1 s to 30 s while it keeps crashing (a child that ran for a minute starts again at 1 s), and
we say so. A restarted devnet listens on new ports: the configuration is regenerated and, if it
changed, the API and the worker are restarted on it. On SIGINT/SIGTERM children get SIGTERM,
then SIGKILL after a timeout, and are all reaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TextIO

import httpx
import typer

from oneclick.bootstrap import database_url, load_keys
from oneclick.config import DEFAULT_DATA_DIR, Settings, load_settings
from oneclick.custody.keys import init_key_file
from oneclick.devnet_link import (
    CONFIG_FILE,
    STACK_FILE,
    config_toml,
    is_generated,
    manifest_path,
    read_manifest,
    stack_document,
    write_atomic,
)
from oneclick.domain.errors import ConfigurationError
from oneclick.logging import LOG_FORMATS, render_child_line, wants_json
from oneclick.services.partners import add_partner, issue_token
from oneclick.store.database import connect_database, upgrade
from oneclick.store.sql import SqlStore

DEVNET_START_TIMEOUT_S = 180.0
API_START_TIMEOUT_S = 60.0
DEFAULT_PROTOCOL_FEE_PIPS = 1  # intents.near's fee on mainnet (PROTOCOL.md §2.12)
STOP_TIMEOUT_S = {
    "worker": 25.0, "api": 15.0, "upstream-worker": 25.0, "upstream-api": 15.0, "devnet": 40.0,
}  # fmt: skip
UPSTREAM_DIR = "upstream"  # under the data dir: the stand-in for the hosted 1Click (--upstream)
RESTART_FIRST_S = 1.0  # the wait before restarting a crashed child; doubles while it crashes
RESTART_MAX_S = 30.0
HEALTHY_AFTER_S = 60.0  # a child that ran this long before it died starts its backoff afresh
PR_SET_PDEATHSIG = 1
FRONT_PARTNER = "front"  # the front instance's partner name at the upstream (--upstream)


class StackError(Exception):
    """The stack could not start; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


@dataclass
class Child:
    name: str
    proc: asyncio.subprocess.Process
    pump: asyncio.Task[None]
    stopping: bool = False
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    async def stop(self, timeout_s: float) -> int:
        """SIGTERM to its group, SIGKILL after ``timeout_s``; reaped. Returns its status."""
        self.stopping = True
        if self.proc.returncode is None:
            self.signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout_s)
            except TimeoutError:
                echo(f"{self.name} did not stop within {timeout_s:g} s: killing it")
                self.signal(signal.SIGKILL)
                await self.proc.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self.pump
        return self.proc.returncode if self.proc.returncode is not None else -1


def describe(status: int | None) -> str:
    if status is None:
        return "running"
    if status < 0:
        with contextlib.suppress(ValueError):
            return f"by {signal.Signals(-status).name}"
    return f"status {status}"


def echo(message: str, out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    stream.write(f"[up] {message}\n")
    stream.flush()


@dataclass
class Stack:
    data_dir: Path
    host: str
    port: int
    children: list[Child] = field(default_factory=list)
    commands: dict[str, tuple[str, ...]] = field(default_factory=dict)
    envs: dict[str, dict[str, str] | None] = field(default_factory=dict)
    log_format: str = "text"  # of our stdout; the children always log JSON lines to their files

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> Child:
        """``args`` for Python, with ``env`` added to ours (secrets go here, never in args)."""
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            env={**os.environ, **env} if env else None,
        )
        assert proc.stdout is not None
        pump = asyncio.create_task(_pump(name, proc.stdout, logs / f"{name}.log", self.log_format))
        child = Child(name, proc, pump)
        self.children.append(child)
        self.commands[name] = args
        self.envs[name] = env
        echo(f"started {name} (pid {proc.pid})")
        return child

    async def respawn(self, child: Child) -> Child:
        """Stop ``child`` (if it still runs) and start its command again."""
        await child.stop(STOP_TIMEOUT_S.get(child.name, 15.0))
        self.children.remove(child)
        return await self.spawn(
            child.name, *self.commands[child.name], env=self.envs.get(child.name)
        )

    def child(self, name: str) -> Child | None:
        return next((c for c in self.children if c.name == name), None)

    async def stop_all(self) -> None:
        """Workers and the API first (they talk to the devnet), then the devnet."""
        order = {"worker": 0, "api": 1, "upstream-worker": 2, "upstream-api": 3, "devnet": 4}
        for child in sorted(self.children, key=lambda c: order.get(c.name, 0)):
            status = await child.stop(STOP_TIMEOUT_S.get(child.name, 15.0))
            echo(f"{child.name} stopped ({describe(status)})")


async def _pump(
    name: str, stream: asyncio.StreamReader, log_path: Path, log_format: str = "text"
) -> None:
    with log_path.open("ab") as log:
        while line := await stream.readline():
            log.write(line)
            log.flush()
            text = line.decode("utf-8", "replace").rstrip("\n")
            sys.stdout.write(render_child_line(name, text, log_format) + "\n")
            sys.stdout.flush()


async def _wait_for(
    check: Callable[[], Any], child: Child, what: str, timeout_s: float, stop: asyncio.Event
) -> Any:
    """Poll ``check`` (sync or async) until it returns a truthy value; fail if ``child`` dies,
    give up quietly (status 0) if we are told to stop."""
    deadline = time.monotonic() + timeout_s
    while True:
        if stop.is_set():
            raise StackError(f"stopped while waiting for {what}", 0)
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if child.proc.returncode is not None:
            raise StackError(f"{child.name} exited ({describe(child.proc.returncode)}) "
                             f"before {what} (see {child.name}'s log above)")  # fmt: skip
        if time.monotonic() > deadline:
            raise StackError(f"timed out after {timeout_s:g} s waiting for {what}")
        await asyncio.sleep(0.1)


def _lock(data_dir: Path) -> int:
    fd = os.open(data_dir / "up.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StackError(f"`oneclick up` is already running on {data_dir}", 2) from None
    return fd


def curl_example(api_url: str, manifest: dict[str, Any], now: datetime | None = None) -> str:
    """A dry EXACT_INPUT quote of 100 USDC on Ethereum to USDC on Arbitrum, alice to bob, with a
    deadline an hour after ``now`` (well inside the service's maximum, 24 h by default)."""
    deadline = (now or datetime.now(UTC)) + timedelta(hours=1)

    def asset(chain: str, symbol: str) -> str:
        return next(
            (a["assetId"] for a in manifest["assets"]
             if a["chain"] == chain and a["symbol"] == symbol),
            "?",
        )  # fmt: skip

    def wallet(chain: str, name: str) -> str:
        return next(
            (w["address"] for w in manifest["wallets"]
             if w["chain"] == chain and w["name"] == name),
            "?",
        )  # fmt: skip

    body = {
        "dry": True,
        "swapType": "EXACT_INPUT",
        "slippageTolerance": 100,
        "originAsset": asset("eth:1", "USDC"),
        "depositType": "ORIGIN_CHAIN",
        "destinationAsset": asset("eth:42161", "USDC"),
        "amount": "100000000",
        "refundTo": wallet("eth:1", "alice"),
        "refundType": "ORIGIN_CHAIN",
        "recipient": wallet("eth:42161", "bob"),
        "recipientType": "DESTINATION_CHAIN",
        "deadline": deadline.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return (
        f"curl -s -X POST {api_url}/v0/quote -H 'content-type: application/json' \\\n"
        f"  -d '{json.dumps(body)}'"
    )


def _prepare_config(
    data_dir: Path, manifest: dict[str, Any], host: str, port: int, upstream_url: str | None = None
) -> bool:
    """Write the configuration for ``manifest``; whether it changed."""
    path = data_dir / CONFIG_FILE
    text = config_toml(manifest, api_host=host, api_port=port, upstream_url=upstream_url)
    with contextlib.suppress(FileNotFoundError):
        if path.read_text() == text:
            return False
    write_atomic(path, text)
    return True


def _ensure_keys(data_dir: Path) -> None:
    settings = load_settings(data_dir=data_dir)
    if settings.keys_from_env or settings.key_file.exists():
        return
    material = init_key_file(settings.key_file)
    echo(f"created {settings.key_file} (manager public key {material.manager_public_key})")


async def _api_answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=5.0) as http:
            response = await http.get(url + "/v0/tokens")
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def run_stack(
    data_dir: Path,
    host: str,
    port: int,
    stop: asyncio.Event,
    log_format: str = "text",
    *,
    protocol_fee_pips: int = DEFAULT_PROTOCOL_FEE_PIPS,
    upstream: bool = False,
) -> int:
    """Run the stack from an existing, absolute ``data_dir`` until ``stop``; the exit status.
    ``upstream``: a second oneclick under ``data_dir/upstream`` plays the hosted 1Click (on the
    devnet's PoA bridge) and the API on ``port`` runs in upstream mode against it.
    ``log_format`` (json or text): how the children's log lines are echoed on our stdout. The
    devnet's verifier charges ``protocol_fee_pips``."""
    lock = _lock(data_dir)
    stack = Stack(data_dir, host, port, log_format=log_format)
    stack_file = data_dir / STACK_FILE
    started = time.monotonic()
    try:
        if not is_generated(data_dir / CONFIG_FILE):
            raise StackError(
                f"{data_dir / CONFIG_FILE} was not written by `oneclick up`: not overwriting it", 2
            )
        _ensure_keys(data_dir)
        devnet = await stack.spawn("devnet", "-m", "devnet", "--data-dir", str(data_dir),
                                   "--host", host,
                                   "--protocol-fee-pips", str(protocol_fee_pips))  # fmt: skip
        manifest = await _devnet_manifest(data_dir, devnet, stop)
        hosted = None
        if upstream:
            hosted = await _start_hosted(stack, data_dir / UPSTREAM_DIR, manifest, stop)
        upstream_url = hosted.url if hosted else None
        _prepare_config(data_dir, manifest, host, port, upstream_url)
        config = data_dir / CONFIG_FILE
        settings = load_settings(config, data_dir=data_dir)
        keys = load_keys(settings)
        await _migrate(settings)
        common = ["--data-dir", str(data_dir), "--config", str(config), "--log-format", "json"]
        # upstream mode: the front's partner JWT, in its environment (never in a file or args)
        front_env = {"ONECLICK_UPSTREAM__JWT": hosted.jwt} if hosted else None
        api = await stack.spawn("api", "-m", "oneclick.cli", "api", *common,
                                "--host", host, "--port", str(port), env=front_env)  # fmt: skip
        # The swap engine; comment this line out to run the API alone.
        await stack.spawn("worker", "-m", "oneclick.cli", "worker", *common, env=front_env)
        await _wait_for(
            lambda: _api_answers(stack.api_url), api, "the API", API_START_TIMEOUT_S, stop
        )

        def write_stack_file() -> None:
            doc = stack_document(
                manifest,
                api_url=stack.api_url,
                manager_public_key=keys.manager_public_key,
                config_file=config,
                children={c.name: c.pid for c in stack.children},
            )
            if hosted is not None:
                doc["upstream"] = {"api": hosted.url, "data_dir": str(hosted.data_dir),
                                   "manager_public_key": hosted.manager_public_key}  # fmt: skip
            write_atomic(stack_file, json.dumps(doc, indent=2) + "\n")

        async def restart(name: str, dead: Child) -> None:
            nonlocal manifest
            child = await stack.respawn(dead)
            if name == "devnet":
                manifest = await _devnet_manifest(data_dir, child, stop)
                stale: list[str] = []
                if hosted is not None and _prepare_config(
                    hosted.data_dir, manifest, hosted.host, hosted.port
                ):
                    stale += ["upstream-api", "upstream-worker"]
                if _prepare_config(data_dir, manifest, host, port, upstream_url):
                    stale += ["api", "worker"]
                for other in [c for c in stack.children if c.name in stale]:
                    echo(f"the devnet's addresses changed: restarting {other.name} on them")
                    await stack.respawn(other)
            write_stack_file()

        write_stack_file()
        _banner(stack, manifest, keys.manager_public_key, time.monotonic() - started, hosted)
        return await _supervise(stack, stop, restart)
    except StackError as exc:
        echo(f"error: {exc}", sys.stderr)
        return exc.code
    except ConfigurationError as exc:
        echo(f"error: {exc.message}", sys.stderr)
        return 2
    finally:
        stack_file.unlink(missing_ok=True)
        await stack.stop_all()
        os.close(lock)


async def _migrate(settings: Settings) -> None:
    db = connect_database(database_url(settings))
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    echo(f"database of {settings.data_dir} is up to date")


@dataclass(frozen=True)
class Hosted:
    """The stand-in for the hosted 1Click of ``oneclick up --upstream``."""

    data_dir: Path
    host: str
    port: int
    jwt: str = field(repr=False)  # the front's partner token: a secret
    manager_public_key: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


async def _start_hosted(
    stack: Stack, directory: Path, manifest: dict[str, Any], stop: asyncio.Event
) -> Hosted:
    """A second oneclick (its own keys, database and configuration, the devnet's PoA bridge),
    serving on a free port, and a partner JWT of it for the front instance."""
    await asyncio.to_thread(directory.mkdir, exist_ok=True)
    if not is_generated(directory / CONFIG_FILE):
        raise StackError(f"{directory / CONFIG_FILE} was not written by `oneclick up`", 2)
    port = _free_port(stack.host)
    _prepare_config(directory, manifest, stack.host, port)
    config = directory / CONFIG_FILE
    _ensure_keys(directory)
    settings = load_settings(config, data_dir=directory)
    keys = load_keys(settings)
    await _migrate(settings)
    common = ["--data-dir", str(directory), "--config", str(config), "--log-format", "json"]
    api = await stack.spawn("upstream-api", "-m", "oneclick.cli", "api", *common,
                            "--host", stack.host, "--port", str(port))  # fmt: skip
    await stack.spawn("upstream-worker", "-m", "oneclick.cli", "worker", *common)
    hosted = Hosted(directory, stack.host, port, "", keys.manager_public_key)
    await _wait_for(
        lambda: _api_answers(hosted.url), api, "the upstream 1Click", API_START_TIMEOUT_S, stop
    )
    return replace(hosted, jwt=await _front_token(settings, keys.jwt_secret))


async def _front_token(settings: Settings, secret: bytes) -> str:
    """A JWT of the partner ``front`` of the upstream (registered on first use)."""
    db = connect_database(database_url(settings))
    now = datetime.now(UTC)
    try:
        store = SqlStore(db)
        async with store.transaction() as tx:
            partner = await tx.partners.by_name(FRONT_PARTNER)
        if partner is not None:
            return issue_token(partner, secret, now)
        _, token = await add_partner(store, FRONT_PARTNER, secret=secret, now=now, ttl=None)
        return token
    finally:
        await db.dispose()


async def _devnet_manifest(data_dir: Path, devnet: Child, stop: asyncio.Event) -> dict[str, Any]:
    """The manifest of this devnet process, once it is up."""

    def ready() -> dict[str, Any] | None:
        found = read_manifest(data_dir)
        return found if found is not None and found.get("pid") == devnet.pid else None

    manifest: dict[str, Any] = await _wait_for(
        ready, devnet, f"{manifest_path(data_dir)}", DEVNET_START_TIMEOUT_S, stop
    )
    return manifest


def restart_delay_s(crashes: int) -> float:
    """The wait before restarting a child after its ``crashes``-th crash in a row."""
    return float(min(RESTART_FIRST_S * 2 ** max(crashes - 1, 0), RESTART_MAX_S))


Restart = Callable[[str, Child], Awaitable[None]]


async def _supervise(stack: Stack, stop: asyncio.Event, restart: Restart) -> int:
    """Until ``stop``: restart every child that exits on its own, with backoff."""
    crashes: dict[str, int] = {}
    while True:
        waits = {asyncio.create_task(c.proc.wait()): c for c in stack.children}
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *waits], return_when=asyncio.FIRST_COMPLETED)
        for task in [stopper, *waits]:
            task.cancel()
        if stopper in done:
            echo("stopping (signal received)")
            return 0
        dead = next(waits[t] for t in done if t in waits)
        healthy = time.monotonic() - dead.started_at >= HEALTHY_AFTER_S
        crashes[dead.name] = 1 if healthy else crashes.get(dead.name, 0) + 1
        delay = restart_delay_s(crashes[dead.name])
        echo(f"{dead.name} exited unexpectedly ({describe(dead.proc.returncode)}): "
             f"restarting it in {delay:g} s (crash {crashes[dead.name]} in a row)")  # fmt: skip
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        if stop.is_set():
            echo("stopping (signal received)")
            return 0
        try:
            await restart(dead.name, dead)
        except StackError as exc:
            if stop.is_set():
                return 0
            # The new process is in stack.children: if it died it is seen at once, else it is
            # stopped here and seen the same way (and retried after a longer backoff).
            echo(f"restarting {dead.name} failed: {exc}")
            failed = stack.child(dead.name)
            if failed is not None:
                await failed.stop(STOP_TIMEOUT_S.get(failed.name, 15.0))
            continue
        echo(f"{dead.name} restarted")


def _banner(
    stack: Stack,
    manifest: dict[str, Any],
    manager_key: str,
    took_s: float,
    hosted: Hosted | None = None,
) -> None:
    lines = [
        f"oneclick is up in {took_s:.1f} s (data in {stack.data_dir})",
        f"  1Click API      {stack.api_url}   (GET /v0/tokens, POST /v0/quote, GET /v0/status)",
        f"  manager key     {manager_key}   (verifyQuoteSignature)",
        f"  NEAR RPC        {manifest['near_rpc']}",
        f"  solver relay    {manifest['relay']}",
        f"  PoA bridge      {manifest['bridge']}",
        f"  prices          {manifest['prices']}",
        f"  devnet control  {manifest['control']}",
        f"  stack file      {stack.data_dir / STACK_FILE}",
        "Try a quote:",
        curl_example(stack.api_url, manifest),
        "Devnet wallets and balances: oneclick devnet info; stop with Ctrl-C.",
    ]
    if hosted is not None:
        lines.insert(6, f"  upstream 1Click {hosted.url}   (the front's chain legs; data in "
                        f"{hosted.data_dir})")  # fmt: skip
    # Plain lines (no prefix) so that the curl command can be pasted as it is.
    sys.stdout.write("\n" + "\n".join(lines) + "\n\n")
    sys.stdout.flush()


DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default ./.oneclick).")
]


def up(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Listen address of every server.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the 1Click API.")] = 8080,
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format",
            help="How the API's and the worker's log lines are shown: json (one object per "
            "line), text, or auto (text on a terminal, else json). Their files under "
            "DATA_DIR/logs are JSON lines.",
        ),
    ] = "auto",
    protocol_fee_pips: Annotated[
        int,
        typer.Option(
            min=0,
            max=999_999,
            help="The devnet verifier's protocol fee in pips (1e-6); 1 as on mainnet.",
        ),
    ] = DEFAULT_PROTOCOL_FEE_PIPS,
    upstream: Annotated[
        bool,
        typer.Option(
            "--upstream",
            help="Also start a second oneclick on the devnet's PoA bridge as the hosted 1Click "
            "(DATA_DIR/upstream) and run the API in upstream mode against it.",
        ),
    ] = False,
) -> None:
    """Start the devnet, the API and a worker on loopback, supervised, until Ctrl-C."""
    if log_format not in LOG_FORMATS:
        echo(f"error: --log-format must be one of {', '.join(LOG_FORMATS)}", sys.stderr)
        raise typer.Exit(2)
    shown = "json" if wants_json(log_format, sys.stdout) else "text"
    directory = data_dir or Path(os.environ.get("ONECLICK_DATA_DIR") or DEFAULT_DATA_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    directory = directory.resolve()

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_stack(
            directory,
            host,
            port,
            stop,
            log_format=shown,
            protocol_fee_pips=protocol_fee_pips,
            upstream=upstream,
        )

    code = asyncio.run(main())
    if code:
        raise typer.Exit(code)
