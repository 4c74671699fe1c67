"""The bridge's JSON-RPC 2.0 endpoint (``POST /rpc``, also ``POST /``), as the real PoA bridge
speaks it (PROTOCOL.md §4): ``params`` a one-element array of an object, errors a plain string.
:class:`BridgeServer` runs it with uvicorn on 127.0.0.1 and an OS-chosen port.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devnet.bridge.bridge import BridgeRequestError, PoaBridge
from devnet.serving import AppServer
from nearintents.rpc.jsonrpc import decode_json

logger = logging.getLogger(__name__)


def _methods(bridge: PoaBridge) -> dict[str, Callable[[dict[str, Any]], Any]]:
    return {
        "supported_tokens": lambda p: {"tokens": bridge.supported_tokens(p.get("chains"))},
        "deposit_address": lambda p: bridge.deposit_address(
            p.get("account_id"), p.get("chain"), p.get("deposit_mode")
        ),
        "recent_deposits": lambda p: bridge.recent_deposits(
            p.get("account_id"),
            chain=p.get("chain"),
            status=p.get("status"),
            limit=p.get("limit"),
            offset=p.get("offset"),
        ),
        "notify_deposit": lambda p: bridge.notify_deposit(
            p.get("chain"), p.get("deposit_address"), p.get("tx_hash")
        ),
        "withdrawal_status": lambda p: bridge.withdrawal_status(p.get("withdrawal_hash")),
        "recent_withdrawals": lambda p: bridge.recent_withdrawals(
            p.get("account_id"), p.get("chain")
        ),
        "withdrawal_estimate": lambda p: bridge.withdrawal_estimate(
            p.get("chain"), p.get("token"), p.get("address")
        ),
    }


def _error(request_id: Any, message: str) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": request_id, "error": message})


def create_app(bridge: PoaBridge) -> Starlette:
    methods = _methods(bridge)

    async def rpc(request: Request) -> JSONResponse:
        try:
            body = decode_json(await request.body())
        except ValueError:
            return _error(None, "parse error: the body is not JSON")
        if not isinstance(body, dict) or body.get("jsonrpc") != "2.0":
            return _error(None, "invalid request: not a JSON-RPC 2.0 object")
        request_id = body.get("id")
        method = methods.get(body.get("method"))  # type: ignore[arg-type]
        if method is None:
            return _error(request_id, f"method not found: {body.get('method')!r}")
        params = body.get("params", [{}])
        if isinstance(params, list) and len(params) == 1:
            params = params[0]
        if not isinstance(params, dict):
            return _error(request_id, "invalid params: expected [{...}]")
        try:
            result = method(params)
        except (BridgeRequestError, TypeError) as exc:
            return _error(request_id, str(exc))
        except Exception:
            logger.exception("bridge rpc failed", extra={"action": body.get("method")})
            return _error(request_id, "internal error")
        return JSONResponse({"jsonrpc": "2.0", "id": request_id, "result": result})

    return Starlette(
        routes=[Route("/", rpc, methods=["POST"]), Route("/rpc", rpc, methods=["POST"])]
    )


class BridgeServer(AppServer):
    """``async with BridgeServer(bridge) as server:`` serves the bridge's JSON-RPC on
    ``server.url`` (the endpoint; ``HttpPoaBridge(server.url)``) and, with ``run_loop``, runs the
    bridge's scanning loop too (started and stopped with the server)."""

    def __init__(
        self,
        bridge: PoaBridge,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        run_loop: bool = True,
        fund_hot_wallets: bool = True,
    ) -> None:
        super().__init__(create_app(bridge), host=host, port=port)
        self.bridge = bridge
        self._run_loop = run_loop
        self._fund = fund_hot_wallets
        self._started_loop = False

    @property
    def url(self) -> str:
        return super().url + "/rpc"

    async def start(self) -> None:
        if self._run_loop:
            await self.bridge.start(fund=self._fund)
            self._started_loop = True
        try:
            await super().start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            if self._started_loop:
                self._started_loop = False
                await self.bridge.stop()
