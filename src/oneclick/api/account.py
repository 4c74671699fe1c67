"""User sessions and the signed-in user's account (TypeScript SDK 0.1.25: ``UserAuthService``,
``AccountService``): ``/v0/auth/authenticate``, ``/v0/auth/refresh``, ``/v0/account/balances``,
``/v0/account/history``. Beyond the reference spec 0.1.10, so the strict profiles serve them
as they are (only their errors are pruned to ``{message}``)."""

# ruff: noqa: N803, N815 - parameter and field names are the wire's camelCase names

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from oneclick.api.schemas import BadRequestResponse
from oneclick.domain.errors import RequestError, Unauthorized
from oneclick.domain.requests import DepositType, RecipientType, RefundType
from oneclick.domain.sessions import (
    MAX_HISTORY_LIMIT,
    HistoryPosition,
    HistoryQuery,
    UserSession,
    statuses_matching,
    type_filters,
)
from oneclick.services import accounts, sessions
from oneclick.services.context import ServiceContext

router = APIRouter(tags=["Account"])

_user_bearer = HTTPBearer(
    auto_error=False, scheme_name="UserSession", description="accessToken of /v0/auth/authenticate"
)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AuthenticateRequestDto(_Wire):
    signedData: dict[str, Any] = Field(
        description="A MultiPayload signing an empty intent list (intents: []) for the verifier"
    )


class AuthenticateResponseDto(_Wire):
    accessToken: str
    refreshToken: str
    expiresIn: int = Field(description="Access token expiration time in seconds")
    refreshExpiresIn: int = Field(description="Refresh token expiration time in seconds")


class RefreshRequestDto(_Wire):
    refreshToken: StrictStr


class RefreshResponseDto(_Wire):
    accessToken: str
    expiresIn: int
    refreshToken: str | None = Field(
        default=None, description="The next refresh token: the one sent is spent (extension)"
    )
    refreshExpiresIn: int | None = None


class BalanceSource(StrEnum):
    PRIVATE = "private"


class BalanceEntry(_Wire):
    tokenId: str
    available: str
    source: BalanceSource


class GetBalancesResponse(_Wire):
    balances: list[BalanceEntry]


class HistoryStatus(StrEnum):
    PENDING_DEPOSIT = "PENDING_DEPOSIT"
    INCOMPLETE_DEPOSIT = "INCOMPLETE_DEPOSIT"
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"


class QuoteTransaction(_Wire):
    sender: str | None = None
    txHash: str | None = None


class HistoryItem(_Wire):
    status: HistoryStatus
    depositType: DepositType
    recipientType: RecipientType
    createdAt: str
    depositAddress: str
    depositMemo: str | None
    originAsset: str | None = None
    amountInFormatted: str | None = None
    amountInUsd: str | None = None
    destinationAsset: str | None = None
    amountOutFormatted: str | None = None
    amountOutUsd: str | None = None
    recipient: str | None = None
    quoteTransactions: list[QuoteTransaction] | None = None
    refundTo: str | None = None
    refundType: RefundType
    refundReason: str | None = None
    refundedAmountFormatted: str | None = None
    refundedAmountUsd: str | None = None
    refundFee: str | None = None
    refundFeeFormatted: str | None = None


class HistoryResponse(_Wire):
    items: list[HistoryItem]
    nextCursor: str | None = None
    prevCursor: str | None = None


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": BadRequestResponse, "description": "Invalid signed data or parameters"},
    401: {"model": BadRequestResponse, "description": "Invalid, expired or revoked credentials"},
}


def _ctx(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def signed_in_user(
    request: Request, _b: Annotated[object, Depends(_user_bearer)] = None
) -> UserSession:
    """The session of ``Authorization: Bearer <accessToken>``; 401 without one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("Unauthorized - expected 'Authorization: Bearer <accessToken>'")
    return await sessions.user_of(_ctx(request), value.strip())


User = Annotated[UserSession, Depends(signed_in_user)]


@router.post("/v0/auth/authenticate", response_model=AuthenticateResponseDto, responses=_ERRORS,
             operation_id="authenticate", summary="Authenticate user with signed data")  # fmt: skip
async def authenticate(body: AuthenticateRequestDto, request: Request) -> JSONResponse:
    issued = await sessions.authenticate(_ctx(request), body.signedData)
    return JSONResponse(
        {
            "accessToken": issued.access_token,
            "refreshToken": issued.refresh_token,
            "expiresIn": issued.access_expires_in,
            "refreshExpiresIn": issued.refresh_expires_in,
        }
    )


@router.post("/v0/auth/refresh", response_model=RefreshResponseDto, responses=_ERRORS,
             operation_id="refresh", summary="Refresh access token")  # fmt: skip
async def refresh(body: RefreshRequestDto, request: Request) -> JSONResponse:
    issued = await sessions.refresh(_ctx(request), body.refreshToken)
    return JSONResponse(
        {
            "accessToken": issued.access_token,
            "expiresIn": issued.access_expires_in,
            "refreshToken": issued.refresh_token,
            "refreshExpiresIn": issued.refresh_expires_in,
        }
    )


def _listed(values: list[str] | None) -> list[str]:
    """Repeated parameters (the SDK's form) or comma-separated ones (the docs' form)."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def _choices(values: list[str] | None, allowed: type[StrEnum], what: str) -> list[str]:
    chosen = _listed(values)
    valid = {member.value for member in allowed} | {"null"}
    bad = [value for value in chosen if value not in valid]
    if bad:
        raise RequestError(f"{what}: {bad[0]!r} is not one of {', '.join(sorted(valid))}")
    return chosen


_NUMBER = re.compile(r"[0-9]{1,6}(\.0*)?")


def _limit(text: str | None) -> int:
    # Upstream types limit as a number: "20.0" is 20, like the body's numbers.
    if text is None:
        return 20
    if not _NUMBER.fullmatch(text) or not 1 <= float(text) <= MAX_HISTORY_LIMIT:
        raise RequestError(f"limit must be an integer from 1 to {MAX_HISTORY_LIMIT}")
    return int(float(text))


@router.get("/v0/account/balances", response_model=GetBalancesResponse, responses=_ERRORS,
            operation_id="getBalances", summary="Get user token balances")  # fmt: skip
async def get_balances(
    request: Request, user: User, tokenIds: Annotated[list[str] | None, Query()] = None
) -> JSONResponse:
    found = await accounts.balances(_ctx(request), user.account_id, _listed(tokenIds))
    return JSONResponse(
        {
            "balances": [
                {"tokenId": b.token_id, "available": str(b.available), "source": "private"}
                for b in found
            ]
        }
    )


@router.get("/v0/account/history", response_model=HistoryResponse, responses=_ERRORS,
            operation_id="getHistory", summary="Get transaction history")  # fmt: skip
async def get_history(
    request: Request,
    user: User,
    prevCursor: Annotated[str | None, Query(max_length=512)] = None,
    nextCursor: Annotated[str | None, Query(max_length=512)] = None,
    status: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[str | None, Query(description="1-100, default 20")] = None,
    depositAddress: Annotated[str | None, Query(max_length=128)] = None,
    depositMemo: Annotated[str | None, Query(max_length=64)] = None,
    search: Annotated[str | None, Query(max_length=256)] = None,
    depositType: Annotated[list[str] | None, Query()] = None,
    recipientType: Annotated[list[str] | None, Query()] = None,
    refundType: Annotated[list[str] | None, Query()] = None,
) -> JSONResponse:
    statuses = [s for s in _choices(status, HistoryStatus, "status") if s != "null"]
    query = HistoryQuery(
        account_id=user.account_id,
        limit=_limit(limit),
        older_than=HistoryPosition.decode(prevCursor, what="prevCursor") if prevCursor else None,
        newer_than=HistoryPosition.decode(nextCursor, what="nextCursor") if nextCursor else None,
        statuses=statuses_matching(statuses),
        deposit_address=depositAddress or None,
        deposit_memo=depositMemo or None,
        search=search.strip() if search and search.strip() else None,
        types=type_filters(
            _choices(depositType, DepositType, "depositType"),
            _choices(recipientType, RecipientType, "recipientType"),
            _choices(refundType, RefundType, "refundType"),
        ),
    )
    page = await accounts.history(_ctx(request), query)
    body: dict[str, Any] = {"items": page.items}
    if page.next_cursor is not None:
        body["nextCursor"] = page.next_cursor
    if page.prev_cursor is not None:
        body["prevCursor"] = page.prev_cursor
    return JSONResponse(body)
