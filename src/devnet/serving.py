"""The one way the devnet serves an ASGI app: uvicorn inside the running event loop, on a given
or free loopback port, started when it answers and stopped gracefully. Every devnet service
(verifier NEAR RPC, relay, bridge, prices, control API) is an :class:`AppServer`.
"""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType
from typing import Any, Self

import uvicorn

STARTUP_TIMEOUT_S = 10.0


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: the OS picks), ready to hand to uvicorn."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class AppServer:
    """``async with AppServer(app) as server:`` serves ``app`` on ``server.url`` until exit.

    Subclasses add their own work with :meth:`after_start` and :meth:`before_stop`; extra
    keyword arguments are uvicorn ``Config`` options (e.g. WebSocket settings)."""

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, **uvicorn_options: Any
    ) -> None:
        self._app = app
        self.host = host
        self._port = port
        self._options = uvicorn_options
        self._sock: socket.socket | None = None
        self._bound_port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("server not started")
        return self._bound_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._sock = listen(self.host, self._port)
        # read now: while stopping, the listening socket is closed before ``before_stop`` runs
        self._bound_port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self._app, lifespan="off", log_level="warning", access_log=False, **self._options
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        async with asyncio.timeout(STARTUP_TIMEOUT_S):
            while not self._server.started:
                if self._task.done():
                    await self._task  # re-raises why it could not start
                    raise RuntimeError(f"{type(self).__name__} stopped during startup")
                await asyncio.sleep(0.005)
        await self.after_start()

    async def after_start(self) -> None:
        """Hook: runs once the server answers."""

    async def before_stop(self) -> None:
        """Hook: runs before the server is told to exit."""

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            # Stop accepting before anything else: uvicorn notices ``should_exit`` only on its
            # next tick (every 0.1 s) and keeps accepting until then, so a client that retries
            # fast (a solver reconnects after 50 ms) would get in after ``before_stop`` closed
            # what was open, and be served by a server on its way out.
            for listener in self._server.servers:
                listener.close()
            await self.before_stop()
            self._server.should_exit = True
            await self._task
        if self._sock is not None:
            self._sock.close()
        self._server = self._task = None
        self._sock = None

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
