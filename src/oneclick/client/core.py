"""What the async and the sync client share: the request of each operation, the decoding of an
answer into a model or an :class:`~oneclick.client.errors.ApiError`, and the status watcher."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from nearintents.quote_signature import verify_quote_signature
from oneclick.client.errors import (
    InvalidResponse,
    QuoteSignatureMismatch,
    RequestTimeout,
    TransportError,
    api_error,
)
from oneclick.client.models import TERMINAL_STATUSES, ExecutionStatus, QuoteResponse

M = TypeVar("M", bound=BaseModel)

USER_AGENT = "oneclick-python-client/0.1"
# Ask for the full surface: profiles only remove fields, and a quote signature verifies on the
# full body (a real 1Click ignores the header).
COMPAT_HEADER = {"X-OneClick-Compat": "full"}
DEFAULT_TIMEOUT_S = 15.0
DEFAULT_POLL_S = 1.0


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str] | None = None
    body: dict[str, Any] | None = None


def headers(jwt: str | None) -> dict[str, str]:
    out = {"User-Agent": USER_AGENT, "Accept": "application/json", **COMPAT_HEADER}
    if jwt:
        out["Authorization"] = f"Bearer {jwt}"
    return out


def track_url(base_url: str, deposit_address: str, memo: str | None = None) -> str:
    """The service's tracking page for a swap (``GET /track/{depositAddress}``)."""
    from urllib.parse import quote, urlencode

    url = f"{base_url.rstrip('/')}/track/{quote(deposit_address, safe='')}"
    return f"{url}?{urlencode({'depositMemo': memo})}" if memo else url


def status_call(deposit_address: str, memo: str | None) -> Call:
    params = {"depositAddress": deposit_address}
    if memo:
        params["depositMemo"] = memo
    return Call("GET", "/v0/status", params=params)


def submit_deposit_call(
    tx_hash: str, deposit_address: str, memo: str | None, near_sender_account: str | None
) -> Call:
    body = {"txHash": tx_hash, "depositAddress": deposit_address}
    if memo:
        body["memo"] = memo
    if near_sender_account:
        body["nearSenderAccount"] = near_sender_account
    return Call("POST", "/v0/deposit/submit", body=body)


def generate_intent_call(
    deposit_address: str, signer_id: str, standard: str, kind: str = "swap_transfer"
) -> Call:
    body = {"type": kind, "standard": standard, "signerId": signer_id,
            "depositAddress": deposit_address}  # fmt: skip
    return Call("POST", "/v0/generate-intent", body=body)


def submit_intent_call(signed_data: dict[str, Any], kind: str = "swap_transfer") -> Call:
    return Call("POST", "/v0/submit-intent", body={"type": kind, "signedData": signed_data})


def transport_error(exc: httpx.HTTPError, call: Call) -> TransportError:
    what = f"{call.method} {call.path}"
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout(f"{what}: no answer in time ({type(exc).__name__})")
    return TransportError(f"{what}: {type(exc).__name__}: {exc}")


def body_of(response: httpx.Response, call: Call) -> Any:
    """The JSON body of a 2xx answer; an :class:`ApiError` for any other status."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if response.is_success:
        if body is None:
            raise InvalidResponse(f"{call.method} {call.path}: the answer is not JSON")
        return body
    message = body.get("message") if isinstance(body, dict) else None
    correlation = body.get("correlationId") if isinstance(body, dict) else None
    correlation = correlation or response.headers.get("x-correlation-id")
    text = message if isinstance(message, str) else (response.text[:200] or response.reason_phrase)
    raise api_error(response.status_code, text, correlation)


def decode(model: type[M], body: Any, call: Call) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise InvalidResponse(
            f"{call.method} {call.path}: unexpected answer: {exc.errors()[0]['msg']} at "
            + ".".join(str(p) for p in exc.errors()[0]["loc"])
        ) from exc


def checked_quote(body: Any, call: Call, public_key: str | None, verify: bool) -> QuoteResponse:
    quote = decode(QuoteResponse, body, call)
    if verify:
        if public_key is None:
            raise ValueError("verify=True needs the manager public key (manager_public_key=...)")
        # Over the body exactly as received, not a re-serialisation of the model.
        if not verify_quote_signature(body, public_key):
            raise QuoteSignatureMismatch(public_key, quote.correlation_id)
    return quote


Predicate = Callable[[ExecutionStatus], bool]


def done_predicate(terminal: Collection[str] | None, predicate: Predicate | None) -> Predicate:
    if predicate is not None:
        return predicate
    wanted = frozenset(terminal) if terminal is not None else TERMINAL_STATUSES
    return lambda status: status.status in wanted


@dataclass
class Watch:
    """Remembers what was last seen and says whether a new status is news."""

    last: ExecutionStatus | None = None
    _key: tuple[str, str] | None = field(default=None, repr=False)

    def changed(self, status: ExecutionStatus) -> bool:
        self.last = status
        key = status.progress_key()
        if key == self._key:
            return False
        self._key = key
        return True
