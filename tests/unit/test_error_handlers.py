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


async def test_a_parameter_holding_nul_is_refused_by_name_before_any_handler() -> None:
    # Found by schemathesis: ?base=%00 reached a query, and Postgres refused the NUL as a 500.
    app = FastAPI()
    install_error_handlers(app)
    reached: list[str] = []

    @app.get("/things/{name}")
    async def thing(name: str, q: str = "") -> dict[str, str]:
        reached.append(name)
        return {"name": name, "q": q}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        by_query = await client.get("/things/x", params={"q": "a\x00b"})
        by_path = await client.get("/things/a%00b")
        fine = await client.get("/things/x", params={"q": "a b"})
    assert (by_query.status_code, by_query.json()["code"]) == (400, "invalid_parameter")
    assert by_query.json()["message"].startswith("q: NUL")
    assert (by_path.status_code, by_path.json()["message"][:5]) == (400, "path:")
    assert fine.json() == {"name": "x", "q": "a b"}
    assert reached == ["x"]
