"""Where ``nearintents.rpc`` failures become the service's own errors (who must act)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from nearintents.rpc import RpcError, RpcMalformedResponse
from oneclick.domain.errors import PermanentError, TemporaryError

logger = logging.getLogger(__name__)


class UnreadableAnswer(TemporaryError):  # noqa: N818 (reads as what the peer sent)
    """A peer answered something we could not validate: an unknown status, a float where an
    amount belongs, a wrong shape. Peers are untrusted but not hostile: the answer is refused
    (money fields stay strictly validated) and the call is retried for the engine's bounded
    number of attempts, never taken as proof that the swap failed."""


@asynccontextmanager
async def calling(what: str) -> AsyncIterator[None]:
    """Re-raise an ``RpcError`` from ``what`` as ``TemporaryError`` (a retry may help) or
    ``PermanentError`` (an operator must look). An answer that does not validate is a
    :class:`UnreadableAnswer`: temporary, logged with what was wrong."""
    try:
        yield
    except RpcMalformedResponse as exc:
        logger.warning(
            "unreadable answer from %s, will retry: %s",
            what,
            exc,
            extra={"action": "peer_answer", "peer": what},
        )
        raise UnreadableAnswer(f"{what} answered something unreadable: {exc}") from exc
    except RpcError as exc:
        if exc.retryable:
            raise TemporaryError(f"{what} is unavailable, try again later") from exc
        raise PermanentError(f"{what} failed: {exc}") from exc
