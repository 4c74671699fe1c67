"""``GET /v0/any-input/withdrawals``: the withdrawals of an ANY_INPUT quote's pool."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from oneclick.api.routes import _ERRORS, _NOT_FOUND, Caller, _ctx
from oneclick.api.schemas import GetAnyInputQuoteWithdrawals, SortOrder
from oneclick.domain.timestamps import format_timestamp, parse_timestamp
from oneclick.services import any_input

router = APIRouter(tags=["OneClick"])


@router.get("/v0/any-input/withdrawals", response_model=GetAnyInputQuoteWithdrawals,
            responses=_ERRORS | _NOT_FOUND, operation_id="getAnyInputQuoteWithdrawals",
            summary="Withdrawals of an ANY_INPUT quote")  # fmt: skip
async def any_input_withdrawals(
    request: Request,
    caller: Caller,
    depositAddress: Annotated[str, Query()],  # noqa: N803
    depositMemo: Annotated[str | None, Query()] = None,  # noqa: N803
    timestampFrom: Annotated[str | None, Query(json_schema_extra={"format": "date-time"})] = None,  # noqa: N803
    page: Annotated[int, Query(ge=1)] = 1,
    limit: Annotated[int, Query(ge=1, le=50)] = 50,
    sortOrder: Annotated[SortOrder, Query()] = SortOrder.DESC,  # noqa: N803
) -> JSONResponse:
    since = parse_timestamp(timestampFrom, what="timestampFrom") if timestampFrom else None
    found = await any_input.withdrawals_page(
        _ctx(request), depositAddress, depositMemo, since=since, page=page, limit=limit,
        newest_first=sortOrder is SortOrder.DESC,
    )  # fmt: skip
    body: dict[str, Any] = {
        "recipient": found.recipient,
        "affiliateRecipient": found.affiliate_recipient,
        "asset": found.asset,
        "withdrawals": [
            {
                "status": w.status,
                "amountOut": w.amount_out,
                "amountOutFormatted": w.amount_out_formatted,
                "amountOutUsd": w.amount_out_usd,
                "withdrawFee": w.withdraw_fee,
                "withdrawFeeFormatted": w.withdraw_fee_formatted,
                "withdrawFeeUsd": w.withdraw_fee_usd,
                "timestamp": format_timestamp(w.timestamp),
                "hash": w.hash,
            }
            for w in found.withdrawals
        ],
        "page": found.page,
        "limit": found.limit,
        "total": found.total,
    }
    return JSONResponse(body)
