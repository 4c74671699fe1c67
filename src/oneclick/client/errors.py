"""What the client raises. Every error is a :class:`OneClickClientError`; the class says who must
act and whether a retry can help::

    OneClickClientError
     ├── ApiError(status, message, correlation_id)  the service answered with an error
     │    ├── BadRequest      400: the request is wrong (the caller fixes it; never retry)
     │    ├── Unauthorized    401: the JWT is missing its mark (fix the token; never retry)
     │    ├── NotFound        404: unknown deposit address (or not yet: retry after the quote)
     │    └── ServerError     5xx: the service or a dependency failed (retry with backoff)
     ├── TransportError       no answer: refused, reset, DNS (retry; is the service up?)
     │    └── RequestTimeout  no answer in time (retry with backoff)
     ├── InvalidResponse      an answer that is not the documented shape (report it)
     ├── QuoteSignatureMismatch  the quote is not signed by the expected manager key (do not pay)
     └── WaitTimeout          ``wait_for_status`` gave up; ``last`` is the last status seen
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oneclick.client.models import ExecutionStatus


class OneClickClientError(Exception):
    """Base class of everything this client raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(OneClickClientError):
    """The service answered ``status`` with ``{"message": ...}``."""

    def __init__(self, status: int, message: str, correlation_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.correlation_id = correlation_id

    def __str__(self) -> str:
        trace = f" (correlation id {self.correlation_id})" if self.correlation_id else ""
        return f"HTTP {self.status}: {self.message}{trace}"


class BadRequest(ApiError):  # noqa: N818 - named for what happened
    pass


class Unauthorized(ApiError):  # noqa: N818 - named for what happened
    pass


class NotFound(ApiError):  # noqa: N818 - named for what happened
    pass


class ServerError(ApiError):
    pass


class TransportError(OneClickClientError):
    pass


class RequestTimeout(TransportError, TimeoutError):  # noqa: N818 - named for what happened
    pass


class InvalidResponse(OneClickClientError):  # noqa: N818 - named for what happened
    pass


class QuoteSignatureMismatch(OneClickClientError):  # noqa: N818 - named for what happened
    """The quote's ``signature`` does not verify against the manager public key."""

    def __init__(self, public_key: str, correlation_id: str | None = None) -> None:
        super().__init__(f"the quote signature does not verify against {public_key}")
        self.public_key = public_key
        self.correlation_id = correlation_id


class WaitTimeout(OneClickClientError, TimeoutError):  # noqa: N818 - named for what happened
    def __init__(self, message: str, last: ExecutionStatus | None) -> None:
        super().__init__(message)
        self.last = last


def api_error(status: int, message: str, correlation_id: str | None) -> ApiError:
    """The :class:`ApiError` subclass for ``status``."""
    if status == 400:
        return BadRequest(status, message, correlation_id)
    if status == 401:
        return Unauthorized(status, message, correlation_id)
    if status == 404:
        return NotFound(status, message, correlation_id)
    if status >= 500:
        return ServerError(status, message, correlation_id)
    return ApiError(status, message, correlation_id)
