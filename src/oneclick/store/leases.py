"""The clock that leases are judged by. On PostgreSQL it is the database server's: workers on
several hosts then agree on who holds a swap however far their own clocks drift. SQLite is one
file on one host, so there the host's clock (the ``now`` the caller passes) is the database's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, func, literal

from oneclick.store.types import UtcDateTime


def lease_now(dialect: str, now: datetime) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.now(type_=UtcDateTime)
    return literal(now, UtcDateTime)


def lease_until(dialect: str, now: datetime, lease_s: float) -> ColumnElement[Any]:
    """``lease_s`` from now, on the lease clock."""
    if dialect == "postgresql":
        return func.now(type_=UtcDateTime) + literal(timedelta(seconds=lease_s), Interval())
    return literal(now + timedelta(seconds=lease_s), UtcDateTime)
