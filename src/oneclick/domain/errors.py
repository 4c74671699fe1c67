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
Messages of ``RequestError`` are shown to API callers, so they never contain secrets.
"""

from __future__ import annotations


class OneClickError(Exception):
    """Base of every error the service raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RequestError(OneClickError):
    """The request is invalid; the caller must change it (HTTP 400)."""

    status_code = 400


class NotFound(RequestError):  # noqa: N818 (reads as the HTTP status it maps to)
    status_code = 404


class Unauthorized(RequestError):  # noqa: N818
    status_code = 401


class TooMany(RequestError):  # noqa: N818
    """The client holds as much as one client may (wait, or fund what it has)."""

    status_code = 429


class NoQuote(RequestError):  # noqa: N818
    """No solver answered with a quote that matches the request."""


class TemporaryError(OneClickError):
    """A dependency is unavailable right now; the same call may succeed later."""


class Conflict(TemporaryError):  # noqa: N818 (reads as the event)
    """A row changed concurrently (optimistic version check); re-read and try again."""


class PermanentError(OneClickError):
    """A dependency answered something we cannot use, or our own data is inconsistent."""


class ConfigurationError(OneClickError):
    """The service cannot start with these settings."""
