"""Errors as ``{"code", "message"}`` JSON, naming the offending field or parameter."""

from typing import Any
from urllib.parse import parse_qsl

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from pulse_common.telemetry.http import record_error_code


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def _describe_validation(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors:
        location = [str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body", "header")]
        parts.append(f"{'.'.join(location) or 'request'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def _answer(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    record_error_code(request.scope, code)
    return error_response(status, code, message, headers)


class RefuseNulParameters:
    """A path or query parameter holding NUL is refused before any handler sees it: Postgres text cannot hold NUL,
    so it would otherwise fail inside a query as a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            name = _nul_parameter(scope)
            if name is not None:
                record_error_code(scope, "invalid_parameter")
                answer = error_response(400, "invalid_parameter", f"{name}: NUL (\\u0000) is not allowed")
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _nul_parameter(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "path"
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return None


def install_error_handlers(app: FastAPI) -> None:
    app.add_middleware(RefuseNulParameters)

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _answer(request, exc.status, exc.code, exc.message, exc.headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _answer(request, 400, "invalid_parameter", _describe_validation(list(exc.errors())))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _answer(request, exc.status_code, code, str(exc.detail), dict(exc.headers or {}))

    async def on_query_timeout(request: Request, exc: Exception) -> JSONResponse:
        return _answer(
            request,
            503,
            "query_timeout",
            "the database did not answer in time; retry, or ask for a shorter range (a segment reads per-user rows)",
            {"Retry-After": "5"},
        )

    async def on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        return _answer(request, 503, "database_unavailable", "the database is unreachable; retry", {"Retry-After": "5"})

    app.add_exception_handler(ApiError, on_api_error)
    # Infrastructure failures are retryable (503 + Retry-After), never a bare 500.
    app.add_exception_handler(TimeoutError, on_query_timeout)
    app.add_exception_handler(asyncpg.QueryCanceledError, on_query_timeout)
    app.add_exception_handler(asyncpg.PostgresConnectionError, on_database_unavailable)
    # Shutdowns and restarts (class 57; its query-canceled member is a timeout, handled above).
    app.add_exception_handler(asyncpg.exceptions.OperatorInterventionError, on_database_unavailable)
    app.add_exception_handler(asyncpg.InterfaceError, on_database_unavailable)
    # A connection killed in the middle of an operation can surface as this protocol-state error.
    app.add_exception_handler(asyncpg.exceptions.InternalClientError, on_database_unavailable)
    app.add_exception_handler(ConnectionError, on_database_unavailable)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
