"""Follow ``GET /v0/status/stream`` over real HTTP in a thread (for tests that drive a swap
with something else, such as the TypeScript SDK)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx


def parse_event(lines: list[str]) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for line in lines:
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            event["data"] = event.get("data", "") + value
        elif name:
            event[name] = value
    if "data" in event:
        event["data"] = json.loads(event["data"])
    return event


class StreamFollower(threading.Thread):
    """Reads one swap's stream to its end; ``events`` are the SSE events (comments dropped)."""

    def __init__(self, api_url: str, deposit_address: str, timeout_s: float = 300.0) -> None:
        super().__init__(daemon=True)
        self.url = f"{api_url}/v0/status/stream"
        self.params = {"depositAddress": deposit_address}
        self.timeout_s = timeout_s
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            timeout = httpx.Timeout(10.0, read=60.0)  # heartbeats come every 15 s
            with httpx.stream("GET", self.url, params=self.params, timeout=timeout) as response:
                response.raise_for_status()
                block: list[str] = []
                for line in response.iter_lines():
                    if line:
                        block.append(line)
                        continue
                    if block and not all(part.startswith(":") for part in block):
                        self.events.append(parse_event(block))
                    block = []
        except BaseException as exc:  # reported by the test thread
            self.error = exc

    def statuses(self) -> list[tuple[str, str]]:
        return [(e["id"], e["data"]["status"]) for e in self.events if e.get("event") == "status"]


def deposit_addresses(database: Path) -> set[str]:
    """Every swap's deposit address in the service's SQLite file (read-only)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return {str(row[0]) for row in conn.execute("SELECT deposit_address FROM swaps")}


def new_deposit_address(database: Path, known: set[str], timeout_s: float = 120.0) -> str:
    """The first deposit address not in ``known``: how a test learns of a swap that another
    client (the TypeScript SDK) is making."""
    give_up = time.monotonic() + timeout_s
    while True:
        fresh = deposit_addresses(database) - known
        if fresh:
            return fresh.pop()
        if time.monotonic() > give_up:
            raise AssertionError(f"no new swap in {database} within {timeout_s} s")
        time.sleep(0.05)  # polling a condition: the new swap's row
