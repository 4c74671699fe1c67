"""Where ``nearintents.rpc`` failures become the service's own errors (who must act)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from nearintents.rpc import RpcError
from oneclick.domain.errors import PermanentError, TemporaryError


@asynccontextmanager
async def calling(what: str) -> AsyncIterator[None]:
    """Re-raise an ``RpcError`` from ``what`` as ``TemporaryError`` (a retry may help) or
    ``PermanentError`` (an operator must look)."""
    try:
        yield
    except RpcError as exc:
        if exc.retryable:
            raise TemporaryError(f"{what} is unavailable, try again later") from exc
        raise PermanentError(f"{what} failed: {exc}") from exc
