"""Partners and their JWTs (PROTOCOL.md §5, §5.8): HS256 tokens signed with the install's
secret, checked on every request against the partner table (so a revoke is immediate)."""

from __future__ import annotations

import re
import uuid
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Protocol

import jwt

from oneclick.domain.errors import RequestError, Unauthorized
from oneclick.domain.records import Partner
from oneclick.services.ports import Partners

ISSUER = "oneclick"
ALGORITHM = "HS256"
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}", re.ASCII)


class PartnerSession(Protocol):
    @property
    def partners(self) -> Partners: ...


class PartnerStore(Protocol):
    """All these use cases need of a store: its partners."""

    def transaction(self) -> AbstractAsyncContextManager[PartnerSession]: ...


def issue_token(partner: Partner, secret: bytes, now: datetime) -> str:
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": partner.id,
        "name": partner.name,
        "iat": int(now.timestamp()),
        "jti": str(uuid.uuid4()),
    }
    if partner.expires_at is not None:
        claims["exp"] = int(partner.expires_at.timestamp())
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


async def add_partner(
    store: PartnerStore, name: str, *, secret: bytes, now: datetime, ttl: timedelta | None
) -> tuple[Partner, str]:
    if not _NAME.fullmatch(name):
        raise RequestError("a partner name is 1-64 of a-z, 0-9, '_', '.', '-'")
    partner = Partner(str(uuid.uuid4()), name, now, now + ttl if ttl else None)
    async with store.transaction() as tx:
        if await tx.partners.by_name(name) is not None:
            raise RequestError(f"partner {name!r} already exists")
        await tx.partners.add(partner)
    return partner, issue_token(partner, secret, now)


async def revoke_partner(store: PartnerStore, name: str, *, now: datetime) -> Partner:
    async with store.transaction() as tx:
        partner = await tx.partners.by_name(name)
        if partner is None:
            raise RequestError(f"no partner named {name!r}")
        await tx.partners.revoke(partner.id, now)
        revoked = await tx.partners.get(partner.id)
    assert revoked is not None
    return revoked


async def list_partners(store: PartnerStore) -> list[Partner]:
    async with store.transaction() as tx:
        return await tx.partners.all()


async def authenticate(store: PartnerStore, token: str, *, secret: bytes, now: datetime) -> Partner:
    """The partner a token belongs to; ``Unauthorized`` if it is invalid, expired or revoked."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "iat"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("Unauthorized - JWT token is invalid") from exc
    exp = claims.get("exp")
    if isinstance(exp, int) and exp <= now.timestamp():
        raise Unauthorized("Unauthorized - JWT token has expired")
    subject = claims.get("sub")
    async with store.transaction() as tx:
        partner = await tx.partners.get(subject) if isinstance(subject, str) else None
    if partner is None or partner.revoked_at is not None:
        raise Unauthorized("Unauthorized - JWT token is revoked or unknown")
    return partner
