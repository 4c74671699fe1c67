"""``HotReads``: ``GET /v0/status`` and ``GET /v0/tokens``, the reads integrators poll, answered in
front of the whole ASGI stack (FastAPI's own layers, the middleware, routing, dependency solving,
``Request`` and response objects).

Under wrk (bench/, issue 15) those layers cost more than the answer itself: every middleware
wraps ``send`` once more, FastAPI's telemetry and body-limit layers run per request. So
``OneClickApp`` (api/app.py) hands these two reads here first, and this does, inline, exactly
what the stack would do for them: the correlation id (header, ``correlationId``, log context,
the request's log line), the rate limit (the same counters: ``limits.RateLimiter``), the
compatibility profile (``profiles``: headers and pruning) and the body (``status_body``,
``tokens_body``: the routes' own functions). A test compares the two paths byte for byte,
headers included, with and without rate limits and in every profile.

It only answers the plain case and passes everything else, unchanged, to the stack: a caller
with credentials (the routes authenticate them), a request with a body, a query the route would
parse differently (a repeated or missing parameter), an unknown profile, a root path, FastAPI's
telemetry switched on, a request over its rate limit, and any failure but a client's (a 404
is rendered here, by ``errors.error_document`` as the error handler does). What it already
did travels in the scope (the correlation id, the rate verdict), so a request passed on is
counted once and keeps one id.

The status answer is cached per deposit address, keyed by what it is a function of: the swap's
rows (the stamp of ``Store.swap_snapshot_since``: on a SQLite file, while no connection has
committed since the entry was checked, a hit costs one ``PRAGMA data_version`` and no query;
after a commit, the swap's rows are read and compared by digest) and the prices of its two
assets (``status.build_report``); an ANY_INPUT swap's report also reads its deposits apart
(``status.reusable``), so it is never cached. An entry keeps only the stamp, the prices and the
rendered bytes, so a hit skips the snapshot, parsing the stored quote, the report and the JSON
encoding; the correlation id is spliced in. A profile other than the full one parses the
cached bytes to prune them (rare: compatibility clients).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from oneclick.api import correlation
from oneclick.api.errors import error_document
from oneclick.api.limits import VERDICT_KEY, RateLimiter, client_of, verdict_headers
from oneclick.api.profiles.catalog import HEADER as PROFILE_HEADER
from oneclick.api.profiles.catalog import Profile, UnknownProfile, select_profile
from oneclick.api.profiles.catalog import render as render_profile
from oneclick.api.profiles.middleware import VARY
from oneclick.api.routes import status_body, tokens_body
from oneclick.domain.errors import RequestError
from oneclick.services import status, tokens
from oneclick.services.context import ServiceContext
from oneclick.services.ports import StampedSnapshot, SwapSnapshot

STATUS_PATH, TOKENS_PATH = "/v0/status", "/v0/tokens"
_PATHS = frozenset({STATUS_PATH, TOKENS_PATH})
# Headers that send a request down the whole stack: credentials (the routes authenticate them)
# and a body (the body limit reads it).
_PASS_ON = frozenset({b"authorization", b"x-api-key", b"content-length", b"transfer-encoding"})
_STATUS_PARAMETERS = frozenset({"depositAddress", "depositMemo"})
_VARY = (b"vary", VARY.encode("latin-1"))
STATUS_CACHE_SIZE = 16384  # deposit addresses whose answer is kept: the default of api.status_cache

Full = Callable[[Scope, Receive, Send], Awaitable[None]]


def render(document: object) -> bytes:
    """Starlette's ``JSONResponse`` rendering, so both paths serve the same bytes."""
    return json.dumps(
        document, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


@dataclass(frozen=True, slots=True)
class _Answer:
    """A JSON answer: the bytes it renders to, its status and, when at hand, its document
    (a profile prunes it; None: parsed from ``body`` when a profile needs it)."""

    document: Any
    body: bytes
    status: int = 200


class _TokensBody:
    """The rendered ``/v0/tokens`` answer, rebuilt when an asset or a price point changes (the
    price source caches its points; an asset without a price dates itself ``now``, so it is
    rebuilt every time, as the route does)."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._answer = _Answer([], b"[]")

    def get(self, views: list[tokens.TokenView]) -> _Answer:
        key = tuple((v.asset, v.price_usd, v.price_updated_at) for v in views)
        if key != self._key:
            document = tokens_body(views)
            self._answer, self._key = _Answer(document, render(document)), key
        return self._answer


@dataclass(slots=True)
class _Rendered:
    """A status answer rendered around a placeholder id, with what it is a function of: the
    swap's rows (``stamp``, moved on when they are found unchanged) and the prices of its
    ``assets`` (origin, destination)."""

    stamp: Hashable
    assets: tuple[str, str]
    prices: dict[str, Decimal]
    head: bytes  # the body up to the correlation id
    tail: bytes  # and after it

    def answer(self, correlation_id: str) -> _Answer:
        # a correlation id is a UUID: JSON writes it as it is
        return _Answer(None, self.head + correlation_id.encode("ascii") + self.tail)


class _StatusAnswers:
    """The last rendered answer per deposit address (least recently used dropped first)."""

    def __init__(self, size: int = STATUS_CACHE_SIZE) -> None:
        self.size = size
        self._placeholder = str(uuid.uuid4())  # an id no swap's data contains
        self._entries: OrderedDict[tuple[str, str | None], _Rendered] = OrderedDict()

    def peek(self, key: tuple[str, str | None]) -> _Rendered | None:
        return self._entries.get(key)

    def hit(self, key: tuple[str, str | None], entry: _Rendered, stamp: Hashable) -> None:
        """``entry``, checked at ``stamp``, answered: unless another read replaced or dropped it
        meanwhile (the checks await), it is now the most recently used."""
        entry.stamp = stamp
        if self._entries.get(key) is entry:
            self._entries.move_to_end(key)

    def put(
        self,
        ctx: ServiceContext,
        key: tuple[str, str | None],
        stamped: StampedSnapshot,
        snapshot: SwapSnapshot,
        prices: dict[str, Decimal],
    ) -> _Rendered:
        """``snapshot`` (whose rows ``stamped.stamp`` stands for, or older ones) rendered."""
        entry = self._render(ctx, snapshot, prices)
        entry.stamp = stamped.stamp
        if self.size > 0:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return entry

    def _render(
        self, ctx: ServiceContext, snapshot: SwapSnapshot, prices: dict[str, Decimal]
    ) -> _Rendered:
        with correlation.using(self._placeholder):
            document = status_body(status.build_report(ctx, snapshot, prices))
        head, _, tail = render(document).partition(self._placeholder.encode("ascii"))
        assets = (snapshot.swap.origin_asset, snapshot.swap.destination_asset)
        return _Rendered(None, assets, prices, head, tail)


def _telemetry_on(app: FastAPI) -> bool:
    """FastAPI's native OpenTelemetry spans are on: the stack must see the request."""
    telemetry = getattr(app, "_native_telemetry", None)
    return telemetry is not None and bool(telemetry.enabled())


TELEMETRY_RECHECK_S = 1.0


class _TelemetryCheck:
    """:func:`_telemetry_on`, asked at most once a second: it reads OpenTelemetry's global
    providers (and the environment), a few microseconds per request. Once on, it stays on
    (those providers are set once per process, the app's telemetry config is fixed); a provider
    set while the process runs sends these reads down the stack within a second."""

    __slots__ = ("_on", "_until")

    def __init__(self) -> None:
        self._on = False
        self._until = float("-inf")

    def __call__(self, app: FastAPI) -> bool:
        if self._on:
            return True
        now = time.monotonic()
        if now >= self._until:
            self._on = _telemetry_on(app)
            self._until = now + TELEMETRY_RECHECK_S
        return self._on


class HotReads:
    """Answers the plain reads of :data:`_PATHS` for ``OneClickApp``; ``limiter`` is the
    app's rate limiter (``None``: no rate limits); ``status_cache``: the deposit addresses
    whose rendered status answer is kept."""

    def __init__(self, limiter: RateLimiter | None, status_cache: int = STATUS_CACHE_SIZE) -> None:
        self.limiter = limiter
        self._tokens = _TokensBody()
        self._status = _StatusAnswers(status_cache)
        self._telemetry_on = _TelemetryCheck()

    def takes(self, app: FastAPI, scope: Scope) -> bool:
        """Whether ``scope`` is a request this may answer (cheap checks only)."""
        return (
            scope["type"] == "http"
            and scope["path"] in _PATHS
            and scope["method"] == "GET"
            and not scope.get("root_path")
            and not app.root_path
            and not any(name in _PASS_ON for name, _ in scope["headers"])
            and not self._telemetry_on(app)
        )

    async def __call__(
        self, app: FastAPI, scope: Scope, receive: Receive, send: Send, full: Full
    ) -> None:
        """Answer ``scope`` or pass it on to ``full`` (the whole stack)."""
        scope["app"] = app  # as Starlette does: the rate limiter and the routes read its state
        ctx: ServiceContext | None = getattr(app.state, "ctx", None)
        profile = self._profile(scope)
        if ctx is None or profile is None:
            await full(scope, receive, send)
            return
        extra: list[tuple[bytes, bytes]] = []
        if self.limiter is not None:
            client, policies, _ = client_of(scope, self.limiter.rates)
            verdict = scope[VERDICT_KEY] = await self.limiter.check(client, policies)
            if not verdict.allowed:  # the stack renders the 429
                await full(scope, receive, send)
                return
            extra = verdict_headers(verdict)
        with correlation.correlated(scope) as exchange:
            answer = await self._answer(ctx, scope, exchange.correlation_id)
            if answer is None:
                exchange.passed_on = True  # the stack logs the request, under the same id
                scope[correlation.SCOPE_KEY] = exchange.correlation_id
            else:
                exchange.status = answer.status
                await self._send(scope, send, answer, profile, extra, exchange.correlation_id)
        if answer is None:
            await full(scope, receive, send)

    def _profile(self, scope: Scope) -> Profile | None:
        compat = user_agent = None
        for name, value in scope["headers"]:
            if name == b"x-oneclick-compat":
                compat = value.decode("latin-1") if compat is None else compat
            elif name == b"user-agent":
                user_agent = value.decode("latin-1") if user_agent is None else user_agent
        try:
            return select_profile(compat, user_agent)
        except UnknownProfile:  # the stack answers 400
            return None

    async def _answer(
        self, ctx: ServiceContext, scope: Scope, correlation_id: str
    ) -> _Answer | None:
        try:
            if scope["path"] == TOKENS_PATH:
                return self._tokens.get(await tokens.list_tokens(ctx))
            # as Starlette's ``QueryParams`` parses it (without building one)
            query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            values = {k: v for k, v in query if k in _STATUS_PARAMETERS}
            if "depositAddress" not in values or len(values) != sum(
                k in _STATUS_PARAMETERS for k, _ in query
            ):
                return None  # the route's 400 (missing), or a repeated parameter
            address, memo = values["depositAddress"], values.get("depositMemo")
            key = (address, memo or None)
            entry = self._status.peek(key)
            stamped = await status.swap_snapshot_since(
                ctx, address, memo, entry.stamp if entry is not None else None
            )
            snapshot = stamped.snapshot
            if (  # the rows the entry was rendered from, at its prices: a hit
                snapshot is None
                and entry is not None
                and await status.prices_of(ctx, *entry.assets) == entry.prices
            ):
                self._status.hit(key, entry, stamped.stamp)
                return entry.answer(correlation_id)
            if snapshot is None:  # a price moved: render the (same or newer) rows again
                snapshot = await status.swap_snapshot(ctx, address, memo)
            prices = await status.snapshot_prices(ctx, snapshot)
            if not status.reusable(snapshot):  # its report reads more than the snapshot
                document = status_body(await status.report_of(ctx, snapshot, prices))
                return _Answer(document, render(document))
            return self._status.put(ctx, key, stamped, snapshot, prices).answer(correlation_id)
        except RequestError as exc:  # e.g. 404: rendered as the error handler does, not re-read
            document = error_document(exc.message, code=exc.code, params=exc.params)
            return _Answer(document, render(document), exc.status_code)
        except Exception:  # the stack answers it, as it answers any other request
            return None

    @staticmethod
    async def _send(
        scope: Scope,
        send: Send,
        answer: _Answer,
        profile: Profile,
        extra: list[tuple[bytes, bytes]],
        correlation_id: str,
    ) -> None:
        body = answer.body
        if profile is not Profile.FULL:
            document = answer.document if answer.document is not None else json.loads(body)
            body = render(render_profile(profile, "GET", scope["path"], answer.status, document))
        # the order the stack's layers add them in: the answer's, the rate limit's, the
        # profile's, the correlation id
        headers = [
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", b"application/json"),
            *extra,
            _VARY,
            (PROFILE_HEADER.lower().encode("latin-1"), profile.value.encode("latin-1")),
            (correlation.HEADER, correlation_id.encode("latin-1")),
        ]
        start: Message = {
            "type": "http.response.start",
            "status": answer.status,
            "headers": headers,
        }
        await send(start)
        await send({"type": "http.response.body", "body": body})
