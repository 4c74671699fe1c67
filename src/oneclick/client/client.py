"""``OneClickClient``: an async client for any 1Click API v0 (this service or the real one).

    async with OneClickClient("http://127.0.0.1:8080", manager_public_key=key) as api:
        quote = await api.quote(QuoteRequest(origin_asset=..., ...), verify=True)
        ...
        final = await api.wait_for_status(quote.quote.deposit_address, timeout=300)

Every call has a timeout (the client's, or ``timeout=`` per call); errors are in
:mod:`oneclick.client.errors`.
"""

# A per-call ``timeout`` (seconds) is handed to httpx, which enforces it on the socket; an
# ``asyncio.timeout`` around the call would add nothing.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection
from types import TracebackType
from typing import Any, Self

import httpx

from oneclick.client import core
from oneclick.client.errors import WaitTimeout
from oneclick.client.models import (
    ExecutionStatus,
    GenerateIntentResponse,
    QuoteRequest,
    QuoteResponse,
    SubmitIntentResponse,
    Token,
)

StatusCallback = Callable[[ExecutionStatus], Awaitable[None] | None]


class OneClickClient:
    def __init__(
        self,
        base_url: str,
        *,
        jwt: str | None = None,
        manager_public_key: str | None = None,
        timeout: float = core.DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.manager_public_key = manager_public_key
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=core.headers(jwt),
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: core.Call, timeout: float | None) -> Any:
        try:
            response = await self._http.request(
                call.method, call.path, params=call.params, json=call.body,
                timeout=timeout if timeout is not None else self.timeout,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            raise core.transport_error(exc, call) from exc
        return core.body_of(response, call)

    async def tokens(self, *, timeout: float | None = None) -> list[Token]:
        call = core.Call("GET", "/v0/tokens")
        body = await self._send(call, timeout)
        if not isinstance(body, list):
            body = [body]  # decode() then says what is wrong with it
        return [core.decode(Token, item, call) for item in body]

    async def quote(
        self, request: QuoteRequest, *, verify: bool = False, timeout: float | None = None
    ) -> QuoteResponse:
        """``POST /v0/quote``; with ``verify`` the signature must verify against the manager key
        (:class:`~oneclick.client.errors.QuoteSignatureMismatch` otherwise)."""
        call = core.Call("POST", "/v0/quote", body=request.body())
        body = await self._send(call, timeout)
        return core.checked_quote(body, call, self.manager_public_key, verify)

    async def status(
        self, deposit_address: str, memo: str | None = None, *, timeout: float | None = None
    ) -> ExecutionStatus:
        call = core.status_call(deposit_address, memo)
        return core.decode(ExecutionStatus, await self._send(call, timeout), call)

    async def submit_deposit(
        self, tx_hash: str, deposit_address: str, *, memo: str | None = None,
        near_sender_account: str | None = None, timeout: float | None = None,
    ) -> ExecutionStatus:  # fmt: skip
        call = core.submit_deposit_call(tx_hash, deposit_address, memo, near_sender_account)
        return core.decode(ExecutionStatus, await self._send(call, timeout), call)

    async def generate_intent(
        self, deposit_address: str, signer_id: str, *, standard: str = "nep413",
        timeout: float | None = None,
    ) -> GenerateIntentResponse:  # fmt: skip
        call = core.generate_intent_call(deposit_address, signer_id, standard)
        return core.decode(GenerateIntentResponse, await self._send(call, timeout), call)

    async def submit_intent(
        self, signed_data: dict[str, Any], *, timeout: float | None = None
    ) -> SubmitIntentResponse:
        call = core.submit_intent_call(signed_data)
        return core.decode(SubmitIntentResponse, await self._send(call, timeout), call)

    async def wait_for_status(
        self,
        deposit_address: str,
        memo: str | None = None,
        *,
        terminal: Collection[str] | None = None,
        predicate: core.Predicate | None = None,
        timeout: float = 600.0,
        poll_interval: float = core.DEFAULT_POLL_S,
        on_change: StatusCallback | None = None,
        on_poll: StatusCallback | None = None,
    ) -> ExecutionStatus:
        """Poll ``/v0/status`` until ``predicate`` holds (default: a status in ``terminal``,
        default SUCCESS/REFUNDED/FAILED). ``on_change`` sees every new status or new detail,
        ``on_poll`` every answer. Raises :class:`WaitTimeout` (with the last status) after
        ``timeout`` seconds."""
        done = core.done_predicate(terminal, predicate)
        watch = core.Watch()
        give_up = time.monotonic() + timeout
        while True:
            remaining = give_up - time.monotonic()
            if remaining <= 0:
                raise WaitTimeout(
                    f"{deposit_address}: still {watch.last.status if watch.last else 'unknown'} "
                    f"after {timeout:g} s", watch.last,
                )  # fmt: skip
            status = await self.status(
                deposit_address, memo, timeout=min(self.timeout, max(remaining, 0.001))
            )
            if watch.changed(status) and on_change is not None:
                await _maybe_await(on_change(status))
            if on_poll is not None:
                await _maybe_await(on_poll(status))
            if done(status):
                return status
            await asyncio.sleep(min(poll_interval, max(give_up - time.monotonic(), 0)))


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if value is not None:
        await value
