"""A devnet server on its way out accepts nobody new: the listener is closed before the
``before_stop`` hook closes what is open, so a client that retries at once (a solver reconnects
after 50 ms) is refused instead of being served, and subscribed, by a stopping server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import connect

from devnet.relay import RelayServer
from devnet.relay.testing import relay_world
from devnet.serving import AppServer

pytestmark = pytest.mark.devnet


async def _plain_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _tcp_connect(port: int) -> BaseException | None:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        return exc
    writer.close()
    await writer.wait_closed()
    return None


class _Probing(AppServer):
    """Tries a new connection from inside ``before_stop``, as a fast-retrying client would."""

    probe: BaseException | str | None = "not probed"

    async def before_stop(self) -> None:
        self.probe = await _tcp_connect(self.port)


async def test_a_stopping_server_refuses_new_connections_before_its_hook_runs() -> None:
    server = _Probing(_plain_app)
    async with server:
        assert await _tcp_connect(server.port) is None  # serving: connections are accepted
    assert isinstance(server.probe, ConnectionRefusedError), server.probe


class _SolverRetryingRelay(RelayServer):
    """After the relay closed its solvers' sockets, a solver reconnects at once."""

    reconnect: BaseException | str | None = "not tried"

    async def before_stop(self) -> None:
        await super().before_stop()
        try:
            async with connect(self.ws_url, open_timeout=5):
                self.reconnect = None
        except OSError as exc:
            self.reconnect = exc


async def test_a_solver_reconnecting_while_the_relay_stops_is_refused() -> None:
    async with relay_world(fee_pips=0) as world:
        server = _SolverRetryingRelay(world.relay)
        async with server, connect(server.ws_url, open_timeout=5):
            pass  # the relay takes solvers while it serves
        assert isinstance(server.reconnect, ConnectionRefusedError), server.reconnect
