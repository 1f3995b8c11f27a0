"""JSON or CSV: to_csv, wants_csv and represent."""

from typing import Any

import pytest
from starlette.requests import Request

from pulse_common.http.representation import header_value, represent, to_csv, wants_csv


def _request(query: str = "", headers: dict[str, str] | None = None) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/v1/projects/acme/events",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        pytest.param("", {}, False, id="neither"),
        pytest.param("format=csv", {}, True, id="format-csv"),
        pytest.param("format=CSV", {}, True, id="format-csv-uppercase"),
        pytest.param("from=2026-03-01&format=csv&to=2026-03-31", {}, True, id="format-among-others"),
        pytest.param("format=json", {}, False, id="format-json"),
        pytest.param("format=csvx", {}, False, id="format-not-exactly-csv"),
        pytest.param("", {"Accept": "text/csv"}, True, id="accept-csv"),
        pytest.param("", {"Accept": "TEXT/CSV"}, True, id="accept-csv-uppercase"),
        pytest.param("", {"Accept": "application/json, text/csv;q=0.5"}, True, id="accept-list-with-csv"),
        pytest.param("", {"Accept": "application/json"}, False, id="accept-json"),
        pytest.param("", {"Accept": "*/*"}, False, id="accept-anything"),
        pytest.param("format=json", {"Accept": "text/csv"}, True, id="header-even-with-format-json"),
        pytest.param("", {"User-Agent": "text/csv"}, False, id="other-header"),
    ],
)
def test_wants_csv(query: str, headers: dict[str, str], expected: bool) -> None:
    assert wants_csv(_request(query, headers)) is expected


@pytest.mark.parametrize(
    ("rows", "columns", "expected"),
    [
        pytest.param([], ["day", "count"], "day,count\n", id="header-only"),
        pytest.param(
            [{"day": "2026-03-01", "count": 3}, {"day": "2026-03-02", "count": 0}],
            ["day", "count"],
            "day,count\n2026-03-01,3\n2026-03-02,0\n",
            id="rows",
        ),
        pytest.param([{"a": 1, "b": 2}], ["b", "a"], "b,a\n2,1\n", id="column-order"),
        pytest.param([{"a": None, "b": 2}], ["a", "b"], "a,b\n,2\n", id="none-is-empty"),
        pytest.param([{"b": 2}], ["a", "b"], "a,b\n,2\n", id="missing-is-empty"),
        pytest.param([{"a": 1, "secret": "x"}], ["a"], "a\n1\n", id="extra-keys-ignored"),
        pytest.param([{"a": "x,y"}], ["a"], 'a\n"x,y"\n', id="comma-quoted"),
        pytest.param([{"a": 'say "hi"'}], ["a"], 'a\n"say ""hi"""\n', id="quote-doubled"),
        pytest.param([{"a": "two\nlines"}], ["a"], 'a\n"two\nlines"\n', id="newline-quoted"),
        pytest.param([{"a": 0.25, "b": False}], ["a", "b"], "a,b\n0.25,False\n", id="float-and-bool"),
        pytest.param([{"a": 0, "b": ""}], ["a", "b"], "a,b\n0,\n", id="zero-and-empty-kept"),
    ],
)
def test_to_csv(rows: list[dict[str, Any]], columns: list[str], expected: str) -> None:
    assert to_csv(rows, columns) == expected


PAYLOAD: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "as_of": "2026-03-01T12:00:00Z",
    "count": 2,
    "complete": True,
    "series": [{"day": "2026-03-01", "count": 2}],
}


def test_represent_json() -> None:
    response = represent(_request(), PAYLOAD, PAYLOAD["series"], ["day", "count"])
    assert response.media_type == "application/json"
    assert response.body == (
        b'{"timezone":"Europe/Berlin","as_of":"2026-03-01T12:00:00Z","count":2,"complete":true,'
        b'"series":[{"day":"2026-03-01","count":2}]}'
    )


def test_represent_csv_with_scalar_context_in_headers() -> None:
    response = represent(_request("format=csv"), PAYLOAD, PAYLOAD["series"], ["day", "count"])
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.body == b"day,count\n2026-03-01,2\n"
    assert response.headers["x-pulse-timezone"] == "Europe/Berlin"
    assert response.headers["x-pulse-as-of"] == "2026-03-01T12:00:00Z"
    assert response.headers["x-pulse-count"] == "2"
    # Booleans and lists are not scalar context.
    assert "x-pulse-complete" not in response.headers
    assert "x-pulse-series" not in response.headers


@pytest.mark.parametrize(
    ("value", "header"),
    [
        ("UTC", "UTC"),
        (42, "42"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("ü€", "%C3%BC%E2%82%AC"),
        ("a\r\nX: y", "a%0D%0AX%3A%20y"),
    ],
)
def test_header_values_are_printable_ascii(value: object, header: str) -> None:
    # Found by schemathesis: a filter value outside Latin-1 echoed into a CSV answer's headers was a 500.
    assert header_value(value) == header
