"""Limits at the API's edge, enforced before any work is done: the request body's size (413) and
per-client request rates (429 with ``Retry-After`` and the IETF draft ``RateLimit`` /
``RateLimit-Policy`` headers, draft-ietf-httpapi-ratelimit-headers).

A client is its partner when it presents a partner JWT signed with our secret, else its IP
address (an IPv6 client by its /64, which one host can roam). Non-dry quotes, which allocate a
deposit account that the workers then watch, count against a much tighter policy than reads.
Rates are counted in this process's memory (the ``limits`` library's moving window): exact for
one API process; several API processes would each count on their own.
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from dataclasses import dataclass, field

import jwt
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oneclick.api.errors import error_response
from oneclick.services.partners import ALGORITHM, ISSUER

DEFAULT_MAX_BODY_BYTES = 64 * 1024
QUOTE_PATH = "/v0/quote"


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """A named policy of one or more windows (``"10/minute;100/hour"``); every window must
    allow a request."""

    name: str
    windows: tuple[RateLimitItem, ...]

    @classmethod
    def parse(cls, name: str, text: str) -> RatePolicy:
        """``ValueError`` when ``text`` is not in the ``limits`` notation."""
        windows = tuple(parse_many(text))
        if not windows:
            raise ValueError(f"no rate limit in {text!r}")
        return cls(name, windows)

    def window_name(self, window: RateLimitItem) -> str:
        if len(self.windows) == 1:
            return self.name
        return f"{self.name}-{window.multiples}{window.GRANULARITY.name}"


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Per-client policies: anonymous clients per IP, partners per partner."""

    requests: RatePolicy
    swaps: RatePolicy  # non-dry quotes (also counted as requests)
    partner_requests: RatePolicy
    partner_swaps: RatePolicy


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    rates: RateLimits | None = None  # None: no rate limits (tests, private deployments)


# --- the body size -----------------------------------------------------------------------------


def _replay(message: Message, receive: Receive) -> Receive:
    """A ``receive`` that answers ``message`` first, then defers to ``receive``."""
    pending: list[Message] = [message]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


class BodyLimitMiddleware:
    """Reads the whole body (at most ``max_bytes``) before the app sees it: a larger
    ``Content-Length`` is refused unread, a longer chunked body as soon as it passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay(message, receive), send)
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay(body, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, f"Request body is larger than the limit of {self.max_bytes} bytes"
        )
        # The rest of the body is never read: the server must not reuse this connection.
        response.headers["connection"] = "close"
        await response(scope, receive, send)


# --- the request rates -------------------------------------------------------------------------


def _client_host(scope: Scope) -> str:
    client = scope.get("client")
    host = str(client[0]) if client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return host


def _partner_id(headers: Headers, secret: bytes) -> str | None:
    """The partner of a token signed with ``secret`` (signature only: expiry and revocation
    are the route's business, which answers 401)."""
    token = headers.get("x-api-key")  # the partner's when present, as the routes read it
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if token is None and scheme.lower() == "bearer" and value.strip():
        token = value.strip()
    if not token or not secret:
        return None
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
            options={"require": ["sub"], "verify_exp": False},
        )  # fmt: skip
    except jwt.PyJWTError:
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else None


def _is_live_quote(body: bytes) -> bool:
    try:
        document = json.loads(body)
    except ValueError:
        return False  # the route answers 400
    return isinstance(document, dict) and document.get("dry") is False


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after_s: int
    headers: dict[str, str] = field(default_factory=dict)


class RateLimiter:
    """Moving windows in this process's memory, keyed by client and policy."""

    def __init__(self, rates: RateLimits) -> None:
        self.rates = rates
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def check(self, client: str, policies: list[RatePolicy]) -> Verdict:
        """Count one request against every window of ``policies`` (stopping at the first that
        refuses it) and describe the outcome in headers."""
        refused: tuple[RatePolicy, RateLimitItem] | None = None
        for policy in policies:
            for window in policy.windows:
                if not await self._limiter.hit(window, client, policy.name):
                    refused = (policy, window)
                    break
            if refused:
                break
        now = time.time()
        described: list[str] = []
        tightest: tuple[int, int, str] | None = None  # remaining, reset in s, name
        for policy in policies:
            for window in policy.windows:
                name = policy.window_name(window)
                described.append(f'"{name}";q={window.amount};w={window.get_expiry()}')
                stats = await self._limiter.get_window_stats(window, client, policy.name)
                reset_s = max(1, math.ceil(stats.reset_time - now))
                if refused == (policy, window):
                    tightest = (0, reset_s, name)
                elif refused is None and (tightest is None or stats.remaining < tightest[0]):
                    tightest = (stats.remaining, reset_s, name)
        assert tightest is not None
        remaining, reset_s, name = tightest
        headers = {
            "RateLimit-Policy": ", ".join(described),
            "RateLimit": f'"{name}";r={remaining};t={reset_s}',
        }
        if refused is not None:
            headers["Retry-After"] = str(reset_s)
        return Verdict(refused is None, reset_s, headers)


# The scope key under which a front that already counted the request (``api.hot``) hands its
# verdict to :class:`RateLimitMiddleware` when it passes the request on: counted once.
VERDICT_KEY = "oneclick.rate_verdict"


def client_of(scope: Scope, rates: RateLimits) -> tuple[str, list[RatePolicy], RatePolicy]:
    """Who is asking (a partner by a token signed with our secret, else an IP), the policies
    every request of theirs counts against, and the one their non-dry quotes count against."""
    ctx = getattr(scope["app"].state, "ctx", None) if "app" in scope else None
    partner = _partner_id(Headers(scope=scope), getattr(ctx, "jwt_secret", b""))
    if partner is not None:
        return f"partner:{partner}", [rates.partner_requests], rates.partner_swaps
    return f"ip:{_client_host(scope)}", [rates.requests], rates.swaps


def verdict_headers(verdict: Verdict) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in verdict.headers.items()]


class RateLimitMiddleware:
    """Counts every request of a client, and non-dry quotes again under their own policy; a
    request over a limit is answered 429 without reaching the app. ``limiter`` holds the
    counts (shared with ``api.hot``, which counts the reads it answers itself)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        verdict: Verdict | None = scope.get(VERDICT_KEY)
        if verdict is None:
            client, policies, swaps = client_of(scope, self.limiter.rates)
            if scope["method"] == "POST" and scope["path"] == QUOTE_PATH:
                message = await receive()  # the whole body: BodyLimitMiddleware read it already
                receive = _replay(message, receive)
                if message["type"] == "http.request" and _is_live_quote(message.get("body", b"")):
                    policies.append(swaps)
            verdict = await self.limiter.check(client, policies)
        if not verdict.allowed:
            response = error_response(429, f"Too many requests: retry in {verdict.retry_after_s} s")
            response.headers.update(verdict.headers)
            await response(scope, receive, send)
            return
        extra = verdict_headers(verdict)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
