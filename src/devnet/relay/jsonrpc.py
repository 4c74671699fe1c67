"""JSON-RPC 2.0 on the relay's side of the wire: request parsing and the answer envelopes, with
the standard error codes (the relay never answers a malformed request with an HTTP 500).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from nearintents.rpc.jsonrpc import decode_json

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# Implementation-defined server errors (-32000..-32099).
UNAUTHORIZED = -32001
UNKNOWN_QUOTE = -32002
REJECTED = -32003

RequestId = str | int | None
M = TypeVar("M", bound=BaseModel)


class RpcFault(Exception):  # noqa: N818 - a fault is what JSON-RPC answers
    """A request the relay refuses: answered as a JSON-RPC ``error`` object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


@dataclass(frozen=True, slots=True)
class Request:
    id: RequestId
    method: str
    params: Any


def parse_request(raw: bytes | str, *, default_method: str | None = None) -> Request:
    """Parse one request. ``default_method`` (the URL's ``?method=``) is used when the body has
    none. Raises :class:`RpcFault` with the id it could read (None if it could not)."""
    try:
        body = decode_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RpcFault(PARSE_ERROR, f"Parse error: {exc}") from exc
    if not isinstance(body, dict):
        raise RpcFault(INVALID_REQUEST, "Invalid Request: expected a JSON object")
    request_id = body.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int | None):
        raise RpcFault(INVALID_REQUEST, "Invalid Request: id must be a string or a number")
    if body.get("jsonrpc") != "2.0":
        raise RpcFault(INVALID_REQUEST, 'Invalid Request: jsonrpc must be "2.0"')
    method = body.get("method", default_method)
    if not isinstance(method, str) or not method:
        raise RpcFault(INVALID_REQUEST, "Invalid Request: method must be a non-empty string")
    return Request(request_id, method, body.get("params"))


def single_param(params: Any) -> Any:
    """The relay's params are a one-element array (PROTOCOL.md §3); a bare object is accepted."""
    if isinstance(params, list):
        if len(params) != 1:
            raise RpcFault(INVALID_PARAMS, "Invalid params: expected one element")
        return params[0]
    if params is None:
        raise RpcFault(INVALID_PARAMS, "Invalid params: missing")
    return params


def parse_params(model: type[M], params: Any) -> M:
    """Validate the single param into ``model``; errors become ``Invalid params``."""
    value = single_param(params)
    if not isinstance(value, dict):
        raise RpcFault(INVALID_PARAMS, "Invalid params: expected an object")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise RpcFault(INVALID_PARAMS, f"Invalid params: {describe(exc)}") from exc


def describe(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "<root>"
    return f"{where}: {first['msg']}"


def result(request_id: RequestId, value: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": value}


def error(request_id: RequestId, fault: RpcFault) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": fault.error()}
