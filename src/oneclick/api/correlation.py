"""A correlation id (UUID) per request: taken from ``x-correlation-id`` when it is a UUID,
otherwise new; returned in the ``x-correlation-id`` header of every response and in bodies,
and carried by every log line of the request, the last of which says how it was answered."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, reset_contextvars

logger = logging.getLogger(__name__)

HEADER = b"x-correlation-id"
_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current_correlation_id() -> str:
    value = _current.get()
    if value is None:
        value = str(uuid.uuid4())
        _current.set(value)
    return value


@contextmanager
def using(correlation_id: str) -> Iterator[None]:
    """``current_correlation_id()`` is ``correlation_id`` in the block."""
    token = _current.set(correlation_id)
    try:
        yield
    finally:
        _current.reset(token)


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            try:
                return str(uuid.UUID(value.decode("latin-1")))
            except ValueError:
                return None
    return None


# The scope key under which a front that already chose the request's id (``api.hot``) hands it to
# this middleware when it passes the request on: one request, one id, in its logs and answer.
SCOPE_KEY = "oneclick.correlation_id"


class Exchange:
    """One request's correlation id and the status it was answered with (500 until a response
    starts), for the closing log line; ``passed_on``: another layer answers (and logs) it."""

    __slots__ = ("correlation_id", "passed_on", "status")

    def __init__(self, correlation_id: str) -> None:
        self.correlation_id = correlation_id
        self.status = 500
        self.passed_on = False


class correlated:  # noqa: N801 (used as the context manager function it replaced)
    """``with correlated(scope) as exchange``: the request's id current
    (``current_correlation_id``) and on every log line in the block, which ends with the
    request's own line (method, path, status, duration).

    A class, not a generator context manager, and the log field bound and reset by token (not
    ``log_context``'s copy of every context variable): every request pays this, and on the hot
    reads (api/hot.py) it was a tenth of the request (bench/, issue 15). Nothing else binds a
    log field while a request is answered (the engine does, in its own tasks)."""

    __slots__ = ("_exchange", "_log_tokens", "_scope", "_started", "_token")

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def __enter__(self) -> Exchange:
        scope = self._scope
        self._exchange = exchange = Exchange(
            scope.get(SCOPE_KEY) or _incoming(scope) or str(uuid.uuid4())
        )
        self._token = _current.set(exchange.correlation_id)
        self._started = time.monotonic()
        self._log_tokens = bind_contextvars(correlation_id=exchange.correlation_id)
        return exchange

    def __exit__(self, *_: object) -> None:
        exchange, scope = self._exchange, self._scope
        try:
            # the line's fields are built only when it is written (every request pays this)
            if not exchange.passed_on and logger.isEnabledFor(logging.INFO):
                logger.info(
                    "%s %s %d", scope["method"], scope["path"], exchange.status,
                    extra={"action": "request", "status": exchange.status,
                           "duration_ms": round((time.monotonic() - self._started) * 1000, 1)},
                )  # fmt: skip
        finally:
            reset_contextvars(**self._log_tokens)
            _current.reset(self._token)


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with correlated(scope) as exchange:
            header = (HEADER, exchange.correlation_id.encode("latin-1"))

            async def send_with_header(message: Message) -> None:
                if message["type"] == "http.response.start":
                    exchange.status = int(message["status"])
                    message["headers"] = [*message.get("headers", []), header]
                await send(message)

            await self.app(scope, receive, send_with_header)
