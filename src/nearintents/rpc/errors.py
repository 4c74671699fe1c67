"""The one error tree of the JSON-RPC clients; every outside exception is re-raised as one of these.

    RpcError                    base: catch this to handle any failed call
     ├── RpcTransportError      no usable answer: refused, reset, closed mid-answer   (retry helps)
     ├── RpcTimeout             no answer within the client's timeout                 (retry helps)
     ├── RpcServerError         the peer answered an error: JSON-RPC error or HTTP >= 400
     │    ├── RpcUnauthorized   HTTP 401/403: the API key is missing or wrong         (operator)
     │    ├── ViewCallError     a NEAR contract view panicked (bad arguments or state) (caller)
     │    └── UnknownTransaction  the NEAR node does not know the tx (yet)            (retry later)
     └── RpcMalformedResponse   the peer answered something that does not validate    (operator)

``retryable`` on every instance says whether repeating the same call may succeed. Calls that
change state (``publish_intent``) are safe to repeat: the verifier's nonce check makes a
duplicate harmless (ARCHITECTURE.md §4, "write, then send").
"""

from __future__ import annotations

from typing import Any

# The class names RpcTimeout, RpcUnauthorized, UnknownTransaction and RpcMalformedResponse are the
# ones the rest of the project codes against; they read better without an "Error" suffix (N818).
# NEAR RPC error names (verror style ``error.name`` / ``error.cause.name``) that mean "not now".
_RETRYABLE_NEAR_NAMES = frozenset({"TIMEOUT_ERROR", "INTERNAL_ERROR", "UNAVAILABLE_SHARD"})


class RpcError(Exception):
    """A JSON-RPC call failed. Subclasses say who must act and whether a retry helps."""

    retryable: bool = False

    def __init__(self, message: str, *, method: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.method = method

    def __str__(self) -> str:
        return f"{self.method}: {self.message}" if self.method else self.message


class RpcTransportError(RpcError):
    """The request or its answer was lost on the wire (connection refused, reset, closed early).

    Nobody has to act yet: retry with backoff. A state-changing call may or may not have reached
    the peer, so read the outcome back before assuming either.
    """

    retryable = True


class RpcTimeout(RpcError):  # noqa: N818
    """No complete answer arrived within the client's timeout.

    Retry with backoff; as for a transport error, the call may have been executed.
    """

    retryable = True


class RpcServerError(RpcError):
    """The peer answered with an error: a JSON-RPC ``error`` (string or object) or HTTP >= 400.

    Keeps what the peer said: ``code``, ``message``, ``data``, ``http_status`` and, for NEAR RPC,
    ``name`` / ``cause_name`` / ``cause_info``. HTTP 5xx, 429 and NEAR "not now" errors are
    ``retryable``; other errors need the caller (bad request) or an operator to act.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        code: int | None = None,
        data: Any = None,
        http_status: int | None = None,
        name: str | None = None,
        cause_name: str | None = None,
        cause_info: Any = None,
    ) -> None:
        super().__init__(message, method=method)
        self.code = code
        self.data = data
        self.http_status = http_status
        self.name = name
        self.cause_name = cause_name
        self.cause_info = cause_info
        self.retryable = (
            (http_status is not None and (http_status >= 500 or http_status == 429))
            or name in _RETRYABLE_NEAR_NAMES
            or cause_name in _RETRYABLE_NEAR_NAMES
        )

    def __str__(self) -> str:
        parts = [super().__str__()]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.cause_name is not None:
            parts.append(f"cause={self.cause_name}")
        if self.http_status is not None:
            parts.append(f"http={self.http_status}")
        return " ".join(parts)


class RpcUnauthorized(RpcServerError):  # noqa: N818
    """HTTP 401 or 403: the API key is missing, expired or wrong. An operator must fix the key."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retryable = False


class ViewCallError(RpcServerError):
    """A contract view panicked (NEAR ``CONTRACT_EXECUTION_ERROR``; old nodes: ``result.error``).

    ``message`` is the contract's panic text. The arguments or the contract state are wrong for
    this call: the caller must act; repeating the same call gives the same answer.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retryable = False


class UnknownTransaction(RpcServerError):  # noqa: N818
    """NEAR RPC ``tx``: the node does not know this transaction (``UNKNOWN_TRANSACTION``).

    Either it has not reached this node yet (retry later helps) or the hash / sender is wrong
    (the caller must act if it persists).
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retryable = True


class RpcMalformedResponse(RpcError):  # noqa: N818
    """The peer answered something that does not validate: not JSON, a wrong envelope or id, or a
    result of the wrong shape. The peer is misbehaving or is not what we think it is: an operator
    must look; a retry rarely helps. ``body`` holds the start of what was received.
    """

    def __init__(self, message: str, *, method: str | None = None, body: str = "") -> None:
        super().__init__(message, method=method)
        self.body = body
