"""Typed builders for Grafana dashboard JSON (classic model, schemaVersion 39: the Grafana 11 line), only what the
Pulse dashboards use. Panels are laid out in rows of 24 columns by the dashboard, so positions never overlap."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SCHEMA_VERSION = 39  # Grafana 11.x
POSTGRES = {"type": "grafana-postgresql-datasource", "uid": "pulse-postgres"}
PROMETHEUS = {"type": "prometheus", "uid": "pulse-prometheus"}

Json = dict[str, Any]


@dataclass(frozen=True)
class Sql:
    """A raw SQL query on the Postgres datasource (grafana schema views only)."""

    sql: str
    format: Literal["time_series", "table"] = "table"

    def target(self, ref_id: str) -> Json:
        return {
            "refId": ref_id,
            "datasource": POSTGRES,
            "editorMode": "code",
            "format": self.format,
            "rawQuery": True,
            "rawSql": self.sql,
        }


@dataclass(frozen=True)
class PromQl:
    expr: str
    legend: str = "__auto"

    def target(self, ref_id: str) -> Json:
        return {
            "refId": ref_id,
            "datasource": PROMETHEUS,
            "editorMode": "code",
            "expr": self.expr,
            "legendFormat": self.legend,
            "range": True,
        }


Query = Sql | PromQl


@dataclass(frozen=True)
class Panel:
    type: Literal["timeseries", "table", "stat", "barchart"]
    title: str
    description: str
    queries: tuple[Query, ...]
    width: int = 12
    height: int = 8
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    options: Json = field(default_factory=dict)
    custom: Json = field(default_factory=dict)  # fieldConfig.defaults.custom
    overrides: tuple[Json, ...] = ()
    transformations: tuple[Json, ...] = ()

    def to_json(self, panel_id: int, x: int, y: int) -> Json:
        datasource = POSTGRES if isinstance(self.queries[0], Sql) else PROMETHEUS
        defaults: Json = {"custom": self.custom}
        for key, value in (("unit", self.unit), ("min", self.min), ("max", self.max)):
            if value is not None:
                defaults[key] = value
        panel: Json = {
            "id": panel_id,
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "datasource": datasource,
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "targets": [q.target(chr(ord("A") + i)) for i, q in enumerate(self.queries)],
            "fieldConfig": {"defaults": defaults, "overrides": list(self.overrides)},
            "options": {**DEFAULT_OPTIONS.get(self.type, {}), **self.options},
        }
        if self.transformations:
            panel["transformations"] = list(self.transformations)
        return panel


# Options every panel of a type carries (the schemas ask for them; Grafana would fill the same defaults).
DEFAULT_OPTIONS: dict[str, Json] = {
    "timeseries": {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
        "tooltip": {"mode": "multi", "sort": "none"},
    },
    "table": {"frameIndex": 0, "showHeader": True, "cellHeight": "sm"},
    "stat": {
        "graphMode": "area",
        "colorMode": "value",
        "justifyMode": "auto",
        "textMode": "auto",
        "wideLayout": True,
        "showPercentChange": False,
        "percentChangeColorMode": "standard",
        "orientation": "auto",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
    },
    "barchart": {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
        "tooltip": {"mode": "multi", "sort": "none"},
        "stacking": "normal",
        "xTickLabelRotation": 0,
    },
}


ALL = "__all"  # the value of a variable's "All" choice; queries test for it


@dataclass(frozen=True)
class Choice:
    """A variable with fixed values (e.g. the period of a series)."""

    name: str
    label: str
    values: tuple[str, ...]

    def to_json(self) -> Json:
        options = [{"text": v, "value": v, "selected": i == 0} for i, v in enumerate(self.values)]
        return {
            "type": "custom",
            "name": self.name,
            "label": self.label,
            "query": ",".join(self.values),
            "current": {"text": self.values[0], "value": self.values[0]},
            "options": options,
            "multi": False,
            "includeAll": False,
        }


@dataclass(frozen=True)
class Variable:
    """A dashboard variable filled by a SQL query (one column: the values)."""

    name: str
    label: str
    sql: str
    include_all: bool = False

    def to_json(self) -> Json:
        variable: Json = {
            "type": "query",
            "name": self.name,
            "label": self.label,
            "datasource": POSTGRES,
            "query": self.sql,
            "definition": self.sql,
            "refresh": 2,  # on time range change
            "sort": 1,
            "multi": False,
            "includeAll": self.include_all,
            "options": [],  # Grafana fills them from the query, and picks the first value
        }
        if self.include_all:
            variable["allValue"] = ALL
        return variable


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[tuple[Panel, ...], ...]  # each row's panel widths sum to at most 24
    variables: tuple[Variable | Choice, ...] = ()
    time_from: str = "now-30d"
    tags: tuple[str, ...] = ("pulse",)

    def to_json(self) -> Json:
        panels: list[Json] = []
        y = 0
        for row in self.rows:
            if sum(p.width for p in row) > 24:
                raise ValueError(f"{self.uid}: a row wider than 24 columns: {[p.title for p in row]}")
            x = 0
            for panel in row:
                panels.append(panel.to_json(len(panels) + 1, x, y))
                x += panel.width
            y += max(p.height for p in row)
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "timezone": "browser",
            "editable": False,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "refresh": "1m",
            "time": {"from": self.time_from, "to": "now"},
            "templating": {"list": [v.to_json() for v in self.variables]},
            "annotations": {"list": []},
            "links": [],
            "panels": panels,
        }
