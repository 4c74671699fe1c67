"""User sessions (``POST /v0/auth/authenticate``, ``/v0/auth/refresh``; PROTOCOL.md §5.11): a
wallet's signature over an empty intent payload buys an access and a refresh token (HS256 JWTs).

- The signature is verified with ``nearintents.signing`` (every standard the Verifier knows) and
  the key must belong to the signer *in the Verifier* (``has_public_key``): the account's own
  implicit key or one it added; a removed key authenticates nobody.
- A signed payload is good once (its nonce is stored with the session) and only until its
  deadline, which may lie at most ``SessionPolicy.max_signed_ahead`` ahead.
- Tokens are signed with a key derived from the install's JWT secret (or ``auth.session_secret``)
  and a label of their own, so a user token is never a partner token and vice versa; rotating
  that secret revokes every session at once.
- Every use of a token reads its session, so a revoked session stops at once. A refresh token is
  rotated on use (the new one comes back as ``refreshToken``); presenting a superseded one is
  taken as a leak and revokes the whole session. One exception, the grace window
  (``SessionPolicy.refresh_grace``): the token spent by the latest rotation, presented again
  within that window of it (two tabs refreshing at once), gets the same next refresh token its
  twin got, and the session lives on; after the window it revokes the session as any reuse.
  A refresh also asks the verifier again whether the session's key is still the account's: a
  removed key ends the session.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

import jwt

from nearintents import signing
from nearintents.accounts import InvalidAccountId, validate_account_id
from nearintents.signing import InvalidSignature, SignedPayloadError
from oneclick.domain.errors import RequestError, Unauthorized
from oneclick.domain.sessions import RevokeReason, UserSession
from oneclick.domain.timestamps import parse_timestamp
from oneclick.services.boundary import calling
from oneclick.services.context import ServiceContext, SessionPolicy
from oneclick.services.ports import UserSessions

logger = logging.getLogger(__name__)

ISSUER = "oneclick"
AUDIENCE = "oneclick:user"
ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"
_KEY_LABEL = b"oneclick user sessions v1"
# How long an expired session is kept before it is deleted: for an operator looking into it, and
# longer than any signed authentication may live (``auth.max_signed_ahead_s`` is at most a day),
# so that a deleted session's nonce can never be replayed to open another.
EXPIRED_KEPT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    access_expires_in: int  # seconds
    refresh_token: str | None
    refresh_expires_in: int


def _signing_key(ctx: ServiceContext, policy: SessionPolicy) -> bytes:
    base = policy.secret if policy.secret is not None else ctx.jwt_secret
    if not base:
        raise RequestError("user sessions are not available: no signing secret is configured")
    return hmac.new(base, _KEY_LABEL, hashlib.sha256).digest()


def _digest(token_id: str) -> str:
    return hashlib.sha256(token_id.encode()).hexdigest()


def _refresh_digest(key: bytes, session_id: str, generation: int) -> str:
    return _digest(_refresh_id(key, session_id, generation))


def _refresh_id(key: bytes, session_id: str, generation: int) -> str:
    """The id of a session's ``generation``-th refresh token (0: the one ``authenticate`` gave).
    Derived, not random: the database keeps only digests, and a refresh inside the grace window
    must be handed the very token its concurrent twin got."""
    message = f"refresh token id:{session_id}:{generation}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _encode(key: bytes, session: UserSession, kind: str, token_id: str, exp: datetime,
            now: datetime) -> str:  # fmt: skip
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": session.account_id,
        "sid": session.id,
        "typ": kind,
        "jti": token_id,
        "iat": int(now.timestamp()),
        "exp": int(exp.timestamp()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def _seconds(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds()))


def _access(
    key: bytes, session: UserSession, policy: SessionPolicy, now: datetime
) -> tuple[str, int]:
    # Never past the session's own end: a refresh cannot stretch a session.
    expires = min(now + policy.access_ttl, session.expires_at)
    return _encode(key, session, ACCESS, str(uuid.uuid4()), expires, now), _seconds(expires - now)


def _decode(ctx: ServiceContext, policy: SessionPolicy, token: str, kind: str) -> dict[str, object]:
    what = "user session token" if kind == ACCESS else "refresh token"
    try:
        claims: dict[str, object] = jwt.decode(
            token,
            _signing_key(ctx, policy),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=AUDIENCE,
            # Expiry by our clock (below), not the library's; so is the issue time.
            options={
                "require": ["exp", "sub", "sid", "typ", "jti"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"Unauthorized - the {what} is invalid") from exc
    exp = claims.get("exp")
    if claims.get("typ") != kind or not isinstance(exp, int):
        raise Unauthorized(f"Unauthorized - the {what} is invalid")
    # Our clock, not the library's: tests and the API agree on one time.
    if exp <= ctx.clock.now().timestamp():
        raise Unauthorized(f"Unauthorized - the {what} has expired")
    return claims


async def _live_session(ctx: ServiceContext, claims: dict[str, object], what: str) -> UserSession:
    session_id = claims.get("sid")
    async with ctx.store.transaction() as tx:
        session = await tx.user_sessions.get(session_id) if isinstance(session_id, str) else None
    now = ctx.clock.now()
    if session is None or session.account_id != claims.get("sub"):
        raise Unauthorized(f"Unauthorized - the {what} is invalid")
    if session.revoked_at is not None:
        raise Unauthorized(f"Unauthorized - the {what} is revoked")
    if session.expires_at <= now:
        raise Unauthorized(f"Unauthorized - the {what} has expired")
    return session


def _signed_auth(
    ctx: ServiceContext, policy: SessionPolicy, signed: object
) -> tuple[str, str, str, str]:
    """(signer, public key, standard, nonce) of a valid signed authentication payload."""
    if not isinstance(signed, dict):
        raise RequestError("Invalid signed data: signedData must be a signed MultiPayload object")
    try:
        public_key = signing.verify(signed)
        payload = signing.extract_payload(signed)
    except InvalidSignature as exc:
        raise Unauthorized(f"Signature verification failed: {exc}") from exc
    except SignedPayloadError as exc:
        raise RequestError(f"Invalid signed data: {exc}") from exc
    if payload.get("intents"):
        raise RequestError("Invalid signed data: an authentication signs an empty intents list")
    if payload.get("verifying_contract") != ctx.policy.verifier_contract:
        raise RequestError(
            f"Invalid signed data: verifying_contract must be {ctx.policy.verifier_contract}"
        )
    signer = payload.get("signer_id")
    try:
        validate_account_id(signer if isinstance(signer, str) else "")
    except InvalidAccountId as exc:
        raise RequestError(f"Invalid signed data: signer_id: {exc}") from exc
    assert isinstance(signer, str)
    deadline = parse_timestamp(payload.get("deadline"), what="deadline")
    now = ctx.clock.now()
    if deadline <= now:
        raise Unauthorized("Signature verification failed: the signed payload's deadline passed")
    if deadline > now + policy.max_signed_ahead:
        limit = _seconds(policy.max_signed_ahead)
        raise RequestError(f"Invalid signed data: the deadline may be at most {limit} s ahead")
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or len(nonce) > 64:
        raise RequestError("Invalid signed data: the nonce must be 32 bytes in base64")
    return signer, public_key, str(signed.get("standard")), nonce


async def authenticate(ctx: ServiceContext, signed_data: object) -> IssuedTokens:
    """A new session for the signer of ``signed_data`` (400 malformed, 401 not authentic)."""
    policy = ctx.sessions
    key = _signing_key(ctx, policy)
    signer, public_key, standard, nonce = _signed_auth(ctx, policy, signed_data)
    async with calling("the verifier (has_public_key)"):
        owned = await ctx.verifier.has_public_key(signer, public_key)
    if not owned:
        raise Unauthorized(
            f"Signature verification failed: {public_key} is not a key of {signer} in the verifier"
        )
    now = ctx.clock.now()
    session_id = str(uuid.uuid4())
    refresh_id = _refresh_id(key, session_id, 0)
    session = UserSession(
        id=session_id,
        account_id=signer,
        public_key=public_key,
        standard=standard,
        auth_nonce=nonce,
        refresh_digest=_digest(refresh_id),
        created_at=now,
        expires_at=now + policy.refresh_ttl,
    )
    async with ctx.store.transaction() as tx:
        await tx.user_sessions.add(session)
    access, access_in = _access(key, session, policy, now)
    logger.info(
        "user session opened",
        extra={"action": "user_session", "session_id": session.id, "account_id": signer},
    )
    return IssuedTokens(
        access, access_in,
        _encode(key, session, REFRESH, refresh_id, session.expires_at, now),
        _seconds(session.expires_at - now),
    )  # fmt: skip


async def refresh(ctx: ServiceContext, refresh_token: str) -> IssuedTokens:
    """A new access token and the next refresh token; the presented one is spent."""
    policy = ctx.sessions
    key = _signing_key(ctx, policy)
    claims = _decode(ctx, policy, refresh_token, REFRESH)
    session = await _live_session(ctx, claims, "refresh token")
    # The key that opened the session must still be the account's: removing a key from the
    # verifier (a lost wallet) ends its sessions at their next refresh.
    async with calling("the verifier (has_public_key)"):
        owned = await ctx.verifier.has_public_key(session.account_id, session.public_key)
    now = ctx.clock.now()
    if not owned:
        async with ctx.store.transaction() as tx:
            await tx.user_sessions.revoke(session.id, now, RevokeReason.KEY_REMOVED)
        raise Unauthorized(
            "Unauthorized - the key that opened this session is no longer the account's"
        )
    presented = _digest(str(claims["jti"]))
    async with ctx.store.transaction() as tx:
        spent = await _spend(tx.user_sessions, key, session, presented, policy.refresh_grace, now)
        if spent is None:
            await tx.user_sessions.revoke(session.id, now, RevokeReason.REFRESH_REUSE)
    if spent is None:
        logger.warning(
            "a superseded refresh token was presented: session revoked",
            extra={"action": "user_session_reuse", "session_id": session.id},
        )
        raise Unauthorized(
            "Unauthorized - the refresh token was already used; the session is revoked"
        )
    access, access_in = _access(key, session, policy, now)
    next_id = _refresh_id(key, session.id, spent.refreshes)
    return IssuedTokens(
        access, access_in,
        _encode(key, session, REFRESH, next_id, session.expires_at, now),
        _seconds(session.expires_at - now),
    )  # fmt: skip


async def _spend(
    sessions: UserSessions,
    key: bytes,
    session: UserSession,
    presented: str,
    grace: timedelta,
    now: datetime,
) -> UserSession | None:
    """The session once the presented refresh token (``presented``: its digest) is spent:
    rotated to the next generation; or, for the token the latest rotation spent, presented again
    within ``grace`` of it, the session as that rotation left it. None: a superseded token."""
    if presented == session.refresh_digest:
        following = _refresh_digest(key, session.id, session.refreshes + 1)
        if await sessions.rotate(session.id, presented, following, now):
            return replace(
                session, refresh_digest=following, refreshes=session.refreshes + 1,
                refreshed_at=now,
            )  # fmt: skip
    # Judged on the session as it is now (in this transaction): a concurrent refresh with this
    # token may just have rotated it.
    current = await sessions.get(session.id)
    if current is None:
        return None
    session = current
    twin = (
        grace > timedelta(0)  # zero: no window at all, not one instant
        and session.revoked_at is None
        and session.refreshes > 0
        and session.refreshed_at is not None
        and now - session.refreshed_at <= grace
        and presented == _refresh_digest(key, session.id, session.refreshes - 1)
        # (a session rotated before refresh ids were derived has no token to hand out again)
        and session.refresh_digest == _refresh_digest(key, session.id, session.refreshes)
    )
    if not twin:
        return None
    logger.info(
        "a refresh token was presented again within the grace window",
        extra={"action": "user_session_refresh_twin", "session_id": session.id},
    )
    return session


async def user_of(ctx: ServiceContext, access_token: str) -> UserSession:
    """The live session an access token belongs to; 401 otherwise."""
    claims = _decode(ctx, ctx.sessions, access_token, ACCESS)
    return await _live_session(ctx, claims, "user session token")


class _UserSessionSession(Protocol):
    @property
    def user_sessions(self) -> UserSessions: ...


class UserSessionStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[_UserSessionSession]: ...


async def prune_user_sessions(store: UserSessionStore, now: datetime) -> int:
    """Delete the sessions that expired more than :data:`EXPIRED_KEPT` ago; how many."""
    async with store.transaction() as tx:
        pruned = await tx.user_sessions.prune(now - EXPIRED_KEPT)
    if pruned:
        logger.info("%d expired user sessions deleted", pruned, extra={"action": "user_session"})
    return pruned
