"""Run the NEAR RPC endpoint of a :class:`Verifier` with uvicorn on a given or free port: inside a
running event loop (:class:`RpcServer`) or on a thread of its own (:class:`ThreadedRpcServer`).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType
from typing import Self

import uvicorn

from devnet.verifier.rpc import create_app
from devnet.verifier.verifier import Verifier

STARTUP_TIMEOUT_S = 10.0


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class RpcServer:
    """``async with RpcServer(verifier) as server:`` serves on ``server.url`` until exit."""

    def __init__(self, verifier: Verifier, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.verifier = verifier
        self.host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("server not started")
        port: int = self._sock.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._sock = _bind(self.host, self._port)
        config = uvicorn.Config(
            create_app(self.verifier), lifespan="off", log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        async with asyncio.timeout(STARTUP_TIMEOUT_S):
            while not self._server.started:
                if self._task.done():
                    await self._task  # re-raises why it could not start
                    raise RuntimeError("the RPC server stopped during startup")
                await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        if self._sock is not None:
            self._sock.close()
        self._server = self._task = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


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
