"""Every failure becomes ``{"message": …, "correlationId": …}`` with the documented status:
``RequestError`` → its 4xx plus its ``code`` and parameters (stripped by the strict profiles),
FastAPI's request-validation errors → 400 ``INVALID_REQUEST`` (never 422),
``TemporaryError`` → 503, ``PermanentError`` → 502, anything else → 500 (logged)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from oneclick.api.correlation import current_correlation_id
from oneclick.domain.errors import (
    ErrorCode,
    OneClickError,
    PermanentError,
    RequestError,
    TemporaryError,
)

logger = logging.getLogger(__name__)


def error_response(
    status: int,
    message: str,
    *,
    code: ErrorCode | None = None,
    params: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_document(message, code=code, params=params), status_code=status)


def error_document(
    message: str, *, code: ErrorCode | None = None, params: dict[str, str] | None = None
) -> dict[str, str]:
    """An error's body: ``message`` and the request's correlation id (and ``code`` with its
    ``params`` when given)."""
    body: dict[str, str] = {"message": message, "correlationId": current_correlation_id()}
    if code is not None:
        body = {**(params or {}), **body, "code": code.value}
    return body


def validation_message(errors: list[dict[str, Any]] | Any) -> str:
    """One readable sentence for the first problem, e.g. ``slippageTolerance: Input should be a
    valid integer``."""
    if not errors:
        return "Invalid request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "Request body is not valid JSON"
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    field = ".".join(location)
    message = str(first.get("msg", "invalid value"))
    if first.get("type") == "missing":
        return f"{field} is required" if field else "Request body is required"
    if not field:
        return f"Request body must be a JSON object ({message})"
    return f"{field}: {message}"


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    message = validation_message(list(exc.errors()))
    return error_response(400, message, code=ErrorCode.INVALID_REQUEST)


async def _oneclick(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OneClickError)
    if isinstance(exc, RequestError):
        return error_response(exc.status_code, exc.message, code=exc.code, params=exc.params)
    if isinstance(exc, TemporaryError):
        logger.warning("temporary failure: %s", exc.message, extra={"action": "api"})
        return error_response(503, exc.message)
    if isinstance(exc, PermanentError):
        logger.error("dependency failure: %s", exc.message, extra={"action": "api"})
        return error_response(502, "An upstream service failed; the operator has been alerted")
    logger.error("configuration failure: %s", exc.message, extra={"action": "api"})
    return error_response(503, "The service is not configured correctly")


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, str(exc.detail))


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # The request loop's top: log with the correlation id, answer without internals.
    logger.exception("unhandled error", extra={"action": "api"})
    return error_response(500, "Internal error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(OneClickError, _oneclick)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
