"""JSON-RPC 2.0 requests over a solver's relay WebSocket (PROTOCOL.md §3.4): incrementing ids,
answers matched by id with a timeout, events handed back to the caller.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection


class RelayRequestError(Exception):
    """The relay answered a request with an error (or never answered it)."""


class RelayLink:
    """One connection's request/answer bookkeeping; the owner feeds it every incoming message."""

    def __init__(self, websocket: ClientConnection, *, timeout_s: float) -> None:
        self._ws = websocket
        self._timeout_s = timeout_s
        self._next_id = 0
        self._waiting: dict[int, asyncio.Future[Any]] = {}

    async def request(self, method: str, params: list[Any]) -> Any:
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._ws.send(json.dumps(message, separators=(",", ":")))
                return await future
        except TimeoutError as exc:
            raise RelayRequestError(f"{method}: no answer within {self._timeout_s:g} s") from exc
        finally:
            self._waiting.pop(request_id, None)

    def answer(self, message: dict[str, Any]) -> bool:
        """Resolve the request ``message`` answers; False if it is not an answer of ours."""
        request_id = message.get("id")
        future = self._waiting.get(request_id) if isinstance(request_id, int) else None
        if future is None or future.done():
            return False
        error = message.get("error")
        if error is not None:
            text = error.get("message", error) if isinstance(error, dict) else error
            future.set_exception(RelayRequestError(str(text)))
        else:
            future.set_result(message.get("result"))
        return True

    def fail_all(self, reason: str) -> None:
        """The connection is gone: nobody will answer what is still waiting."""
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(RelayRequestError(reason))
