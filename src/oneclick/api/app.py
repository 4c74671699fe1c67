"""The FastAPI app factory. The app receives a ready ``ServiceContext`` (built by
:mod:`oneclick.bootstrap`) and builds nothing at import time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import yaml
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from oneclick.api import errors
from oneclick.api.account import router as account_router
from oneclick.api.any_input import router as any_input_router
from oneclick.api.correlation import CorrelationMiddleware
from oneclick.api.hot import STATUS_CACHE_SIZE, HotReads
from oneclick.api.limits import BodyLimitMiddleware, EdgeLimits, RateLimiter, RateLimitMiddleware
from oneclick.api.profiles.middleware import CompatMiddleware
from oneclick.api.routes import router
from oneclick.api.stream import router as stream_router
from oneclick.api.track import router as track_router
from oneclick.services.context import ServiceContext
from oneclick.services.stream import StreamPolicy

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class MetricsExporter(Protocol):
    """What ``/metrics`` needs (``oneclick.adapters.prometheus.PrometheusMetrics``)."""

    def set_swap_counts(self, counts: Mapping[str, int]) -> None: ...

    def render(self) -> bytes: ...


TITLE = "1Click Swap API"
API_VERSION = "0.1.10"


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document without the 422 responses it adds by itself: validation failures
    are answered 400 ``{"message"}`` here."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    document = get_openapi(
        title=TITLE,
        version=API_VERSION,
        description="API for One-Click Swaps (self-hosted oneclick)",
        routes=app.routes,
        separate_input_output_schemas=False,
    )
    for path in document.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    app.openapi_schema = document
    return document


class OneClickApp(FastAPI):
    """FastAPI with ``hot_reads`` in front of its whole stack (api/hot.py): the plain
    ``GET /v0/status`` and ``/v0/tokens`` are answered there, everything else as usual.
    ``hot_reads = None`` sends every request through the stack (tests compare the two)."""

    hot_reads: HotReads | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self.hot_reads
        if hot is not None and hot.takes(self, scope):
            await hot(self, scope, receive, send, super().__call__)
            return
        await super().__call__(scope, receive, send)


def create_app(
    ctx: ServiceContext | None,
    *,
    lifespan: Lifespan | None = None,
    metrics: MetricsExporter | None = None,
    limits: EdgeLimits | None = None,
    stream: StreamPolicy | None = None,
    status_cache: int = STATUS_CACHE_SIZE,
) -> FastAPI:
    """The app over ``ctx``; with ``ctx=None`` the ``lifespan`` must set ``app.state.ctx``.
    With ``metrics``, ``GET /metrics`` serves them in the Prometheus text format. ``limits``:
    the body size (64 KiB by default) and the rate limits (none by default); ``stream`` paces
    ``/v0/status/stream`` (defaults: :class:`StreamPolicy`); ``status_cache``: the deposit
    addresses whose status answer is kept (``api.status_cache``)."""
    edge = limits or EdgeLimits()
    app = OneClickApp(
        title=TITLE,
        version=API_VERSION,
        separate_input_output_schemas=False,
        redoc_url=None,
        lifespan=lifespan,
    )
    if ctx is not None:
        app.state.ctx = ctx
    app.state.stream_policy = stream or StreamPolicy()
    # Outermost last: correlation id, profile, body size, rates, then the routes. The limits'
    # 413 and 429 thus carry a correlation id and are rendered in the caller's profile. The hot
    # reads (api/hot.py), in front of it all, do the same inline, with the same rate counts.
    limiter = RateLimiter(edge.rates) if edge.rates is not None else None
    app.hot_reads = HotReads(limiter, status_cache)
    if limiter is not None:
        app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(BodyLimitMiddleware, max_bytes=edge.max_body_bytes)
    app.add_middleware(CompatMiddleware)  # inside: its own 400 still gets a correlation id
    app.add_middleware(CorrelationMiddleware)
    errors.install(app)
    app.include_router(router)
    app.include_router(stream_router)
    app.include_router(track_router)
    app.include_router(account_router)
    app.include_router(any_input_router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    @app.get("/docs/v0/openapi.yaml", include_in_schema=False)
    async def openapi_yaml() -> Response:
        text = yaml.safe_dump(app.openapi(), sort_keys=False, allow_unicode=True)
        return Response(text, media_type="application/yaml")

    if metrics is not None:
        exporter = metrics

        @app.get("/metrics", include_in_schema=False)
        async def prometheus_metrics(request: Request) -> Response:
            service: ServiceContext = request.app.state.ctx
            async with service.store.transaction() as tx:
                counts = await tx.swaps.counts()
            exporter.set_swap_counts(counts)
            return Response(exporter.render(), media_type=METRICS_CONTENT_TYPE)

    return app
