"""``HttpUpstream``: the :class:`~oneclick.services.ports.Upstream` port over an upstream 1Click
API v0 (the hosted ``https://1click.chaindefuser.com`` on mainnet, or another ``oneclick``).

Everything it answers is untrusted: each field we use is validated (amounts as canonical
base-unit strings, statuses from the wire enum, hashes and addresses as bounded strings, the
quote's echo of our request compared with what we asked). A 4xx is :class:`UpstreamRefused`
(with the upstream's message, cut short), a 404 on status ``NotFound``; a transport failure, a
5xx or an answer that does not validate is ``TemporaryError``. The API key and the JWT travel
only in request headers: never in a message, a log line or the database.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from oneclick.domain.amounts import parse_amount
from oneclick.domain.errors import NotFound, RequestError, TemporaryError, UpstreamRefused
from oneclick.domain.swaps import SwapStatus
from oneclick.domain.timestamps import format_timestamp, parse_timestamp
from oneclick.services.ports import (
    UpstreamQuote,
    UpstreamQuoteRequest,
    UpstreamStatus,
    UpstreamToken,
)

MAX_MESSAGE = 300  # of an upstream error message we pass on
MAX_TEXT = 256  # hashes, addresses, memos, symbols
MAX_TOKENS = 5000
MAX_HASHES = 50


class UnreadableUpstream(TemporaryError):  # noqa: N818 (reads as what it sent)
    """The upstream answered something that does not validate: retried, never trusted."""


def _text(value: object, what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT or not value.isprintable():
        raise UnreadableUpstream(f"the upstream sent an invalid {what}")
    return value


def _amount(value: object, what: str) -> int:
    try:
        return parse_amount(value, what=what)
    except RequestError as exc:
        raise UnreadableUpstream(f"the upstream sent an invalid {what}") from exc


def _reported(value: object, what: str) -> int | None:
    """An amount a status may report: absent, ``"0"`` or a positive amount."""
    if value is None:
        return None
    return 0 if value == "0" else _amount(value, what)


def _hashes(items: object, what: str) -> tuple[str, ...]:
    if items is None:
        return ()
    if not isinstance(items, list) or len(items) > MAX_HASHES:
        raise UnreadableUpstream(f"the upstream sent an invalid {what}")
    found = []
    for item in items:
        value = item.get("hash") if isinstance(item, dict) else item
        text = _text(value, what)
        assert text is not None
        found.append(text)
    return tuple(found)


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UnreadableUpstream(f"the upstream sent no {what} object")
    return value


class HttpUpstream:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        jwt: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"accept": "application/json"}
        if jwt:
            headers["authorization"] = f"Bearer {jwt}"
        if api_key:
            headers["x-api-key"] = api_key
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __repr__(self) -> str:  # never the headers
        return f"HttpUpstream({self._client.base_url!s})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(
        self, method: str, path: str, *, body: Any = None, params: dict[str, str] | None = None
    ) -> Any:
        try:
            response = await self._client.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:  # the message names the URL only, never our headers
            raise TemporaryError(
                f"the upstream 1Click is unreachable ({type(exc).__name__})"
            ) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TemporaryError(f"the upstream 1Click answered HTTP {response.status_code}")
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UnreadableUpstream(
                f"the upstream 1Click answered HTTP {response.status_code} without JSON"
            ) from exc
        if response.status_code >= 400:
            message = data.get("message") if isinstance(data, dict) else None
            text = message[:MAX_MESSAGE] if isinstance(message, str) else "no reason given"
            if response.status_code == 404:
                raise NotFound(f"the upstream 1Click does not know it: {text}")
            if response.status_code == 401:
                # our credentials, not the caller's request: an operator must act
                raise TemporaryError("the upstream 1Click refused our partner credentials (401)")
            raise UpstreamRefused(f"the upstream 1Click refused: {text}")
        return data

    async def tokens(self) -> list[UpstreamToken]:
        data = await self._call("GET", "/v0/tokens")
        if not isinstance(data, list) or len(data) > MAX_TOKENS:
            raise UnreadableUpstream("the upstream sent an invalid token list")
        found = []
        for item in data:
            entry = _object(item, "token")
            decimals = entry.get("decimals")
            if isinstance(decimals, bool) or not isinstance(decimals, int):
                raise UnreadableUpstream("the upstream sent a token without integer decimals")
            if not 0 <= decimals <= 255:
                raise UnreadableUpstream("the upstream sent a token with decimals out of range")
            found.append(
                UpstreamToken(
                    asset_id=str(_text(entry.get("assetId"), "assetId")),
                    blockchain=str(_text(entry.get("blockchain"), "blockchain")),
                    symbol=str(_text(entry.get("symbol"), "symbol")),
                    decimals=decimals,
                    contract_address=_text(
                        entry.get("contractAddress"), "contractAddress", optional=True
                    ),
                    coingecko_id=_text(entry.get("coingeckoId"), "coingeckoId", optional=True),
                )
            )
        return found

    async def quote(self, request: UpstreamQuoteRequest) -> UpstreamQuote:
        body: dict[str, Any] = {
            "dry": request.dry,
            "swapType": request.swap_type,
            "slippageTolerance": request.slippage_bps,
            "originAsset": request.asset,
            "depositType": request.deposit_type,
            "destinationAsset": request.asset,
            "amount": str(request.amount),
            "refundTo": request.refund_to,
            "refundType": request.refund_type,
            "recipient": request.recipient,
            "recipientType": request.recipient_type,
            "deadline": format_timestamp(request.deadline),
        }
        if request.deposit_mode is not None:
            body["depositMode"] = request.deposit_mode
        data = _object(await self._call("POST", "/v0/quote", body=body), "quote response")
        echo = _object(data.get("quoteRequest"), "quoteRequest")
        # The echo must be what we asked: a quote for anything else is not ours to hand out.
        for field in ("originAsset", "destinationAsset", "recipient", "refundTo", "amount"):
            if echo.get(field) != body[field]:
                raise UnreadableUpstream(f"the upstream's quote echoes another {field}")
        quote = _object(data.get("quote"), "quote")
        amount_in = _amount(quote.get("amountIn"), "amountIn")
        min_in = _amount(quote.get("minAmountIn"), "minAmountIn")
        amount_out = _amount(quote.get("amountOut"), "amountOut")
        if amount_out > amount_in or min_in > amount_in:
            raise UnreadableUpstream("the upstream's same-asset quote creates value")
        address = _text(quote.get("depositAddress"), "depositAddress", optional=request.dry)
        deadline = quote.get("deadline")
        try:
            when = parse_timestamp(deadline, what="deadline") if deadline is not None else None
        except RequestError as exc:
            raise UnreadableUpstream("the upstream sent an invalid quote deadline") from exc
        return UpstreamQuote(
            amount_in=amount_in,
            min_amount_in=min_in,
            amount_out=amount_out,
            deadline=when,
            deposit_address=None if request.dry else address,
            deposit_memo=_text(quote.get("depositMemo"), "depositMemo", optional=True),
        )

    async def status(self, deposit_address: str, memo: str | None) -> UpstreamStatus:
        params = {"depositAddress": deposit_address}
        if memo:
            params["depositMemo"] = memo
        data = _object(await self._call("GET", "/v0/status", params=params), "status")
        try:
            status = SwapStatus(str(data.get("status")))
        except ValueError as exc:
            raise UnreadableUpstream("the upstream sent an unknown status") from exc
        raw = data.get("swapDetails")
        details = {} if raw is None else _object(raw, "swapDetails")
        return UpstreamStatus(
            status=status,
            origin_tx_hashes=_hashes(details.get("originChainTxHashes"), "originChainTxHashes"),
            destination_tx_hashes=_hashes(
                details.get("destinationChainTxHashes"), "destinationChainTxHashes"
            ),
            near_tx_hashes=_hashes(details.get("nearTxHashes"), "nearTxHashes"),
            deposited_amount=_reported(details.get("depositedAmount"), "depositedAmount"),
            amount_out=_reported(details.get("amountOut"), "amountOut"),
            refunded_amount=_reported(details.get("refundedAmount"), "refundedAmount"),
        )

    async def submit_deposit(self, tx_hash: str, deposit_address: str, memo: str | None) -> None:
        body = {"txHash": tx_hash, "depositAddress": deposit_address}
        if memo:
            body["memo"] = memo
        await self._call("POST", "/v0/deposit/submit", body=body)
