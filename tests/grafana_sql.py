"""Grafana's interpolation of a SQL panel or variable query, as its PostgreSQL datasource does it: the time macros
with the dashboard's range (RFC 3339, UTC) and single-value variables by their raw value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expand(sql: str, start: datetime, end: datetime, variables: Mapping[str, str]) -> str:
    sql = re.sub(
        r"\$__timeFilter\(([^()]*)\)", lambda m: f"{m.group(1)} BETWEEN '{_iso(start)}' AND '{_iso(end)}'", sql
    )
    sql = sql.replace("$__timeFrom()", f"'{_iso(start)}'").replace("$__timeTo()", f"'{_iso(end)}'")
    if "$__" in sql:
        raise ValueError(f"a macro this expander does not know: {sql}")
    for name in sorted(variables, key=len, reverse=True):
        sql = re.sub(rf"\$\{{{name}\}}|\${name}\b", variables[name], sql)
    if re.search(r"\$[a-z]", sql):
        raise ValueError(f"a variable without a value: {sql}")
    return sql


def sql_queries(dashboard: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, format, sql) of every SQL target and SQL variable of a dashboard."""
    found = [
        (f"panel {p['title']!r}", t["format"], t["rawSql"])
        for p in dashboard["panels"]
        for t in p["targets"]
        if "rawSql" in t
    ]
    found += [
        (f"variable {v['name']}", "table", v["query"]) for v in dashboard["templating"]["list"] if v["type"] == "query"
    ]
    return found
