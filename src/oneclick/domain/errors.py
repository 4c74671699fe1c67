"""The service's one error tree; the class says who must act and whether a retry helps.

    OneClickError
     ├── RequestError         the caller must fix the request: HTTP 4xx, never retried
     │    ├── NotFound        404: unknown deposit address, or a memo that does not match
     │    ├── Unauthorized    401: an invalid, expired or revoked partner token
 │    ├── TooMany         429: a per-client cap is reached (e.g. live, unfunded quotes)
     │    └── NoQuote         400: no solver offered a valid quote for this request
     ├── TemporaryError       nobody yet: a dependency is down or slow; retry with backoff (503)
 │    └── Conflict        a row changed under us (version conflict): retry the transaction
     ├── PermanentError       an operator: a dependency misbehaves or data is inconsistent;
     │                        park the swap and alert (502)
     └── ConfigurationError   the operator, at startup: bad settings or key file (exit code 2)

Adapters translate library exceptions into these at the boundary (``raise ... from exc``).
Messages of ``RequestError`` are shown to API callers, so they never contain secrets. In the
``full`` profile a ``RequestError`` also carries a machine-readable :class:`ErrorCode` and, where
it has them, parameters (e.g. ``minAmountIn``) so integrators need not parse the message.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The closed set of ``code`` values of a 4xx body (README, "Error codes")."""

    INVALID_REQUEST = "INVALID_REQUEST"  # a malformed or inconsistent field (see ``message``)
    AMOUNT_TOO_LOW = "AMOUNT_TOO_LOW"  # below a minimum; ``minAmountIn`` when one is known
    NO_QUOTE = "NO_QUOTE"  # no solver offered a usable quote right now; retrying may help
    NOT_FOUND = "NOT_FOUND"  # unknown deposit address (or memo)
    UNAUTHORIZED = "UNAUTHORIZED"  # an invalid, expired or revoked partner token


class OneClickError(Exception):
    """Base of every error the service raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RequestError(OneClickError):
    """The request is invalid; the caller must change it (HTTP 400). ``params`` are wire-named
    values that explain the code (amounts as base-unit strings)."""

    status_code = 400
    default_code = ErrorCode.INVALID_REQUEST

    def __init__(
        self, message: str, *, code: ErrorCode | None = None, params: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.params = dict(params or {})


class NotFound(RequestError):  # noqa: N818 (reads as the HTTP status it maps to)
    status_code = 404
    default_code = ErrorCode.NOT_FOUND


class Unauthorized(RequestError):  # noqa: N818
    status_code = 401
    default_code = ErrorCode.UNAUTHORIZED


class TooMany(RequestError):  # noqa: N818
    """The client holds as much as one client may (wait, or fund what it has)."""

    status_code = 429


class NoQuote(RequestError):  # noqa: N818
    """No solver answered with a quote that matches the request."""

    default_code = ErrorCode.NO_QUOTE


class TemporaryError(OneClickError):
    """A dependency is unavailable right now; the same call may succeed later."""


class Conflict(TemporaryError):  # noqa: N818 (reads as the event)
    """A row changed concurrently (optimistic version check); re-read and try again."""


class PermanentError(OneClickError):
    """A dependency answered something we cannot use, or our own data is inconsistent."""


class ConfigurationError(OneClickError):
    """The service cannot start with these settings."""


class UpstreamRefused(RequestError):  # noqa: N818 (reads as the event)
    """The upstream 1Click refused a request of ours (its 4xx; upstream mode): the caller's
    request when we were asking on its behalf, a temporary failure on the engine's path."""
