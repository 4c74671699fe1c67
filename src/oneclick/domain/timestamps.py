"""Wire timestamps: ISO-8601 in UTC with milliseconds and ``Z``, as JavaScript's
``Date.prototype.toISOString`` prints them (the 1Click API's format, PROTOCOL.md §5.3)."""

from __future__ import annotations

from datetime import UTC, datetime

from nearintents.payload import parse_rfc3339
from oneclick.domain.errors import RequestError


def format_timestamp(moment: datetime) -> str:
    """``2026-06-23T17:10:41.104Z`` (milliseconds, floored)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_timestamp(text: object, *, what: str) -> datetime:
    """An RFC 3339 timestamp with a zone (``Z`` or an offset) as an aware UTC datetime."""
    if not isinstance(text, str):
        raise RequestError(f"{what} must be an ISO-8601 date-time string")
    try:
        return parse_rfc3339(text)
    except ValueError as exc:
        raise RequestError(
            f"{what} must be an ISO-8601 date-time with a time zone, e.g. 2026-01-01T00:00:00Z"
        ) from exc
