"""Infrastructure failures in a read handler answer a retryable 503 with a code and Retry-After, never a bare 500."""

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from pulse_common.http.errors import install_error_handlers


async def read_failing_with(error: Exception) -> httpx.Response:
    app = FastAPI()
    install_error_handlers(app)

    async def read() -> None:
        raise error

    app.add_api_route("/read", read)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/read")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (TimeoutError(), "query_timeout"),
        (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), "query_timeout"),
        (asyncpg.CannotConnectNowError("the database system is starting up"), "database_unavailable"),
        (
            asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
            "database_unavailable",
        ),
        (ConnectionRefusedError(111, "Connection refused"), "database_unavailable"),
    ],
)
async def test_infrastructure_failures_are_retryable(error: Exception, code: str) -> None:
    response = await read_failing_with(error)
    assert (response.status_code, response.json()["code"], response.headers["Retry-After"]) == (503, code, "5")


async def test_a_programming_error_stays_a_500() -> None:
    assert (await read_failing_with(KeyError("bug"))).status_code == 500
