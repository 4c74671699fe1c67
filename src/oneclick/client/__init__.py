"""A typed client for the 1Click API v0: :class:`OneClickClient` (async) and
:class:`OneClickSyncClient` (blocking), pydantic models of the bodies, quote-signature checks and
one error tree (:mod:`oneclick.client.errors`). It works against this service and the real one
(base URL + optional partner JWT) and imports nothing of the service itself."""

from oneclick.client.client import OneClickClient
from oneclick.client.errors import (
    ApiError,
    BadRequest,
    InvalidResponse,
    NotFound,
    OneClickClientError,
    QuoteSignatureMismatch,
    RequestTimeout,
    ServerError,
    TransportError,
    Unauthorized,
    WaitTimeout,
)
from oneclick.client.models import (
    TERMINAL_STATUSES,
    ExecutionStatus,
    QuoteRequest,
    QuoteResponse,
    SwapStatus,
    Token,
    deadline_in,
)
from oneclick.client.sync import OneClickSyncClient

__all__ = [
    "TERMINAL_STATUSES",
    "ApiError",
    "BadRequest",
    "ExecutionStatus",
    "InvalidResponse",
    "NotFound",
    "OneClickClient",
    "OneClickClientError",
    "OneClickSyncClient",
    "QuoteRequest",
    "QuoteResponse",
    "QuoteSignatureMismatch",
    "RequestTimeout",
    "ServerError",
    "SwapStatus",
    "Token",
    "TransportError",
    "Unauthorized",
    "WaitTimeout",
    "deadline_in",
]
