"""A throwaway PostgreSQL server for the benchmark (the logic of the root ``tests/conftest.py``):
initdb in a temp directory, trust auth on loopback only, durability off, as ``nobody`` when we
are root (PostgreSQL refuses root); stopped and removed on the way out."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

BINARIES = ("initdb", "pg_ctl", "postgres")
START_TIMEOUT_S = 60.0


def bin_dir() -> Path | None:
    """$ONECLICK_PG_BIN, else ``initdb`` on PATH, else Debian's newest /usr/lib/postgresql."""

    def complete(directory: Path) -> bool:
        return all(os.access(directory / name, os.X_OK) for name in BINARIES)

    if configured := os.environ.get("ONECLICK_PG_BIN"):
        return Path(configured) if complete(Path(configured)) else None
    if (on_path := shutil.which("initdb")) and complete(Path(on_path).parent):
        return Path(on_path).parent
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    for candidate in sorted(versions, key=lambda p: int(p.parent.name), reverse=True):
        if complete(candidate):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def cluster(binaries: Path) -> Iterator[str]:
    """A running server; yields the base URL ``postgresql+psycopg://postgres@127.0.0.1:PORT``."""
    owner = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
    as_owner: dict[str, Any] = (
        {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []} if owner else {}
    )
    base = Path(tempfile.mkdtemp(prefix="oneclick-bench-pg-"))
    data = base / "data"
    env = {**os.environ, "HOME": str(base), "LC_ALL": "C", "TZ": "UTC"}
    process: subprocess.Popen[bytes] | None = None
    try:
        if owner is not None:
            os.chown(base, owner.pw_uid, owner.pw_gid)
        subprocess.run(  # noqa: S603 - the PostgreSQL binaries we were pointed at
            [str(binaries / "initdb"), "--pgdata", str(data), "--username", "postgres",
             "--auth", "trust", "--encoding", "UTF8", "--locale", "C", "--no-sync",
             "--no-instructions"],
            cwd=base, env=env, capture_output=True, check=True, **as_owner,
        )  # fmt: skip
        (data / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")
        port = _free_port()
        with (base / "postgres.log").open("ab") as log:
            process = subprocess.Popen(  # noqa: S603
                [str(binaries / "postgres"), "-D", str(data), "-p", str(port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={base}",
                 "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=200"],
                cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, **as_owner,
            )  # fmt: skip
        give_up = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                                connect_timeout=1).close()  # fmt: skip
                break
            except psycopg.OperationalError:
                if process.poll() is not None or time.monotonic() > give_up:
                    raise RuntimeError("the benchmark's PostgreSQL did not start") from None
                time.sleep(0.05)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(base, ignore_errors=True)


def create_database(base_url: str, name: str) -> str:
    """A fresh database on the server; its SQLAlchemy URL."""
    port = int(base_url.rsplit(":", 1)[1])
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:  # fmt: skip
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"
