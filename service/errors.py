"""Errors → HTTP status codes, in one place, with `{"error": {"code", "message"}}` bodies."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingest.errors import (
    BackendTimeout,
    BackendUnavailable,
    BadInput,
    IndexMismatch,
    NotFound,
    Overloaded,
    SkippedFile,
    StorageError,
    XinDaError,
)

log = logging.getLogger("xinda.http")
RETRY_AFTER_S = 5


class Unauthorized(XinDaError):
    """No API key was sent to a route that needs one."""


class Forbidden(XinDaError):
    """The API key is wrong, or document routes are disabled (no key configured)."""


class PayloadTooLarge(XinDaError):
    """The request body exceeds its limit."""


class UnsupportedMedia(XinDaError):
    """The uploaded file's type is not one XinDa reads."""


# Most specific first: the first matching class decides.
STATUS: list[tuple[type[XinDaError], int, str]] = [
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (PayloadTooLarge, 413, "payload_too_large"),
    (UnsupportedMedia, 415, "unsupported_media_type"),
    (SkippedFile, 422, "unprocessable_document"),
    (BadInput, 400, "bad_request"),
    (NotFound, 404, "not_found"),
    (Overloaded, 429, "overloaded"),
    (IndexMismatch, 503, "index_unavailable"),
    (BackendTimeout, 503, "backend_timeout"),
    (BackendUnavailable, 503, "backend_unavailable"),
    (StorageError, 503, "storage_unavailable"),
    (XinDaError, 500, "error"),
]


def status_for(exc: XinDaError) -> tuple[int, str]:
    """HTTP status and error code for one of XinDa's errors."""
    for kind, status, code in STATUS:
        if isinstance(exc, kind):
            return status, code
    return 500, "error"


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """The one error body shape; 429 and 503 say when to retry."""
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status in (429, 503) else None
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to the error body; no traceback ever reaches a client."""

    @app.exception_handler(XinDaError)
    async def _xinda(_: Request, exc: XinDaError) -> JSONResponse:
        status, code = status_for(exc)
        return error_response(status, code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
        return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal server error")
