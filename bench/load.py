"""A closed-loop HTTP load generator: ``concurrency`` clients, each sending its next request as
soon as the previous one is answered, for ``duration_s`` or ``max_requests`` (whichever first)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Request = tuple[str, str, dict[str, Any]]  # method, path, httpx keyword arguments


@dataclass
class Result:
    name: str
    concurrency: int
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed_s: float = 0.0
    first_error: str | None = None

    @property
    def ok(self) -> int:
        return len(self.latencies_s)

    @property
    def throughput(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name, "concurrency": self.concurrency, "requests": self.ok,
            "errors": self.errors, "elapsed_s": round(self.elapsed_s, 3),
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.percentile(50) * 1000, 3),
            "p99_ms": round(self.percentile(99) * 1000, 3),
            "first_error": self.first_error,
        }  # fmt: skip


async def run_load(
    name: str,
    base_url: str,
    next_request: Callable[[int], Request],
    *,
    concurrency: int,
    duration_s: float,
    max_requests: int,
    warmup: int = 20,
) -> Result:
    result = Result(name, concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as http:
        for i in range(min(warmup, max_requests)):  # connections up, caches warm
            method, path, kw = next_request(i)
            await http.request(method, path, **kw)
        counter = itertools.count()
        start = time.perf_counter()
        stop_at = start + duration_s

        async def client() -> None:
            while time.perf_counter() < stop_at:
                n = next(counter)
                if n >= max_requests:
                    return
                method, path, kw = next_request(n)
                sent = time.perf_counter()
                try:
                    response = await http.request(method, path, **kw)
                    failed = response.status_code >= 400
                    if failed and result.first_error is None:
                        result.first_error = f"HTTP {response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    failed = True
                    result.first_error = result.first_error or repr(exc)
                if failed:
                    result.errors += 1
                else:
                    result.latencies_s.append(time.perf_counter() - sent)

        await asyncio.gather(*(client() for _ in range(concurrency)))
        result.elapsed_s = time.perf_counter() - start
    return result
