"""The v0 endpoints: parse, call one use case, shape the answer. Nothing else lives here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPBearer

from oneclick.api.correlation import current_correlation_id
from oneclick.api.schemas import (
    BadRequestResponse,
    GenerateIntentRequest,
    GenerateIntentResponse,
    GetExecutionStatusResponse,
    QuoteRequest,
    QuoteResponse,
    SubmitDepositTxRequest,
    SubmitDepositTxResponse,
    SubmitIntentRequest,
    SubmitIntentResponse,
    TokenResponse,
)
from oneclick.domain.errors import RequestError, Unauthorized
from oneclick.domain.records import Partner
from oneclick.domain.requests import QuoteInput
from oneclick.domain.timestamps import format_timestamp
from oneclick.services import intents, quoting, status, tokens
from oneclick.services.clients import client_identity
from oneclick.services.context import ServiceContext
from oneclick.services.partners import authenticate

router = APIRouter(tags=["OneClick"])

_bearer = HTTPBearer(auto_error=False, scheme_name="JWT-auth", description="Partner JWT (optional)")
_api_key = APIKeyHeader(name="x-api-key", auto_error=False, scheme_name="API-key")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": BadRequestResponse, "description": "Bad Request - Invalid input data"},
    401: {"model": BadRequestResponse, "description": "Unauthorized - JWT token is invalid"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": BadRequestResponse, "description": "Deposit address not found"}
}


def _ctx(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def partner(
    request: Request,
    _b: Annotated[object, Depends(_bearer)] = None,
    _k: Annotated[object, Depends(_api_key)] = None,
) -> Partner | None:
    """No token: the anonymous tier. A token that is malformed, expired or revoked: 401.
    ``X-API-Key`` names the partner when present; ``Authorization`` may then carry a user
    session (api/account.py) and is not read here. Without it, ``Authorization: Bearer``."""
    header = request.headers.get("authorization")
    token = request.headers.get("x-api-key")
    if token is not None:
        token = token.strip()
        if not token:
            raise Unauthorized("Unauthorized - X-API-Key is empty")
    elif header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Unauthorized - expected 'Authorization: Bearer <JWT>'")
        token = value.strip()
    if token is None:
        return None
    ctx = _ctx(request)
    return await authenticate(ctx.store, token, secret=ctx.jwt_secret, now=ctx.clock.now())


Caller = Annotated[Partner | None, Depends(partner)]


@router.get("/v0/tokens", response_model=list[TokenResponse], operation_id="getTokens",
            summary="Get supported tokens")  # fmt: skip
async def get_tokens(request: Request) -> JSONResponse:
    return JSONResponse(tokens_body(await tokens.list_tokens(_ctx(request))))


def tokens_body(views: list[tokens.TokenView]) -> list[dict[str, Any]]:
    body = []
    for view in views:
        item: dict[str, Any] = {
            "assetId": view.asset.asset_id,
            "decimals": view.asset.decimals,
            "blockchain": view.asset.blockchain,
            "symbol": view.asset.symbol,
            "price": float(view.price_usd),  # a display value in the wire's number type
            "priceUpdatedAt": format_timestamp(view.price_updated_at),
        }
        if view.asset.contract_address:
            item["contractAddress"] = view.asset.contract_address
        if view.asset.coingecko_id:
            item["coingeckoId"] = view.asset.coingecko_id
        body.append(item)
    return body


@router.post("/v0/quote", response_model=QuoteResponse, responses=_ERRORS,
             operation_id="getQuote", summary="Request a swap quote")  # fmt: skip
async def post_quote(body: QuoteRequest, request: Request, caller: Caller) -> JSONResponse:
    raw = QuoteInput(
        dry=body.dry,
        swap_type=body.swapType.value,
        slippage_tolerance=body.slippageTolerance,
        origin_asset=body.originAsset,
        deposit_type=body.depositType.value,
        destination_asset=body.destinationAsset,
        amount=body.amount,
        refund_to=body.refundTo,
        refund_type=body.refundType.value,
        recipient=body.recipient,
        recipient_type=body.recipientType.value,
        deadline=body.deadline,
        deposit_mode=body.depositMode.value,
        app_fees=tuple((fee.recipient, fee.fee) for fee in body.appFees or ()),
        referral=body.referral,
        quote_waiting_time_ms=body.quoteWaitingTimeMs,
        virtual_chain_recipient=body.virtualChainRecipient,
        virtual_chain_refund_recipient=body.virtualChainRefundRecipient,
        custom_recipient_msg=body.customRecipientMsg,
    )
    if body.rebates or (body.confidentiality and body.confidentiality.value != "public"):
        raise RequestError("confidential swaps and rebates are not supported by this service")
    client = client_identity(caller, request.client.host if request.client else None)
    document = await quoting.request_quote(
        _ctx(request), raw, partner=caller, correlation_id=current_correlation_id(), client=client
    )
    return JSONResponse(document)


def _details(progress: status.SwapProgress) -> dict[str, Any]:
    details: dict[str, Any] = {
        "intentHashes": progress.intent_hashes,
        "nearTxHashes": progress.near_tx_hashes,
        "originChainTxHashes": [
            {"hash": t.hash, "explorerUrl": t.explorer_url} for t in progress.origin_chain_txs
        ],
        "destinationChainTxHashes": [
            {"hash": t.hash, "explorerUrl": t.explorer_url} for t in progress.destination_chain_txs
        ],
    }
    for name, amount in (
        ("amountIn", progress.amount_in),
        ("amountOut", progress.amount_out),
        ("depositedAmount", progress.deposited),
        ("refundedAmount", progress.refunded),
    ):
        if amount is not None:
            details.update(
                {name: amount.value, f"{name}Formatted": amount.formatted, f"{name}Usd": amount.usd}
            )
    optional = {
        "slippage": progress.slippage,
        "refundReason": progress.refund_reason,
        "withdrawFee": progress.withdraw_fee,
        "referral": progress.referral,
    }
    details.update({k: v for k, v in optional.items() if v is not None})
    details["deposits"] = [_deposit(line) for line in progress.deposits]
    if progress.any_input_deposits is not None:  # this service's extension (ANY_INPUT)
        details["anyInputDeposits"] = progress.any_input_deposits
    return details


def _deposit(line: status.DepositLine) -> dict[str, Any]:
    entry = line.entry
    body: dict[str, Any] = {
        "txHash": line.tx.hash,
        "explorerUrl": line.tx.explorer_url,
        "asset": entry.asset,
        "amount": str(entry.amount),
        "status": entry.outcome.value,
        "refundTxHashes": [
            {"hash": t.hash, "explorerUrl": t.explorer_url} for t in line.refund_txs
        ],
    }
    if entry.swapped:
        body["swappedAmount"] = str(entry.swapped)
    if entry.refunded:
        body["refundedAmount"] = str(entry.refunded)
    if entry.reason:
        body["reason"] = entry.reason
    return body


def status_body(report: status.StatusReport) -> dict[str, Any]:
    return {
        "correlationId": current_correlation_id(),
        "quoteResponse": report.quote_response,
        "status": report.status.value,
        "updatedAt": format_timestamp(report.updated_at),
        "swapDetails": _details(report.progress),
    }


@router.get("/v0/status", response_model=GetExecutionStatusResponse,
            responses=_ERRORS | _NOT_FOUND, operation_id="getExecutionStatus",
            summary="Check swap execution status")  # fmt: skip
async def get_status(
    request: Request,
    caller: Caller,
    depositAddress: Annotated[str, Query()],  # noqa: N803 (wire name)
    depositMemo: Annotated[str | None, Query()] = None,  # noqa: N803
) -> JSONResponse:
    report = await status.status_report(_ctx(request), depositAddress, depositMemo)
    return JSONResponse(status_body(report))


@router.post("/v0/deposit/submit", response_model=SubmitDepositTxResponse,
             responses=_ERRORS | _NOT_FOUND, operation_id="submitDepositTx",
             summary="Submit deposit transaction hash")  # fmt: skip
async def submit_deposit(
    body: SubmitDepositTxRequest, request: Request, caller: Caller
) -> JSONResponse:
    await status.submit_deposit(
        _ctx(request),
        tx_hash=body.txHash,
        address=body.depositAddress,
        memo=body.memo,
        near_sender_account=body.nearSenderAccount,
    )
    report = await status.status_report(_ctx(request), body.depositAddress, body.memo)
    return JSONResponse(status_body(report))


@router.post("/v0/generate-intent", response_model=GenerateIntentResponse,
             responses=_ERRORS | _NOT_FOUND, operation_id="generateIntent",
             summary="Generate the intent that funds an INTENTS deposit")  # fmt: skip
async def generate_intent(
    body: GenerateIntentRequest, request: Request, caller: Caller
) -> JSONResponse:
    intent = await intents.generate_intent(
        _ctx(request),
        kind=body.type.value,
        standard=body.standard.value,
        signer_id=body.signerId,
        deposit_address=body.depositAddress,
    )
    return JSONResponse({"intent": intent, "correlationId": current_correlation_id()})


@router.post("/v0/submit-intent", response_model=SubmitIntentResponse,
             responses=_ERRORS | _NOT_FOUND, operation_id="submitIntent",
             summary="Submit a signed intent")  # fmt: skip
async def submit_intent(
    body: SubmitIntentRequest, request: Request, caller: Caller
) -> JSONResponse:
    intent_hash = await intents.submit_intent(
        _ctx(request), kind=body.type.value, signed_data=body.signedData
    )
    return JSONResponse({"intentHash": intent_hash, "correlationId": current_correlation_id()})
