"""deploy/grafana: the dashboards are what the code generates, structurally sound, valid against Grafana's JSON
schemas, and every PromQL expression in them passes promtool."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from pulse_common.grafana.__main__ import dashboards, render

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
SCHEMAS = Path(__file__).resolve().parent / "schemas" / "grafana"
BUILT = dashboards()


def schema(name: str, root: str | None = None) -> Draft7Validator:
    loaded = json.loads((SCHEMAS / f"{name}.jsonschema.json").read_text())
    if root is not None:
        loaded = {**loaded, "$ref": root}
    definitions = loaded.get("definitions", {})
    # Grafana's CUE types a matcher's options and an override's value as `any` (e.g. {"id": "byName", "options":
    # "Series A"}, {"id": "unit", "value": "percentunit"}); the generated JSON schema renders `any` as an object.
    # In memory only, those two accept any value again; everything else is validated as the files say.
    if "MatcherConfig" in definitions:
        definitions["MatcherConfig"]["properties"]["options"] = {}
    if "DynamicConfigValue" in definitions:
        definitions["DynamicConfigValue"]["properties"]["value"] = {}
    return Draft7Validator(loaded)


def queries(dashboard: dict[str, Any]) -> list[str]:
    texts = [t.get("rawSql") or t.get("expr") or "" for p in dashboard["panels"] for t in p["targets"]]
    return texts + [v.get("query", "") for v in dashboard["templating"]["list"]]


def test_the_checked_in_dashboards_are_what_make_dashboards_generates() -> None:
    on_disk = {p.name for p in (GRAFANA / "dashboards").glob("*.json")}
    assert on_disk == set(BUILT), "run `make dashboards`"
    for name, dashboard in BUILT.items():
        assert (GRAFANA / "dashboards" / name).read_text() == render(dashboard), f"{name}: run `make dashboards`"


@pytest.mark.parametrize("name", sorted(BUILT))
def test_panels_have_unique_ids_and_never_overlap(name: str) -> None:
    panels = BUILT[name]["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine


@pytest.mark.parametrize("name", sorted(BUILT))
def test_every_datasource_is_provisioned_and_every_variable_used(name: str) -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "pulse.yaml").read_text())
    uids = {d["uid"] for d in provisioned["datasources"]}
    dashboard = BUILT[name]
    used = [p["datasource"]["uid"] for p in dashboard["panels"]]
    used += [t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]]
    used += [v["datasource"]["uid"] for v in dashboard["templating"]["list"] if "datasource" in v]
    assert set(used) <= uids
    text = "\n".join(queries(dashboard) + [p["title"] for p in dashboard["panels"]])
    for variable in dashboard["templating"]["list"]:
        assert re.search(rf"\$\{{?{variable['name']}\b", text), f"variable {variable['name']} is never used"


@pytest.mark.parametrize("name", sorted(BUILT))
def test_dashboards_validate_against_grafana_schemas(name: str) -> None:
    dashboard = BUILT[name]
    errors = [e.message for e in schema("dashboard").iter_errors(dashboard)]
    assert errors == []
    for panel in dashboard["panels"]:
        if panel["type"] in ("timeseries", "table", "stat"):
            options = schema(panel["type"], "#/definitions/Options")
            assert [e.message for e in options.iter_errors(panel["options"])] == [], panel["title"]
        for target in panel["targets"]:
            if target["datasource"]["type"] == "prometheus":
                assert [e.message for e in schema("prometheus").iter_errors(target)] == [], panel["title"]


def test_every_promql_expression_passes_promtool(tmp_path: Path) -> None:
    expressions = [t["expr"] for d in BUILT.values() for p in d["panels"] for t in p["targets"] if "expr" in t]
    assert expressions
    # Grafana's range variables, as Grafana would fill them.
    rules = [
        {
            "record": f"pulse:dashboard_check_{i}",
            "expr": e.replace("$__rate_interval", "1m").replace("$__interval", "15s"),
        }
        for i, e in enumerate(expressions)
    ]
    path = tmp_path / "dashboard-exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing (make tools)"
    checked = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
