"""``HotReads``: ``GET /v0/status`` and ``GET /v0/tokens``, the reads integrators poll, answered
without FastAPI's routing, dependency solving, ``Request`` and response objects.

Under wrk (bench/, issue 15) those layers cost several times what the answer itself costs. This
is the innermost middleware: every other middleware (correlation id, compatibility profiles,
whatever an operator adds) still wraps these answers, and the bodies come from the very
functions the routes use (``status_body``, ``tokens_body``), so the two paths cannot drift in
content; a test compares them byte for byte, headers included.

It only answers the plain case and hands everything else, unchanged, to the routes: a caller
with credentials (the routes authenticate them), a query the route would parse differently (a
repeated or missing parameter), a root path, and any failure but a client's (a 404 is rendered
here by ``errors.error_response``, as the error handler does, to not read twice).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from oneclick.api.errors import error_response
from oneclick.api.profiles.middleware import DOCUMENT
from oneclick.api.routes import status_body, tokens_body
from oneclick.domain.errors import RequestError
from oneclick.services import status, tokens
from oneclick.services.context import ServiceContext

_CREDENTIALS = (b"authorization", b"x-api-key")
_STATUS_PARAMETERS = frozenset({"depositAddress", "depositMemo"})


def render(document: object) -> bytes:
    """Starlette's ``JSONResponse`` rendering, so both paths serve the same bytes."""
    return json.dumps(
        document, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


class _Answer:
    """A 200 body: its document (a profile prunes it: ``profiles.middleware.DOCUMENT``) and the
    bytes it renders to."""

    __slots__ = ("body", "document")

    def __init__(self, document: object) -> None:
        self.document = document
        self.body = render(document)


class _TokensBody:
    """The rendered ``/v0/tokens`` answer, rebuilt when an asset or a price point changes (the
    price source caches its points; an asset without a price dates itself ``now``, so it is
    rebuilt every time, as the route does)."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._answer = _Answer([])

    def get(self, views: list[tokens.TokenView]) -> _Answer:
        key = tuple((v.asset, v.price_usd, v.price_updated_at) for v in views)
        if key != self._key:
            self._answer, self._key = _Answer(tokens_body(views)), key
        return self._answer


class HotReads:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._tokens = _TokensBody()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body: _Answer | Response | None = None
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            path = scope["path"]
            if path == "/v0/status":
                body = await self._status(scope)
            elif path == "/v0/tokens":
                body = await self._tokens_answer(scope)
        if body is None:
            await self.app(scope, receive, send)
            return
        if isinstance(body, Response):
            await body(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(body.body)).encode("latin-1")),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.body, DOCUMENT: body.document})

    async def _status(self, scope: Scope) -> _Answer | Response | None:
        if any(name in _CREDENTIALS for name, _ in scope["headers"]):
            return None
        query = QueryParams(scope["query_string"])
        names = [k for k, _ in query.multi_items() if k in _STATUS_PARAMETERS]
        if "depositAddress" not in names or len(names) != len(set(names)):
            return None
        ctx: ServiceContext = scope["app"].state.ctx
        try:
            report = await status.status_report(
                ctx, query["depositAddress"], query.get("depositMemo")
            )
        except RequestError as exc:  # e.g. 404: the errors' own rendering, without a re-read
            return error_response(exc.status_code, exc.message, code=exc.code, params=exc.params)
        except Exception:  # the route answers it, as it answers any other request
            return None
        return _Answer(status_body(report))

    async def _tokens_answer(self, scope: Scope) -> _Answer | None:
        ctx: ServiceContext = scope["app"].state.ctx
        try:
            views = await tokens.list_tokens(ctx)
        except Exception:  # the route answers it, as it answers any other request
            return None
        return self._tokens.get(views)
