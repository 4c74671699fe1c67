"""schemathesis against the running app (uvicorn on loopback, fakes wired in): no 5xx and no
response outside the served schema, on every endpoint, with a bounded number of examples; on
SQLite and on PostgreSQL (which refuses what overflows a bounded column, where SQLite stores it)."""

import asyncio
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from oneclick.api.app import create_app
from oneclick.testing.world import fake_world, sqlite_url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _app(database_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        world = await fake_world(database_url)
        app.state.ctx = world.ctx
        yield
        await world.aclose()

    return create_app(None, lifespan=lifespan)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def base_url(request: pytest.FixtureRequest) -> Iterator[str]:
    port = _free_port()
    with tempfile.TemporaryDirectory() as directory:
        url = (
            sqlite_url(Path(directory))
            if request.param == "sqlite"
            else str(request.getfixturevalue("postgres_url"))
        )
        config = uvicorn.Config(_app(url), host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
        thread.start()
        started = threading.Event()
        for _ in range(500):
            if server.started:
                started.set()
                break
            started.wait(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def api_schema(base_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{base_url}/openapi.json")


def _exercise(operation: Any, checks: list[Any], seen: dict[str, set[int]]) -> Any:
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)  # fmt: skip
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(checks=checks)
        seen.setdefault(operation.label, set()).add(response.status_code)

    return run


def test_no_server_errors_and_schema_conformance(api_schema: schemathesis.BaseSchema) -> None:
    # schemathesis' own pytest plugin does not run under pytest 9, so each operation gets its
    # strategy and a hypothesis loop here.
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/v0/tokens", "/v0/quote", "/v0/status", "/v0/deposit/submit", "/v0/generate-intent",
        "/v0/submit-intent", "/v0/any-input/withdrawals",
    }  # fmt: skip
    seen: dict[str, set[int]] = {}
    for operation in operations:
        _exercise(operation, checks, seen)()
    assert all(code < 500 for codes in seen.values() for code in codes)
    assert len(seen) == len(operations)
