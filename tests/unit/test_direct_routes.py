"""DirectRoutes: a hot route's endpoint is called past FastAPI's routing, with every middleware and exception handler
of the app still applying, and anything but an exact method and path going through FastAPI as before."""

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry

from pulse_common.http.direct_routes import DirectRoutes
from pulse_common.http.errors import ApiError, install_error_handlers
from pulse_common.telemetry.http import instrument


def _app(calls: list[str]) -> tuple[FastAPI, CollectorRegistry]:
    async def intake(request: Request) -> JSONResponse:
        calls.append(request.scope.get("route").path)  # type: ignore[union-attr]
        body = await request.body()
        if body == b"bad":
            raise ApiError(400, "invalid_body", "body: not what this endpoint takes")
        if body == b"db down":
            raise asyncpg.CannotConnectNowError("the database system is starting up")
        if body == b"bug":
            raise KeyError("bug")
        return JSONResponse({"got": body.decode()})

    router = APIRouter()
    router.add_api_route("/v1/intake", intake, methods=["POST"])
    app = FastAPI()
    registry = CollectorRegistry()
    app.add_middleware(DirectRoutes, owner=app, routes=[r for r in router.routes if isinstance(r, APIRoute)])
    install_error_handlers(app)
    instrument(app, registry)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["POST", "OPTIONS"], allow_headers=["*"])
    app.include_router(router)
    return app, registry


async def _post(app: FastAPI, path: str, body: bytes, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post(path, content=body, headers=headers)


async def test_the_endpoint_answers_with_the_middleware_around_it() -> None:
    calls: list[str] = []
    app, registry = _app(calls)
    response = await _post(app, "/v1/intake", b"hello", origin="https://app.example")
    assert (response.status_code, response.json()) == (200, {"got": "hello"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert calls == ["/v1/intake"]
    # Counted by its route template, as FastAPI's router would have it.
    counted = registry.get_sample_value(
        "pulse_http_requests_total", {"route": "/v1/intake", "method": "POST", "status": "200", "code": ""}
    )
    assert counted == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [(b"bad", 400, "invalid_body"), (b"db down", 503, "database_unavailable")],
)
async def test_errors_are_answered_by_the_apps_handlers(body: bytes, status: int, code: str) -> None:
    app, registry = _app([])
    response = await _post(app, "/v1/intake", body)
    assert (response.status_code, response.json()["code"]) == (status, code)
    counted = registry.get_sample_value(
        "pulse_http_requests_total", {"route": "/v1/intake", "method": "POST", "status": str(status), "code": code}
    )
    assert counted == 1


async def test_an_unhandled_error_stays_a_500() -> None:
    app, _ = _app([])
    assert (await _post(app, "/v1/intake", b"bug")).status_code == 500


async def test_other_methods_and_paths_go_through_fastapi() -> None:
    calls: list[str] = []
    app, _ = _app(calls)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        preflight = await client.options(
            "/v1/intake", headers={"origin": "https://app.example", "access-control-request-method": "POST"}
        )
        wrong_method = await client.get("/v1/intake")
        unknown = await client.post("/v1/other", content=b"x")
    assert preflight.status_code == 200
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert calls == []


def test_an_endpoint_taking_more_than_the_request_is_refused() -> None:
    async def takes_a_parameter(request: Request, name: str) -> JSONResponse:
        return JSONResponse({})

    route = APIRoute("/v1/things/{name}", takes_a_parameter, methods=["POST"])
    with pytest.raises(TypeError, match="must take the Request alone"):
        DirectRoutes(FastAPI(), owner=FastAPI(), routes=[route])
