"""A correlation id (UUID) per request: taken from ``x-correlation-id`` when it is a UUID,
otherwise new; returned in the ``x-correlation-id`` header of every response and in bodies,
and carried by every log line of the request, the last of which says how it was answered."""

from __future__ import annotations

import logging
import time
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oneclick.logging import log_context

logger = logging.getLogger(__name__)

HEADER = b"x-correlation-id"
_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current_correlation_id() -> str:
    value = _current.get()
    if value is None:
        value = str(uuid.uuid4())
        _current.set(value)
    return value


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            try:
                return str(uuid.UUID(value.decode("latin-1")))
            except ValueError:
                return None
    return None


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = _incoming(scope) or str(uuid.uuid4())
        token = _current.set(correlation_id)
        started = time.monotonic()
        status = 500  # unless a response starts

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((HEADER, correlation_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            with log_context(correlation_id=correlation_id):
                try:
                    await self.app(scope, receive, send_with_header)
                finally:
                    logger.info(
                        "%s %s %d", scope["method"], scope["path"], status,
                        extra={"action": "request", "status": status,
                               "duration_ms": round((time.monotonic() - started) * 1000, 1)},
                    )  # fmt: skip
        finally:
            _current.reset(token)
