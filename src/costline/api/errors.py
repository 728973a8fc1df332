"""One JSON error shape for every error the API returns.

Every non-2xx answer is ``{"error": {"status", "code", "message", "hint", "request_id"}}``:
``code`` is a stable word a client can branch on (``unauthorized``, ``forbidden``,
``not_found``, ``bad_request``, ``validation``, ``conflict``, ``rate_limited``, ``unavailable``,
``internal``), ``message`` says what is wrong, ``hint`` names the fix when costline knows it,
``request_id`` matches the ``X-Request-ID`` header and the server log line. An unexpected
exception answers 500 with no detail (the log has it); a costline error keeps its message.

Example:
    >>> body = error_body(404, "no anomaly 'a-1'", request_id="r1")
    >>> body["error"]["code"], body["error"]["message"]
    ('not_found', "no anomaly 'a-1'")
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from costline.core.errors import (
    BadInputError,
    ConfigError,
    ConflictError,
    CostlineError,
    DatabaseLockedError,
    NotFoundError,
    QueryError,
    TransientError,
    WorkspaceError,
)

log = logging.getLogger("costline.api")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


class ApiError(Exception):
    """An error with an HTTP status, raised by endpoints and dependencies."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint
        self.headers = headers or {}


def error_body(
    status: int, message: str, *, hint: str | None = None, request_id: str | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "status": status,
            "code": CODES.get(status, "error"),
            "message": message,
            "hint": hint,
            "request_id": request_id,
        }
    }


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _answer(
    request: Request,
    status: int,
    message: str,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(status, message, hint=hint, request_id=_request_id(request)),
        status_code=status,
        headers=headers,
    )


def status_of(exc: CostlineError) -> int:
    """The HTTP status of a costline error."""
    if isinstance(exc, DatabaseLockedError | TransientError):
        return 503
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, ConfigError | BadInputError | QueryError):
        return 400
    if isinstance(exc, WorkspaceError):
        return 409
    return 500


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the one shape."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return _answer(request, exc.status, exc.message, exc.hint, exc.headers)

    @app.exception_handler(CostlineError)
    async def _costline(request: Request, exc: CostlineError) -> JSONResponse:
        status = status_of(exc)
        if status >= 500:
            log.error("request %s failed: %s", _request_id(request), exc.message)
        return _answer(request, status, exc.message, exc.hint)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail) if exc.detail else CODES.get(exc.status_code, "error")
        return _answer(request, exc.status_code, message, headers=dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'query')}: {e.get('msg')}"
            for e in exc.errors()
        ]
        return _answer(
            request,
            422,
            "; ".join(problems) or "invalid request",
            hint="see /docs for the parameters",
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request %s failed", _request_id(request))
        return _answer(request, 500, "internal error", hint="the server log has the details")
