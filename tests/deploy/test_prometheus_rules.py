"""deploy/prometheus: the rules pass ``promtool check rules``, their unit tests pass ``promtool test rules``, and
every Pulse metric they name is one the services export."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from pulse_common.cli.stack import _services as stack_services
from pulse_common.telemetry.catalog import ConsumerMetrics, HttpMetrics, IngestMetrics
from pulse_common.telemetry.progress import ConsumerProgressCollector
from pulse_feedback.consumer import projection_factories as feedback_factories
from pulse_feedback.settings import FeedbackSettings
from pulse_metrics.consumer import named_factories as metrics_factories
from pulse_metrics.release_watch import ReleaseWatch
from pulse_metrics.settings import MetricsSettings

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary is not None, "promtool is missing: install the Debian package 'prometheus' (.ci/run does)"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, cwd=PROMETHEUS)


def exported_names() -> set[str]:
    """Every sample name the services can export (counters with _total, histograms with their series)."""
    registry = CollectorRegistry()
    for family in (HttpMetrics, IngestMetrics, ConsumerMetrics, ReleaseWatch):
        family.create(registry)
    registry.register(ConsumerProgressCollector([]))
    names = set()
    for metric in registry.collect():
        names.add(metric.name)
        names |= {metric.name + suffix for suffix in ("_total", "_bucket", "_count", "_sum", "_created")}
    for described in ConsumerProgressCollector([]).describe():
        names.add(described.name)
    return names


def test_rules_pass_promtool_check() -> None:
    checked = promtool("check", "rules", "rules.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alerts_fire_and_stay_quiet_as_their_unit_tests_say() -> None:
    tests = sorted(str(p.relative_to(PROMETHEUS)) for p in (PROMETHEUS / "tests").glob("*.yml"))
    assert tests
    tested = promtool("test", "rules", *tests)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_unit_test_that_makes_it_fire() -> None:
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    fired = set()
    for path in (PROMETHEUS / "tests").glob("*.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            fired |= {t["alertname"] for t in test.get("alert_rule_test", []) if t.get("exp_alerts")}
    assert alerts == fired


def test_rules_name_only_metrics_the_services_export() -> None:
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    named = {
        name for g in rules["groups"] for r in g["rules"] for name in re.findall(r"\b(pulse_[a-z0-9_]+)", r["expr"])
    }
    assert named
    assert named - exported_names() == set()
    used = {
        name for g in rules["groups"] for r in g["rules"] for name in re.findall(r"\b(pulse:[a-z0-9_:]+)", r["expr"])
    }
    assert used <= recorded


def test_a_projection_not_reported_alerts_for_every_projection_the_code_defines() -> None:
    """Each consumer Deployment runs some projections; one down leaves the others reporting, so the alert names
    every projection (adding one without it fails here)."""
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())
    (alert,) = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "PulseProjectionNotReporting"]
    named = re.findall(r'absent\(pulse_projection_freshness_seconds\{projection="([a-z_.]+)"\}\)', alert["expr"])
    no_pool: Any = None
    every = [*metrics_factories(MetricsSettings()), *(f(no_pool).name for f in feedback_factories(FeedbackSettings()))]
    assert sorted(named) == sorted(every)


def test_the_local_prometheus_config_is_valid_and_scrapes_every_stack_component() -> None:
    checked = promtool("check", "config", "prometheus-local.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = yaml.safe_load((PROMETHEUS / "prometheus-local.yml").read_text())
    scraped = {target for job in config["scrape_configs"] for c in job["static_configs"] for target in c["targets"]}
    assert scraped == {f"127.0.0.1:{c.port}" for c in stack_services()}
