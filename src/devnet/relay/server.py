"""Serve a :class:`~devnet.relay.relay.Relay` with uvicorn inside the running event loop:
``async with RelayServer(relay) as server:`` answers on ``server.url`` (JSON-RPC) and
``server.ws_url`` (solvers) until exit.
"""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType
from typing import Self

import uvicorn

from devnet.prices import STARTUP_TIMEOUT_S, listen
from devnet.relay.app import create_app
from devnet.relay.relay import Relay

# How long open solver connections get to close when the server stops.
SHUTDOWN_TIMEOUT_S = 5


class RelayServer:
    """The relay's HTTP and WebSocket endpoints on ``host:port`` (0: a free port).

    The relay's own pipeline is started and stopped by the :class:`Relay` (its context manager),
    not by the server, so one relay can outlive a server (e.g. to test solver reconnection).
    """

    def __init__(self, relay: Relay, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.relay = relay
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
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The JSON-RPC endpoint, as ``HttpSolverRelay`` takes it."""
        return f"{self.base_url}/rpc"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    async def start(self) -> None:
        self._sock = listen(self.host, self._port)
        config = uvicorn.Config(
            create_app(self.relay),
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws="websockets-sansio",
            ws_max_size=self.relay.config.max_message_bytes,
            timeout_graceful_shutdown=SHUTDOWN_TIMEOUT_S,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        async with asyncio.timeout(STARTUP_TIMEOUT_S):
            while not self._server.started:
                if self._task.done():
                    await self._task  # re-raises why it could not start
                    raise RuntimeError("the relay server stopped during startup")
                await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            # Solver sockets are closed first: uvicorn would otherwise wait for them.
            for connection in list(self.relay.hub.connections.values()):
                connection.close("server stopping")
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
