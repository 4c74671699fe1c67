"""Run the NEAR RPC endpoint of a :class:`Verifier` with uvicorn on a given or free port: inside a
running event loop (:class:`RpcServer`) or on a thread of its own (:class:`ThreadedRpcServer`).
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Self

from devnet.serving import STARTUP_TIMEOUT_S, AppServer
from devnet.verifier.rpc import create_app
from devnet.verifier.verifier import Verifier


class RpcServer(AppServer):
    """``async with RpcServer(verifier) as server:`` serves on ``server.url`` until exit."""

    def __init__(self, verifier: Verifier, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(create_app(verifier), host=host, port=port)
        self.verifier = verifier


class ThreadedRpcServer:
    """The same server on its own thread and event loop, for synchronous callers."""

    def __init__(self, verifier: Verifier, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._inner = RpcServer(verifier, host=host, port=port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self._inner.url

    def _run(self) -> None:
        async def main() -> None:
            self._stop = asyncio.Event()
            self._loop = asyncio.get_running_loop()
            try:
                await self._inner.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                raise
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await self._inner.stop()

        asyncio.run(main())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="verifier-rpc", daemon=True)
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT_S) or self._error is not None:
            raise RuntimeError("the RPC server did not start") from self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(STARTUP_TIMEOUT_S)
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(verifier: Verifier, *, host: str = "127.0.0.1", port: int = 0) -> None:
    """Block serving ``verifier`` until interrupted (for a CLI or a supervisor)."""

    async def main() -> None:
        async with RpcServer(verifier, host=host, port=port) as server:
            print(f"NEAR RPC of {verifier.account_id} on {server.url}", flush=True)
            await asyncio.Event().wait()

    asyncio.run(main())
