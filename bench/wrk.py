"""HTTP load with ``wrk`` (a C load generator: it does not saturate before the server does, as a
Python one would on 2 cores). ``scripts/ensure-wrk`` finds it or installs Debian's package."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
SCRIPT = ROOT / "wrk.lua"
ENSURE = ROOT.parent / "scripts" / "ensure-wrk"


def binary() -> str:
    """The wrk executable (installed with apt-get when missing, like PostgreSQL)."""
    done = subprocess.run(  # noqa: S603 - our own script
        ["bash", str(ENSURE)],  # noqa: S607 - bash from PATH, like the Makefile
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


@dataclass(frozen=True)
class WrkResult:
    name: str
    concurrency: int
    requests: int
    errors: int  # socket errors + non-2xx/3xx answers + timeouts
    elapsed_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    cpu_s: float = 0.0  # CPU time the server process spent meanwhile (0: not measured)

    @property
    def cpu_ms_per_request(self) -> float | None:
        """The server's CPU per answered request: what a busy shared machine changes least
        (throughput is what CPU the server got; this is what each request cost it)."""
        return 1000 * self.cpu_s / self.ok if self.cpu_s and self.ok else None

    @property
    def ok(self) -> int:
        return self.requests - self.errors

    @property
    def throughput(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name, "concurrency": self.concurrency, "requests": self.ok,
            "errors": self.errors, "elapsed_s": round(self.elapsed_s, 3),
            "throughput_rps": round(self.throughput, 1), "p50_ms": round(self.p50_ms, 3),
            "p90_ms": round(self.p90_ms, 3), "p99_ms": round(self.p99_ms, 3),
            "max_ms": round(self.max_ms, 3), "load": "wrk",
            "cpu_ms_per_request": round(self.cpu_ms_per_request, 4)
            if self.cpu_ms_per_request is not None else None,
        }  # fmt: skip


def combine(rounds: list[WrkResult]) -> WrkResult:
    """Rounds of one scenario as one result: counts and time summed (so the throughput is the
    overall one); latency percentiles the median of the rounds' (wrk reports no histogram)."""
    first = rounds[0]

    def median(values: list[float]) -> float:
        return statistics.median(values)

    return WrkResult(
        name=first.name, concurrency=first.concurrency,
        requests=sum(r.requests for r in rounds), errors=sum(r.errors for r in rounds),
        elapsed_s=sum(r.elapsed_s for r in rounds),
        p50_ms=median([r.p50_ms for r in rounds]), p90_ms=median([r.p90_ms for r in rounds]),
        p99_ms=median([r.p99_ms for r in rounds]), max_ms=max(r.max_ms for r in rounds),
        cpu_s=sum(r.cpu_s for r in rounds),
    )  # fmt: skip


def parse(name: str, concurrency: int, output: str) -> WrkResult:
    line = next(x for x in output.splitlines() if x.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    return WrkResult(
        name=name, concurrency=concurrency, requests=raw["requests"], errors=errors,
        elapsed_s=raw["duration_us"] / 1e6, p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000, p99_ms=raw["p99_us"] / 1000, max_ms=raw["max_us"] / 1000,
    )  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(
    wrk: str,
    name: str,
    base_url: str,
    paths: list[str],
    *,
    concurrency: int,
    duration_s: float,
    pid: int | None = None,
) -> WrkResult:
    """``wrk`` with ``concurrency`` connections for ``duration_s`` seconds, each request a random
    one of ``paths``; a short warm-up first (connections up, caches warm). With ``pid`` (the
    server's process), the CPU time it spent during the measured run too."""
    threads = min(2, concurrency)  # 2 cores: more wrk threads would only steal from the server
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as f:
        f.write("\n".join(paths) + "\n")

    def load(seconds: int) -> str:
        done = subprocess.run(  # noqa: S603 - wrk with our own script
            [wrk, f"-t{threads}", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s",
             "-s", str(SCRIPT), base_url, "--", f.name],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return done.stdout

    try:
        load(1)  # the warm-up
        cpu_before = cpu_seconds(pid) if pid is not None else 0.0
        result = parse(name, concurrency, load(max(1, math.ceil(duration_s))))
        if pid is not None:
            result = dataclasses.replace(result, cpu_s=cpu_seconds(pid) - cpu_before)
        return result
    finally:
        Path(f.name).unlink(missing_ok=True)
