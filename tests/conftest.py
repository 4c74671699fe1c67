"""Fixtures for tests that need real outside programs: a throwaway PostgreSQL server and the
official 1Click TypeScript SDK run with node.

- ``postgres_url``: a SQLAlchemy URL (``postgresql+psycopg://postgres@127.0.0.1:<port>/<db>``) to a
  fresh, empty database created for the test and dropped after it. The server behind it is started
  once per session, lazily (only when a test asks for ``postgres_url``), in a temp directory, on a
  free port of 127.0.0.1 with ``trust`` auth for local connections only; it is stopped and its
  directory removed at session end. As root it runs as ``nobody`` (PostgreSQL refuses root).
  The binaries are found as ``scripts/ensure-postgres`` finds them (``$ONECLICK_PG_BIN``, which
  ``make test`` sets from that script, else PATH, else ``/usr/lib/postgresql/<ver>/bin``).
- ``ts_verify_quote``: ``(response, public_key) -> bool``, the SDK's own ``verifyQuoteSignature``
  (``tests/conformance/ts_sdk/verify_quote.mjs``), for conformance tests of our quote signatures.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_BINARIES = ("initdb", "pg_ctl", "postgres")
PG_SUPERUSER = "postgres"
PG_START_TIMEOUT_S = 60.0
PG_STOP_TIMEOUT_S = 30.0
TS_VERIFY_QUOTE = REPO_ROOT / "tests" / "conformance" / "ts_sdk" / "verify_quote.mjs"
TS_SDK_PACKAGE = "@defuse-protocol/one-click-sdk-typescript"

# Property tests judge what is generated, not how fast: on a loaded machine hypothesis's
# per-example deadline and its "data generation is slow" health check fail correct code.
settings.register_profile("oneclick", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("oneclick")


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


def _has_pg_binaries(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in PG_BINARIES)


def pg_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, looked up as scripts/ensure-postgres
    does: $ONECLICK_PG_BIN (authoritative when set), the directory of ``initdb`` on PATH, then
    Debian's /usr/lib/postgresql/<version>/bin, newest first. None when there is none."""
    configured = os.environ.get("ONECLICK_PG_BIN")
    if configured:
        return Path(configured) if _has_pg_binaries(Path(configured)) else None
    on_path = shutil.which("initdb")
    if on_path and _has_pg_binaries(Path(on_path).parent):
        return Path(on_path).parent
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    for candidate in sorted(versions, key=lambda p: int(p.parent.name), reverse=True):
        if _has_pg_binaries(candidate):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # If pytest is killed outright (SIGKILL, os._exit) its finalizers never run: have the kernel
    # send the postmaster SIGINT (fast shutdown) when pytest goes, so no server outlives it.
    # Runs after the child switched user, so the setting survives until exec.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGINT, 0, 0, 0)


@dataclass
class PostgresCluster:
    """A running throwaway PostgreSQL server reachable over TCP on 127.0.0.1."""

    bin_dir: Path
    base_dir: Path
    port: int
    user: str = PG_SUPERUSER
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    _db_counter: int = 0

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    def connect_admin(self, timeout_s: int = 5) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname="postgres",
            autocommit=True,
            connect_timeout=timeout_s,
        )

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def next_database_name(self) -> str:
        self._db_counter += 1
        return f"test_{self._db_counter}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def _run_as(owner: pwd.struct_passwd | None) -> dict[str, Any]:
    """subprocess keyword arguments that run a command as ``owner`` (None: as ourselves)."""
    if owner is None:
        return {}
    return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}


def _start_cluster(bin_dir: Path) -> PostgresCluster:
    owner = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
    base_dir = Path(tempfile.mkdtemp(prefix="oneclick-pg-"))
    cluster = PostgresCluster(bin_dir=bin_dir, base_dir=base_dir, port=0)
    try:
        if owner is not None:
            os.chown(base_dir, owner.pw_uid, owner.pw_gid)
        env = {**os.environ, "HOME": str(base_dir), "LC_ALL": "C", "TZ": "UTC"}
        initdb = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "--pgdata",
                str(cluster.data_dir),
                "--username",
                PG_SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
                "--no-instructions",
            ],
            cwd=base_dir,
            env=env,
            capture_output=True,
            check=False,
            **_run_as(owner),
        )
        if initdb.returncode != 0:
            raise RuntimeError(
                f"initdb failed ({initdb.returncode}):\n"
                + initdb.stdout.decode(errors="replace")
                + initdb.stderr.decode(errors="replace")
            )
        # Only the loopback interface listens, so trust auth reaches no one but this machine.
        hba_lines = (
            "local all all trust",
            "host all all 127.0.0.1/32 trust",
            "host all all ::1/128 trust",
        )
        (cluster.data_dir / "pg_hba.conf").write_text("\n".join(hba_lines) + "\n")
        # A free port can be taken between choosing it and binding it: try a few.
        for _attempt in range(5):
            cluster.port = _free_port()
            if _launch(cluster, env, owner):
                return cluster
        raise RuntimeError(f"PostgreSQL did not start:\n{cluster.log_tail()}")
    except BaseException:
        _stop_cluster(cluster)
        raise


def _launch(cluster: PostgresCluster, env: dict[str, str], owner: pwd.struct_passwd | None) -> bool:
    """Start the postmaster on cluster.port and wait until it accepts connections. False when it
    exited during startup (e.g. the port was taken); raises when it never became ready."""
    with cluster.log_file.open("ab") as log:
        cluster.process = subprocess.Popen(
            [
                str(cluster.bin_dir / "postgres"),
                "-D",
                str(cluster.data_dir),
                "-p",
                str(cluster.port),
                "-c",
                f"listen_addresses={cluster.host}",
                "-c",
                f"unix_socket_directories={cluster.base_dir}",
                # A throwaway server: durability buys nothing, speed does.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            cwd=cluster.base_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches pytest, which stops it
            preexec_fn=_die_with_parent,
            **_run_as(owner),
        )
    deadline = time.monotonic() + PG_START_TIMEOUT_S
    while True:
        if cluster.process.poll() is not None:
            cluster.process = None
            return False
        try:
            with cluster.connect_admin(timeout_s=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"PostgreSQL not ready after {PG_START_TIMEOUT_S:.0f}s:\n{cluster.log_tail()}"
                ) from None
            time.sleep(0.02)  # poll interval, not a wait for readiness


def _stop_cluster(cluster: PostgresCluster) -> None:
    process = cluster.process
    if process is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)  # fast shutdown: ends sessions, then exits
        try:
            process.wait(timeout=PG_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    cluster.process = None
    shutil.rmtree(cluster.base_dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """Give every test the root logger as it found it. Commands run in-process (typer's
    ``CliRunner``: ``oneclick api``/``worker`` set up logging) leave a handler on the runner's
    captured stdout, closed once the command returns; a later test's log line would then print
    "--- Logging error ---" into that test's own captured output."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL server for the whole session, started on first use."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: run "
            "scripts/ensure-postgres (make test does), or set ONECLICK_PG_BIN to their directory",
            pytrace=False,
        )
    cluster = _start_cluster(bin_dir)
    try:
        yield cluster
    finally:
        _stop_cluster(cluster)


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A SQLAlchemy URL to a fresh empty database, dropped after the test."""
    name = postgres_cluster.next_database_name()
    with postgres_cluster.connect_admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres_cluster.url(name)
    finally:
        with postgres_cluster.connect_admin() as conn:
            # FORCE: a test that left a connection open must not keep its database alive.
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# --------------------------------------------------------------------------------------------
# The official TypeScript SDK
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ts_verify_quote() -> Callable[[dict[str, Any], str], bool]:
    """``verify(response, public_key)``: the TS SDK's ``verifyQuoteSignature`` on a quote response
    (the JSON body of POST /v0/quote) against an ``ed25519:…`` public key."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the TypeScript SDK tests need node 20", pytrace=False)
    if not (REPO_ROOT / "node_modules" / TS_SDK_PACKAGE / "package.json").is_file():
        pytest.fail(
            f"{TS_SDK_PACKAGE} is not installed in node_modules: run `make test` "
            "(or `npm ci` at the repository root)",
            pytrace=False,
        )

    def verify(response: dict[str, Any], public_key: str) -> bool:
        request = json.dumps({"response": response, "publicKey": public_key})
        done = subprocess.run(
            [node, str(TS_VERIFY_QUOTE)],
            input=request.encode(),
            capture_output=True,
            cwd=REPO_ROOT,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"{TS_VERIFY_QUOTE.name} failed ({done.returncode}): "
                + done.stderr.decode(errors="replace")
            )
        answer = json.loads(done.stdout)
        valid = answer["valid"]
        assert isinstance(valid, bool), answer
        return valid

    return verify
