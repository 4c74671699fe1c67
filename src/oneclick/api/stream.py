"""``GET /v0/status/stream``: a swap's status changes as Server-Sent Events.

One ``status`` event per transition (``id:`` the swap's transition sequence, ``data:`` the
``/v0/status`` body of the ``full`` profile plus a ``transition`` object); ``Last-Event-ID``
(the header browsers send when they reconnect) resumes after that sequence; ``: ping`` comments
while idle; ``event: end`` and the close a grace period after a terminal status. A reconnect to a
swap that ended long ago, with nothing missed, is answered ``204`` (browsers stop reconnecting).
No auth, like ``/v0/status``: the deposit address is the capability."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, format_sse_event

from oneclick.api.routes import _NOT_FOUND, status_body
from oneclick.api.schemas import BadRequestResponse
from oneclick.domain.errors import RequestError
from oneclick.domain.timestamps import format_timestamp
from oneclick.services.context import ServiceContext
from oneclick.services.stream import (
    Heartbeat,
    StatusEvent,
    StreamPolicy,
    follow_status,
    open_stream,
)

router = APIRouter(tags=["OneClick"])

RETRY_MS = 3000
_MAX_SEQ = 2**31 - 1

_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = _NOT_FOUND | {
    200: {
        "description": "text/event-stream: one `status` event per status change (`id`: the "
        "swap's transition sequence; `data`: the GetExecutionStatusResponse body plus "
        "`transition` {seq, from, to, reason, at}), `: ping` heartbeats, and `event: end` "
        "after a terminal status.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    204: {"description": "The swap ended and nothing was missed: do not reconnect"},
    400: {"model": BadRequestResponse, "description": "Bad Request - Invalid input data"},
}


def _policy(request: Request) -> StreamPolicy:
    policy = getattr(request.app.state, "stream_policy", None)
    return policy if isinstance(policy, StreamPolicy) else StreamPolicy()


def last_event_id(value: str | None) -> int:
    """The sequence a reconnecting client saw last (0: none); anything else is a 400."""
    if value is None or value.strip() == "":
        return 0
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > _MAX_SEQ:
        raise RequestError("Last-Event-ID must be a transition sequence (a non-negative integer)")
    return int(text)


def event_body(event: StatusEvent) -> dict[str, Any]:
    body = status_body(event.report)
    change = event.transition
    body["status"] = change.to_status.value
    body["updatedAt"] = format_timestamp(change.at)
    body["transition"] = {
        "seq": change.seq,
        "from": change.from_status.value if change.from_status else None,
        "to": change.to_status.value,
        "reason": change.reason,
        "at": format_timestamp(change.at),
    }
    return body


def _frame(body: dict[str, Any], *, event: str, id: str | None = None) -> bytes:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return format_sse_event(data_str=text, event=event, id=id)


@router.get("/v0/status/stream", response_class=Response,
            responses=_STREAM_RESPONSES, operation_id="streamExecutionStatus",
            summary="Follow swap execution status (Server-Sent Events)")  # fmt: skip
async def stream_status(
    request: Request,
    depositAddress: Annotated[str, Query()],  # noqa: N803 (wire name)
    depositMemo: Annotated[str | None, Query()] = None,  # noqa: N803
    last_event: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    ctx: ServiceContext = request.app.state.ctx
    after = last_event_id(last_event)
    start = await open_stream(ctx, depositAddress, depositMemo, after_seq=after)
    if start.finished:
        return Response(status_code=204)
    policy = _policy(request)

    async def frames() -> AsyncIterator[bytes]:
        yield format_sse_event(retry=RETRY_MS)
        status = start.status
        async for item in follow_status(
            ctx, start, depositAddress, depositMemo, after_seq=after, policy=policy
        ):
            if isinstance(item, Heartbeat):
                yield format_sse_event(comment="ping")
                continue
            status = item.transition.to_status
            yield _frame(event_body(item), event="status", id=str(item.transition.seq))
        if status.is_terminal:  # otherwise max_s ran out: the client reconnects and resumes
            yield _frame({"status": status.value}, event="end")

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return EventSourceResponse(frames(), headers=headers)
