"""``OneClickSyncClient``: the blocking twin of :class:`~oneclick.client.OneClickClient` (same
methods, same errors, same timeouts), for scripts and the CLI."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
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

SyncStatusCallback = Callable[[ExecutionStatus], None]


class OneClickSyncClient:
    def __init__(
        self,
        base_url: str,
        *,
        jwt: str | None = None,
        manager_public_key: str | None = None,
        timeout: float = core.DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.manager_public_key = manager_public_key
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url, headers=core.headers(jwt), timeout=timeout, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: core.Call, timeout: float | None) -> Any:
        try:
            response = self._http.request(
                call.method, call.path, params=call.params, json=call.body,
                timeout=timeout if timeout is not None else self.timeout,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            raise core.transport_error(exc, call) from exc
        return core.body_of(response, call)

    def tokens(self, *, timeout: float | None = None) -> list[Token]:
        call = core.Call("GET", "/v0/tokens")
        body = self._send(call, timeout)
        if not isinstance(body, list):
            body = [body]
        return [core.decode(Token, item, call) for item in body]

    def quote(
        self, request: QuoteRequest, *, verify: bool = False, timeout: float | None = None
    ) -> QuoteResponse:
        call = core.Call("POST", "/v0/quote", body=request.body())
        return core.checked_quote(self._send(call, timeout), call, self.manager_public_key, verify)

    def status(
        self, deposit_address: str, memo: str | None = None, *, timeout: float | None = None
    ) -> ExecutionStatus:
        call = core.status_call(deposit_address, memo)
        return core.decode(ExecutionStatus, self._send(call, timeout), call)

    def submit_deposit(
        self, tx_hash: str, deposit_address: str, *, memo: str | None = None,
        near_sender_account: str | None = None, timeout: float | None = None,
    ) -> ExecutionStatus:  # fmt: skip
        call = core.submit_deposit_call(tx_hash, deposit_address, memo, near_sender_account)
        return core.decode(ExecutionStatus, self._send(call, timeout), call)

    def generate_intent(
        self, deposit_address: str, signer_id: str, *, standard: str = "nep413",
        timeout: float | None = None,
    ) -> GenerateIntentResponse:  # fmt: skip
        call = core.generate_intent_call(deposit_address, signer_id, standard)
        return core.decode(GenerateIntentResponse, self._send(call, timeout), call)

    def submit_intent(
        self, signed_data: dict[str, Any], *, timeout: float | None = None
    ) -> SubmitIntentResponse:
        call = core.submit_intent_call(signed_data)
        return core.decode(SubmitIntentResponse, self._send(call, timeout), call)

    def wait_for_status(
        self,
        deposit_address: str,
        memo: str | None = None,
        *,
        terminal: Collection[str] | None = None,
        predicate: core.Predicate | None = None,
        timeout: float = 600.0,
        poll_interval: float = core.DEFAULT_POLL_S,
        on_change: SyncStatusCallback | None = None,
        on_poll: SyncStatusCallback | None = None,
    ) -> ExecutionStatus:
        """As :meth:`OneClickClient.wait_for_status`, blocking."""
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
            status = self.status(
                deposit_address, memo, timeout=min(self.timeout, max(remaining, 0.001))
            )
            if watch.changed(status) and on_change is not None:
                on_change(status)
            if on_poll is not None:
                on_poll(status)
            if done(status):
                return status
            time.sleep(min(poll_interval, max(give_up - time.monotonic(), 0)))
