"""Headless Debian Chromium driven over the DevTools protocol (a WebSocket), for page tests.

``chromium_path()`` looks where scripts/ensure-chromium looks ($ONECLICK_CHROMIUM, then
``chromium``/``chromium-browser`` on PATH); ``make test`` installs the package when missing."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import websockets

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
START_TIMEOUT_S = 30.0


def chromium_path() -> str | None:
    given = os.environ.get("ONECLICK_CHROMIUM")
    if given:
        return given
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One Chromium process with a fresh profile showing ``url``; ``close()`` ends it."""

    def __init__(self, binary: str, profile: Path, url: str, size: str = "390,844") -> None:
        self.profile = profile
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             f"--window-size={size}", url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        self._ids = itertools.count(1)
        self._socket: Any = None

    async def connect(self) -> None:
        port_file = self.profile / "DevToolsActivePort"
        loop = asyncio.get_running_loop()
        give_up = loop.time() + START_TIMEOUT_S
        pages: list[dict[str, Any]] = []
        async with httpx.AsyncClient() as http:
            while not pages:
                if self.process.poll() is not None:
                    raise AssertionError(f"chromium exited with {self.process.returncode}")
                if loop.time() > give_up:
                    raise AssertionError("chromium did not open its DevTools port")
                if port_file.exists() and port_file.read_text().strip():
                    port = int(port_file.read_text().split()[0])
                    listing = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
                    pages = [p for p in listing if p.get("type") == "page"]
                if not pages:
                    await asyncio.sleep(0.05)  # polling a condition (the port file, the page)
        self._socket = await websockets.connect(pages[0]["webSocketDebuggerUrl"], max_size=None)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        ident = next(self._ids)
        await self._socket.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        while True:
            message = json.loads(await self._socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout_s: float = 30.0) -> Any:
        """Until ``expression`` is truthy in the page (a condition, polled)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + timeout_s
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if loop.time() > give_up:
                raise AssertionError(f"timed out waiting for {expression}")
            await asyncio.sleep(0.05)

    async def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode((await self.call("Page.captureScreenshot"))["data"])
        await asyncio.to_thread(path.write_bytes, data)
        return data

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        self.process.terminate()
        try:
            await asyncio.to_thread(self.process.wait, 10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait)
