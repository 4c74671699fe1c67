"""Serve a :class:`~devnet.relay.relay.Relay` with uvicorn inside the running event loop:
``async with RelayServer(relay) as server:`` answers on ``server.url`` (JSON-RPC) and
``server.ws_url`` (solvers) until exit.
"""

from __future__ import annotations

from devnet.relay.app import create_app
from devnet.relay.relay import Relay
from devnet.serving import AppServer

# How long open solver connections get to close when the server stops.
SHUTDOWN_TIMEOUT_S = 5


class RelayServer(AppServer):
    """The relay's HTTP and WebSocket endpoints on ``host:port`` (0: a free port).

    The relay's own pipeline is started and stopped by the :class:`Relay` (its context manager),
    not by the server, so one relay can outlive a server (e.g. to test solver reconnection).
    """

    def __init__(self, relay: Relay, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(
            create_app(relay),
            host=host,
            port=port,
            ws="websockets-sansio",
            ws_max_size=relay.config.max_message_bytes,
            timeout_graceful_shutdown=SHUTDOWN_TIMEOUT_S,
        )
        self.relay = relay

    @property
    def base_url(self) -> str:
        return super().url

    @property
    def url(self) -> str:
        """The JSON-RPC endpoint, as ``HttpSolverRelay`` takes it."""
        return f"{self.base_url}/rpc"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    async def before_stop(self) -> None:
        # Solver sockets are closed first: uvicorn would otherwise wait for them.
        for connection in list(self.relay.hub.connections.values()):
            connection.close("server stopping")
