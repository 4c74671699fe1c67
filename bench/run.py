"""``python -m bench``: runs every scenario, prints a table, saves bench/results/<UTC time>.json.

(a) GET /v0/status (SQLite holding --swaps swaps, random addresses) and GET /v0/tokens at 1, 16
    and 64 connections, measured with wrk (bench/wrk.py), each right after the same load on a
    bare Starlette endpoint serving the same body the same way (uvicorn, one process): the ratio
    is what the service costs over the framework.
(b) POST /v0/quote, dry and non-dry, with two reference solvers on an in-process devnet relay,
    through the real protocol clients (HTTP JSON-RPC relay, NEAR RPC views, price feed).
(c) The swap pipeline on the real devnet (``oneclick up``): --pipeline-swaps swaps USDC eth:1 ->
    USDC Arbitrum one after the other, the time from the deposit to SUCCESS split by step, beside
    the chain's floor (confirmations x block time). See bench/pipeline.py.
(d) Many swaps: --many concurrent swaps through the engine on the fakes world, each worker in a
    process of its own: a SQLite file with one worker, then a throwaway PostgreSQL with one and
    with two: wall time, steps/s, swaps/s, worker CPU per step, peak memory, and zero losses.
    See bench/swaps.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table

from bench import pipeline, postgres
from bench import wrk as wrk_load
from bench.load import Request, Result, run_load
from bench.serve import HTTP, LOOP

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
CONCURRENCY = (1, 16, 64)
READY_TIMEOUT_S = 120.0
PIDS: dict[str, int] = {}  # each running server's process, by URL (its CPU time is measured)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def server(mode: str, *args: str, ready: Path | None = None) -> Iterator[str]:
    """``python -m bench.serve MODE`` on a free port, its own process group; its URL once it
    answers (and ``ready`` exists). SIGTERM, then SIGKILL, on the way out."""
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.serve", mode, "--port", str(port), *args],
        cwd=ROOT.parent, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    PIDS[url] = process.pid
    try:
        give_up = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"bench.serve {mode} exited with {process.returncode}")
            if ready is None or ready.exists():
                with contextlib.suppress(httpx.HTTPError):
                    httpx.get(url + "/", timeout=1)
                    yield url
                    return
            if time.monotonic() > give_up:
                raise RuntimeError(f"bench.serve {mode} not ready after {READY_TIMEOUT_S:.0f} s")
            time.sleep(0.1)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def devnet_server(work: Path) -> Iterator[Path]:
    """The devnet (no HTTP of its own at the root: ready when its URL file is written)."""
    out = work / "devnet.json"
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.serve", "devnet", "--out", str(out)],
        cwd=ROOT.parent, start_new_session=True,
    )  # fmt: skip
    try:
        give_up = time.monotonic() + READY_TIMEOUT_S
        while not out.exists():
            if process.poll() is not None or time.monotonic() > give_up:
                raise RuntimeError("the bench devnet did not start")
            time.sleep(0.1)
        yield out
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())  # the machine is shared: say how busy
    server = f"uvicorn {uvicorn.__version__}, {HTTP} parser, {LOOP} loop, 1 process"
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform(), "load": load, "server": server}  # fmt: skip


def _load(name: str, url: str, make: Any, c: int, args: argparse.Namespace) -> Result:
    return asyncio.run(
        run_load(name, url, make, concurrency=c, duration_s=args.duration,
                 max_requests=args.max_requests)
    )  # fmt: skip


def _poll_once(url: str, paths: list[str]) -> None:
    """Every status path read once before the measure: what the service has cached is then what
    it holds once its integrators poll (every live swap, every few seconds), not the first read
    of each swap, which renders it (the 1 s warm-up of a wrk run reaches a tenth of them)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for path in paths:
            client.get(path).raise_for_status()


def read_scenarios(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    """GET /v0/status and /v0/tokens with ``wrk``: both servers up at once, and each scenario
    measured ``--rounds`` times on the service and, right after each, on the bare baseline, so
    both see the same load from the rest of the machine."""
    rows: list[dict[str, Any]] = []
    wrk = wrk_load.binary()
    out = work / "fake.json"
    with server("fake", "--db", str(work / "bench.db"), "--swaps", str(args.swaps),
                "--out", str(out), ready=out) as api:  # fmt: skip
        addresses = json.loads(out.read_text())["addresses"]
        sample = httpx.get(api + "/v0/status", params={"depositAddress": addresses[0]}).json()
        bodies = {"status": sample, "tokens": httpx.get(api + "/v0/tokens").json()}
        (work / "bodies.json").write_text(json.dumps(bodies))
        status = [f"/v0/status?{urlencode({'depositAddress': a})}" for a in addresses]
        _poll_once(api, status)
        with server("baseline", "--bodies", str(work / "bodies.json")) as bare:
            for name, paths in (("GET /v0/status", status), ("GET /v0/tokens", ["/v0/tokens"])):
                for c in CONCURRENCY:
                    # alternate service and bare, round by round: the machine's load drifts
                    measured: list[wrk_load.WrkResult] = []
                    base: list[wrk_load.WrkResult] = []
                    for _ in range(args.rounds):
                        for url, label, into in (
                            (api, name, measured),
                            (bare, f"{name} (bare Starlette)", base),
                        ):
                            into.append(wrk_load.run(wrk, label, url, paths, concurrency=c,
                                                     duration_s=args.duration,
                                                     pid=PIDS[url]))  # fmt: skip
                    row = _row(wrk_load.combine(measured), wrk_load.combine(base))
                    # each round's share apart: how far the machine's load swung the ratio
                    row["round_shares"] = [round(m.throughput / b.throughput, 3)
                                           for m, b in zip(measured, base, strict=True)
                                           if b.throughput]  # fmt: skip
                    row["load_1m"] = round(os.getloadavg()[0], 1)  # the machine is shared
                    rows.append(row)
    return rows


def quote_scenarios(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with devnet_server(work) as urls, server("api", "--devnet", str(urls),
                                             "--db", str(work / "quotes.db")) as api:  # fmt: skip

        def quote(dry: bool) -> Any:
            def make(_: int) -> Request:
                deadline = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
                body = {
                    "dry": dry,
                    "swapType": "EXACT_INPUT",
                    "slippageTolerance": 100,
                    "originAsset": "nep141:usdc.near",
                    "destinationAsset": "nep141:wrap.near",
                    "amount": "25000000",
                    "depositType": "INTENTS",
                    "refundType": "INTENTS",
                    "recipientType": "INTENTS",
                    "recipient": "bob.near",
                    "refundTo": "alice.near",
                    "deadline": deadline.replace("+00:00", "Z"),
                }
                return ("POST", "/v0/quote", {"json": body})  # fmt: skip

            return make

        for dry in (True, False):
            for c in (1, 16):
                name = f"POST /v0/quote ({'dry' if dry else 'non-dry'}, 2 solvers)"
                httpx.delete(api + "/bench/stages")
                result = _load(name, api, quote(dry), c, args)
                row = _row(result, None)
                if c == 1:  # one quote at a time: the tally per quote is its breakdown
                    row["stages_ms"] = _per_quote(httpx.get(api + "/bench/stages").json())
                    row["mean_ms"] = round(1000 * sum(result.latencies_s) / result.ok, 3)
                rows.append(row)
    return rows


def _per_quote(tally: dict[str, dict[str, float]]) -> dict[str, float]:
    """Milliseconds per quote by port method (each quote asks the relay once)."""
    quotes = tally.get("relay.quote", {}).get("calls", 0) or 1
    return {k: round(1000 * v["seconds"] / quotes, 3) for k, v in sorted(tally.items())}


def many_swaps(args: argparse.Namespace, work: Path, console: Console) -> list[dict[str, Any]]:
    """``python -m bench.swaps`` per backend, each in its own process (its own peak memory)."""
    rows: list[dict[str, Any]] = []

    def one(backend: str, url: str, n: int, workers: int, quote_concurrency: int) -> None:
        out = work / f"swaps-{backend}.json"
        console.print(f"many swaps: {n} on {backend}, {workers} worker(s)…")
        subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.swaps", "--db", url, "--swaps", str(n),
             "--workers", str(workers), "--quote-concurrency", str(quote_concurrency),
             "--out", str(out)],
            cwd=ROOT.parent, check=True, timeout=args.many_timeout,
        )  # fmt: skip
        rows.append({"backend": backend, **json.loads(out.read_text())})

    one("SQLite", f"sqlite+aiosqlite:///{work / 'swaps.db'}", args.many, 1, 1)
    binaries = postgres.bin_dir()
    if args.many_postgres <= 0:
        return rows
    if binaries is None:
        console.print("many swaps on PostgreSQL skipped: no PostgreSQL (scripts/ensure-postgres)")
        return rows
    with postgres.cluster(binaries) as base:
        # One worker process, then two, on the same server: the ratio is the scaling.
        for workers in (1, 2):
            url = postgres.create_database(base, f"swaps{workers}")
            one("PostgreSQL", url, args.many_postgres, workers, 8)
    return rows


def _row(result: Result | wrk_load.WrkResult, base: wrk_load.WrkResult | None) -> dict[str, Any]:
    row = result.summary()
    if base is not None:
        row["baseline"] = base.summary()
        row["ratio_p50"] = round(row["p50_ms"] / base.p50_ms, 2) if base.p50_ms else None
        row["ratio_p99"] = round(row["p99_ms"] / base.p99_ms, 2) if base.p99_ms else None
        # the service's throughput as a share of the bare framework's (the target)
        share = result.throughput / base.throughput if base.throughput else None
        row["share_of_bare"] = round(share, 3) if share is not None else None
        # the same share by CPU per request: what the load from the rest of the machine
        # changes least (the bare app's CPU per request over the service's)
        mine, bare = row.get("cpu_ms_per_request"), base.cpu_ms_per_request
        row["cpu_share_of_bare"] = round(bare / mine, 3) if mine and bare else None
    return row


def render(rows: list[dict[str, Any]], info: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"oneclick bench — {info['cpu']} x{info['nproc']}, Python {info['python']},"
        f" load average {info['load']}"
    )
    columns = ("scenario", "conns", "req", "err", "req/s", "p50 ms", "p99 ms", "bare req/s",
               "bare p50 ms", "bare p99 ms", "% of bare", "p99 x bare", "CPU % of bare",
               "load")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for row in rows:
        base = row.get("baseline") or {}
        table.add_row(
            row["name"], str(row["concurrency"]), str(row["requests"]), str(row["errors"]),
            f"{row['throughput_rps']:.0f}", f"{row['p50_ms']:.2f}", f"{row['p99_ms']:.2f}",
            *(
                (f"{base['throughput_rps']:.0f}", f"{base['p50_ms']:.2f}",
                 f"{base['p99_ms']:.2f}", f"{100 * row['share_of_bare']:.0f} %",
                 f"{row['ratio_p99']:.1f}", _percent(row.get("cpu_share_of_bare")),
                 str(row.get("load_1m", "")))
                if base else ("", "", "", "", "", "", "")
            ),
        )  # fmt: skip
    console.print(table)


def _percent(share: float | None) -> str:
    return f"{100 * share:.0f} %" if share is not None else "-"


def _spread(shares: list[float] | None) -> str:
    """The rounds' shares of bare, lowest to highest."""
    if not shares:
        return "-"
    return f"{100 * min(shares):.0f}-{100 * max(shares):.0f} %"


def markdown(rows: list[dict[str, Any]], info: dict[str, Any]) -> str:
    """The HTTP rows as the README's table (bench/results/<stamp>.md; paste it in the README)."""
    lines = [
        f"{info['cpu']} x{info['nproc']}, load average at the start {info.get('load', '?')}, "
        f"every server on {info.get('server', '?')}",
        "",
        "| scenario | conns | req/s | p50 ms | p99 ms | bare req/s | bare p99 ms | % of bare"
        " | rounds: % of bare | p99 ÷ bare | CPU/req % of bare | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        base = row.get("baseline")
        cells = [f"`{row['name']}`", str(row["concurrency"]), f"{row['throughput_rps']:,.0f}",
                 f"{row['p50_ms']:.1f}", f"{row['p99_ms']:.1f}"]  # fmt: skip
        if base:
            cells += [f"{base['throughput_rps']:,.0f}", f"{base['p99_ms']:.1f}",
                      f"{100 * row['share_of_bare']:.0f} %", _spread(row.get("round_shares")),
                      f"{row['ratio_p99']:.1f}", _percent(row.get("cpu_share_of_bare")),
                      str(row.get("load_1m", "-"))]  # fmt: skip
        else:
            cells += ["-"] * 7
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_stages(rows: list[dict[str, Any]], console: Console) -> None:
    quotes = [r for r in rows if "stages_ms" in r]
    if not quotes:
        return
    table = Table(title="where a quote's time goes (ms per quote, one client; bench/stages.py)")
    table.add_column("stage")
    for row in quotes:
        table.add_column(row["name"].removeprefix("POST /v0/quote "), justify="right")
    stages = sorted({k for r in quotes for k in r["stages_ms"]})
    for stage in stages:
        table.add_row(stage, *(f"{r['stages_ms'].get(stage, 0):.2f}" for r in quotes))
    table.add_row("mean latency", *(f"{r['mean_ms']:.2f}" for r in quotes))
    console.print(table)


def render_pipeline(result: dict[str, Any], console: Console) -> None:
    table = Table(title="swap pipeline on the devnet (oneclick up)",
                  caption=f"{result['completed']}/{result['swaps']} swaps USDC eth:1 → USDC "
                          f"Arbitrum; floor: {result['confirmations']['eth:1']} confirmations x "
                          f"{result['block_s']} s measured block time")  # fmt: skip
    for column in ("step", "p50 s", "max s", "floor s"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for stage, numbers in result["stages"].items():
        floor = result["floor_s"].get(stage)
        table.add_row(stage, *(f"{numbers[k]:.2f}" for k in ("p50_s", "max_s")) if numbers
                      else ("-", "-"), f"{floor:.2f}" if floor is not None else "")  # fmt: skip
    console.print(table)


def render_many(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="many concurrent swaps through the engine (fakes world, fake clock)")
    for column in ("database", "worker processes", "swaps", "quotes s", "engine s", "swaps/s",
                   "steps/s", "worker CPU ms/step", "writes/commit", "peak MB", "outcome",
                   "losses"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("database", "outcome") else "right")
    for row in rows:
        outcome = ", ".join(f"{n} {s}" for s, n in row["statuses"].items())
        table.add_row(row["backend"], str(row["workers"]), str(row["swaps"]),
                      f"{row['quote_s']:.1f}", f"{row['engine_s']:.1f}",
                      f"{row['swaps_per_s']:.1f}", f"{row['steps_per_s']:.0f}",
                      f"{1000 * sum(row['worker_cpu_s']) / max(row['steps'], 1):.2f}",
                      f"{row['writes_per_commit']:.1f}",
                      f"{row['peak_rss_mb']:.0f}", outcome, str(len(row["losses"])))  # fmt: skip
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per scenario")
    parser.add_argument("--rounds", type=int, default=3,
                        help="HTTP reads: service/bare alternations per scenario")  # fmt: skip
    parser.add_argument("--max-requests", type=int, default=50_000, help="cap per scenario")
    parser.add_argument("--swaps", type=int, default=10_000, help="swaps in the status DB")
    parser.add_argument("--pipeline-swaps", type=int, default=5, help="swaps on the devnet")
    parser.add_argument("--many", type=int, default=1000, help="concurrent swaps (fakes world)")
    parser.add_argument(
        "--many-postgres",
        type=int,
        default=1000,
        help="concurrent swaps on PostgreSQL, with 1 then 2 worker processes",
    )
    parser.add_argument("--many-timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--only", choices=["read", "quote", "pipeline", "swaps"],
                        help="one group of scenarios")  # fmt: skip
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 160)
    info = machine()
    rows: list[dict[str, Any]] = []
    flow: dict[str, Any] | None = None
    many: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="oneclick-bench-") as tmp:
        if args.only in (None, "read"):
            rows += read_scenarios(args, Path(tmp))
        if args.only in (None, "quote"):
            rows += quote_scenarios(args, Path(tmp))
        if args.only in (None, "pipeline") and args.pipeline_swaps > 0:
            console.print(f"swap pipeline: oneclick up, {args.pipeline_swaps} swaps…")
            flow = pipeline.run(Path(tmp), args.pipeline_swaps)
        if args.only in (None, "swaps") and args.many > 0:
            many = many_swaps(args, Path(tmp), console)
    if rows:
        render(rows, info, console)
        render_stages(rows, console)
    if flow is not None:
        render_pipeline(flow, console)
    if many:
        render_many(many, console)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{stamp}.json"
    document = {"machine": info, "settings": vars(args), "results": rows, "pipeline": flow,
                "many_swaps": many}  # fmt: skip
    path.write_text(json.dumps(document, indent=2))
    if rows:
        path.with_suffix(".md").write_text(markdown(rows, info))
    console.print(f"saved {path.relative_to(ROOT.parent)}")
    return 0
