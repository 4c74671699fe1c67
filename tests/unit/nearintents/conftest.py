"""Real local HTTP servers for the RPC client tests: a programmable JSON-RPC server (uvicorn +
Starlette on 127.0.0.1, OS-chosen port) that records what it receives, and a TCP server that
hangs up without answering.
"""

from __future__ import annotations

import asyncio
import json
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Handler = Callable[[dict[str, Any]], Any]
HANG = object()  # a handler answer meaning: hold the request until the test ends


@dataclass(frozen=True)
class Received:
    """One HTTP request as the server saw it."""

    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FakeRpcServer:
    """A JSON-RPC server whose answers each test programs, per method."""

    def __init__(self) -> None:
        self.url = ""
        self.received: list[Received] = []
        self._handlers: dict[str, Handler] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None

    # --- programming the answers ---

    def on(self, method: str, handler: Handler) -> None:
        """``handler(request_json)`` returns a Starlette ``Response``, ``HANG``, or a JSON value
        sent as a 200 body."""
        self._handlers[method] = handler

    def result(self, method: str, result: Any) -> None:
        self.on(method, lambda req: {"jsonrpc": "2.0", "id": req["id"], "result": result})

    def error(self, method: str, error: Any, status: int = 200) -> None:
        body = lambda req: {"jsonrpc": "2.0", "id": req["id"], "error": error}  # noqa: E731
        self.on(method, lambda req: JSONResponse(body(req), status_code=status))

    def raw(self, method: str, content: bytes, status: int = 200, media_type: str = "") -> None:
        self.on(method, lambda req: Response(content, status_code=status, media_type=media_type))

    def hang(self, method: str) -> None:
        self.on(method, lambda req: HANG)

    # --- inspection ---

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The JSON bodies received for ``method``, in order."""
        return [r.json() for r in self.received if r.json().get("method") == method]

    @property
    def last(self) -> Received:
        return self.received[-1]

    # --- plumbing ---

    def _reset(self) -> None:
        assert self._loop is not None
        self.received.clear()
        self._handlers.clear()
        created = threading.Event()

        def make_event() -> None:
            self._release = asyncio.Event()
            created.set()

        self._loop.call_soon_threadsafe(make_event)
        assert created.wait(5)

    def _release_hanging(self) -> None:
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(
            Received(
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
        )
        payload = json.loads(body)
        handler = self._handlers.get(payload.get("method"))
        if handler is None:
            error = {"code": -32601, "message": "method not found"}
            return JSONResponse({"jsonrpc": "2.0", "id": payload.get("id"), "error": error})
        answer = handler(payload)
        if answer is HANG:
            assert self._release is not None
            await self._release.wait()
            return JSONResponse({"jsonrpc": "2.0", "id": payload["id"], "result": "too late"})
        if isinstance(answer, Response):
            return answer
        return JSONResponse(answer)


class _ReadyServer(uvicorn.Server):
    """Signals readiness once uvicorn has finished starting up (sockets listening)."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._ready.set()


@pytest.fixture(scope="session")
def _rpc_server_process() -> Iterator[FakeRpcServer]:
    fake = FakeRpcServer()
    app = Starlette(routes=[Route("/rpc", fake._endpoint, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="off",
        ws="none",
        http="h11",
        loop="asyncio",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    ready = threading.Event()
    server = _ReadyServer(config, ready)

    def run() -> None:
        async def main() -> None:
            fake._loop = asyncio.get_running_loop()
            await server.serve(sockets=[sock])

        asyncio.run(main())

    thread = threading.Thread(target=run, name="fake-rpc-server", daemon=True)
    thread.start()
    assert ready.wait(10), "the fake RPC server did not start"
    fake.url = f"http://127.0.0.1:{port}/rpc"
    try:
        yield fake
    finally:
        fake._release_hanging()
        server.should_exit = True
        thread.join(10)
        sock.close()
        assert not thread.is_alive(), "the fake RPC server did not stop"


@pytest.fixture
def rpc_server(_rpc_server_process: FakeRpcServer) -> Iterator[FakeRpcServer]:
    """A running fake JSON-RPC server with no programmed answers and nothing received."""
    fake = _rpc_server_process
    fake._reset()
    try:
        yield fake
    finally:
        # Let handlers this test left hanging finish, so the next test starts clean.
        fake._release_hanging()


class _HangUp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(65536)  # read (part of) the request, then close without a word


@pytest.fixture
def hangup_url() -> Iterator[str]:
    """A server that accepts a request and closes the connection without answering."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _HangUp)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="hangup-server", daemon=True)
    thread.start()  # bound and listening already: connections queue in the backlog
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/rpc"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def refused_url() -> str:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/rpc"
