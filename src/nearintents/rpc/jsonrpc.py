"""JSON-RPC 2.0 over HTTP: envelope models, the wire scalar types shared by the clients, and the
small async transport that validates every answer before anyone uses it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Annotated, Any, Literal, Self, TypeVar

import httpx
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from nearintents.amounts import parse_i128, parse_u128
from nearintents.encoding import EncodingError, b58decode
from nearintents.rpc.errors import (
    RpcMalformedResponse,
    RpcServerError,
    RpcTimeout,
    RpcTransportError,
    RpcUnauthorized,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# --- wire scalars -------------------------------------------------------------------------------


def _from_wire(parse: Callable[[object], int]) -> Callable[[object], int]:
    # JSON integers are accepted too: the PoA bridge sends some amounts as numbers, and models
    # are also built in Python from ints. Floats and bools never are (money is never a float).
    def validate(value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return parse(str(value))
        return parse(value)

    return validate


_parse_u128 = _from_wire(parse_u128)
_parse_i128 = _from_wire(parse_i128)


def _check_crypto_hash(value: str) -> str:
    try:
        b58decode(value, length=32)
    except EncodingError as exc:
        raise ValueError(f"not a base58 32-byte hash: {exc}") from exc
    return value


U128 = Annotated[
    int, PlainValidator(_parse_u128), PlainSerializer(str, return_type=str, when_used="json")
]
"""An unsigned 128-bit amount: a decimal string on the wire, an ``int`` in Python."""

I128 = Annotated[
    int, PlainValidator(_parse_i128), PlainSerializer(str, return_type=str, when_used="json")
]
"""A signed 128-bit delta (``"-100"``): a decimal string on the wire, an ``int`` in Python."""

TokenId = Annotated[
    StrictStr, StringConstraints(pattern=r"^(nep141|nep245|nep171|imt):[^\s]+$", max_length=256)
]
"""A Verifier token id (``nep141:wrap.near``), checked only by shape (PROTOCOL.md §2.2)."""

CryptoHash = Annotated[StrictStr, AfterValidator(_check_crypto_hash)]
"""A base58 sha256 hash: intent hashes and NEAR transaction hashes."""

NonEmptyStr = Annotated[StrictStr, StringConstraints(min_length=1)]


def decode_json(data: bytes | str) -> Any:
    """Parse JSON strictly: ``NaN`` and ``Infinity`` are not JSON and are refused."""

    def reject(constant: str) -> Any:
        raise ValueError(f"{constant} is not valid JSON")

    try:
        return json.loads(data, parse_constant=reject)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def auth_headers(api_key: str | None) -> dict[str, str]:
    """Both header styles: the relay docs say ``X-API-Key``, the SDK sends a bearer token
    (PROTOCOL.md §3, open question 4)."""
    if not api_key:
        return {}
    return {"Authorization": f"Bearer {api_key}", "X-API-Key": api_key}


# --- envelope -----------------------------------------------------------------------------------


class JsonRpcRequest(BaseModel):
    """A request. ``params`` is a one-element array for the relay and bridge, an object for NEAR."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    jsonrpc: Literal["2.0"] = "2.0"
    method: str
    params: list[Any] | dict[str, Any]


class JsonRpcErrorCause(BaseModel):
    """NEAR's verror-style ``error.cause``: ``{"name": "UNKNOWN_TRANSACTION", "info": {...}}``."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    name: StrictStr
    info: Any = None


class JsonRpcErrorObject(BaseModel):
    """``{"code", "message", "data"?}`` plus NEAR's ``name`` and ``cause``."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    code: StrictInt
    message: StrictStr
    data: Any = None
    name: StrictStr | None = None
    cause: JsonRpcErrorCause | None = None


class JsonRpcResponse(BaseModel):
    """A response: exactly one of ``result`` (which may be ``null``) and ``error``.

    The relay and the bridge may send ``error`` as a bare string (PROTOCOL.md §3, §4).
    """

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    jsonrpc: Literal["2.0"]
    id: StrictStr | StrictInt | None
    result: Any = None
    error: StrictStr | JsonRpcErrorObject | None = None

    @model_validator(mode="after")
    def _result_xor_error(self) -> Self:
        has_result = "result" in self.model_fields_set
        if self.error is None and not has_result:
            raise ValueError("neither result nor error")
        if self.error is not None and has_result and self.result is not None:
            raise ValueError("both result and error")
        return self


_RESPONSE = TypeAdapter(JsonRpcResponse)


# --- transport ----------------------------------------------------------------------------------


def _snippet(content: bytes) -> str:
    return content[:200].decode("utf-8", "replace")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in err["loc"]) or "<root>"
    return f"{exc.error_count()} error(s), first at {where}: {err['msg']}"


def server_error(
    method: str, error: str | JsonRpcErrorObject, http_status: int | None
) -> RpcServerError:
    """Translate a JSON-RPC ``error`` member into :class:`RpcServerError`."""
    if isinstance(error, str):
        return RpcServerError(error, method=method, http_status=http_status)
    return RpcServerError(
        error.message,
        method=method,
        code=error.code,
        data=error.data,
        http_status=http_status,
        name=error.name,
        cause_name=error.cause.name if error.cause else None,
        cause_info=error.cause.info if error.cause else None,
    )


class JsonRpcTransport:
    """POSTs JSON-RPC requests to one URL over a shared ``httpx.AsyncClient``.

    Every call has a total deadline (``asyncio.timeout``, since httpx's own timeouts bound each
    phase, not the whole exchange), checks the response id, maps errors into the tree of
    :mod:`nearintents.rpc.errors`, and validates the result through a pydantic ``TypeAdapter``.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"not an http(s) URL: {url!r}")
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        self.url = url
        self.timeout = timeout
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self._headers.update(headers or {})
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        """Close the HTTP client if this transport created it; an injected one is left open."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def call(
        self,
        method: str,
        params: list[Any] | dict[str, Any],
        result_type: TypeAdapter[T],
        *,
        time_limit: float | None = None,
    ) -> T:
        """Send one request and return its validated result, or raise an :class:`RpcError`.

        ``time_limit`` (seconds) overrides the transport's timeout for this call.
        """
        request = JsonRpcRequest(id=uuid.uuid4().hex, method=method, params=params)
        limit = self.timeout if time_limit is None else time_limit
        started = time.monotonic()
        try:
            async with asyncio.timeout(limit):
                response = await self._client.post(
                    self.url,
                    content=request.model_dump_json().encode(),
                    headers=self._headers,
                    timeout=limit,
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            logger.warning("rpc timeout", extra={"action": method, "timeout_s": limit})
            raise RpcTimeout(f"no answer within {limit:g} s", method=method) from exc
        except httpx.DecodingError as exc:
            raise RpcMalformedResponse(f"undecodable body: {exc}", method=method) from exc
        except httpx.RequestError as exc:
            logger.warning("rpc transport error", extra={"action": method, "error": repr(exc)})
            raise RpcTransportError(f"{type(exc).__name__}: {exc}", method=method) from exc
        logger.debug(
            "rpc answer",
            extra={
                "action": method,
                "http_status": response.status_code,
                "elapsed_ms": round((time.monotonic() - started) * 1000),
            },
        )
        return self._result(method, request.id, response, result_type)

    def _result(
        self, method: str, request_id: str, response: httpx.Response, result_type: TypeAdapter[T]
    ) -> T:
        status = response.status_code
        content = response.content
        if status in (401, 403):
            raise RpcUnauthorized(
                f"HTTP {status}", method=method, http_status=status, data=_snippet(content)
            )
        cause: ValueError | None = None
        try:
            envelope: JsonRpcResponse | None = _RESPONSE.validate_python(decode_json(content))
        except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError, ValidationError
            envelope, cause = None, exc

        if envelope is None:
            if status >= 400:
                raise RpcServerError(
                    f"HTTP {status}", method=method, http_status=status, data=_snippet(content)
                ) from cause
            problem = _first_error(cause) if isinstance(cause, ValidationError) else "not JSON"
            raise RpcMalformedResponse(
                f"not a JSON-RPC 2.0 response (HTTP {status}): {problem}",
                method=method,
                body=_snippet(content),
            ) from cause
        # A server that could not read the request at all answers an error with id null.
        if envelope.id != request_id and not (envelope.error is not None and envelope.id is None):
            raise RpcMalformedResponse(
                f"response id {envelope.id!r} does not match request id {request_id!r}",
                method=method,
                body=_snippet(content),
            )
        if envelope.error is not None:
            raise server_error(method, envelope.error, status)
        if not 200 <= status < 300:
            if status >= 400:
                raise RpcServerError(f"HTTP {status}", method=method, http_status=status)
            raise RpcMalformedResponse(f"unexpected HTTP status {status}", method=method)
        try:
            return result_type.validate_python(envelope.result)
        except ValidationError as exc:
            raise RpcMalformedResponse(
                f"result of the wrong shape: {_first_error(exc)}",
                method=method,
                body=_snippet(content),
            ) from exc


class JsonRpcClient:
    """Base of the protocol clients: one :class:`JsonRpcTransport` to ``base_url`` with the API
    key (if any) in both header styles; an async context manager that closes what it owns."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._rpc = JsonRpcTransport(
            base_url, timeout=timeout, headers=auth_headers(api_key), client=client
        )

    async def aclose(self) -> None:
        await self._rpc.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
