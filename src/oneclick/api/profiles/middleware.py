"""``CompatMiddleware``: picks the request's profile and re-renders JSON response bodies in it,
so routes and error handlers keep producing the one full surface."""

from __future__ import annotations

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oneclick.api.profiles.catalog import HEADER, Profile, UnknownProfile, render, select_profile

VARY = f"{HEADER}, User-Agent"


def _dumps(body: object) -> bytes:
    # Starlette's JSONResponse rendering, so that ``full`` and the profiles differ only by removals
    return json.dumps(
        body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def _mark(headers: MutableHeaders, profile: Profile) -> None:
    headers.add_vary_header(VARY)
    headers[HEADER] = profile.value


class CompatMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        try:
            profile = select_profile(request_headers.get(HEADER), request_headers.get("user-agent"))
        except UnknownProfile as exc:
            # Only ``message``: the one error shape every client can decode.
            response = JSONResponse({"message": exc.message}, 400, headers={"Vary": VARY})
            await response(scope, receive, send)
            return
        method, path = str(scope["method"]), str(scope["path"])
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_profiled(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                _mark(headers, profile)
                message["headers"] = headers.raw
                content_type = headers.get("content-type", "")
                if profile is Profile.FULL or not content_type.startswith("application/json"):
                    await send(message)
                else:
                    start = message  # held until the whole body is here
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            status = int(start["status"])
            try:
                document = json.loads(body)
            except ValueError:
                pass  # not ours to fix: pass it on unchanged
            else:
                body = _dumps(render(profile, method, path, status, document))
            headers = MutableHeaders(raw=start["headers"])
            headers["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_profiled)
