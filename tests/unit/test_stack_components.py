"""The local stack (`pulse stack up`) runs the metrics consumer as deployed: the adoption projection in a process of
its own, every other metrics projection in another, each process on its own health and metrics port."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pulse_common.cli.stack import _read_pid, _services
from pulse_metrics.consumer import named_factories, projection_factories
from pulse_metrics.settings import MetricsSettings

NO_POOL: Any = None  # the projections only keep it


def test_two_metrics_consumer_processes_run_every_metrics_projection_once() -> None:
    runs = {c.name: c.env["PULSE_CONSUMER_PROJECTIONS"] for c in _services() if "PULSE_CONSUMER_PROJECTIONS" in c.env}
    chosen = {
        name: [f(NO_POOL).name for f in projection_factories(MetricsSettings(consumer_projections=names))]
        for name, names in runs.items()
    }
    assert chosen["metrics-consumer-adoption"] == ["metrics.adoption"]
    assert "metrics.adoption" not in chosen["metrics-consumer"]
    assert sorted(chosen["metrics-consumer"] + chosen["metrics-consumer-adoption"]) == sorted(
        named_factories(MetricsSettings())
    )


def test_every_component_has_its_own_port_and_each_consumer_is_told_it() -> None:
    services = _services()
    assert len({c.port for c in services}) == len(services)
    for component in services:
        if component.command[-1] == "consumer":
            assert component.env["PULSE_CONSUMER_PORT"] == str(component.port), component.name


def test_a_pid_is_a_components_only_under_its_whole_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_STATE_DIR", str(tmp_path))
    env = {"PATH": "/usr/bin:/bin", "PULSE_STACK_COMPONENT": "metrics-consumer-adoption"}
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], env=env)
    try:
        for name in ("metrics-consumer", "metrics-consumer-adoption"):
            (tmp_path / f"{name}.pid").write_text(str(process.pid))
        assert _read_pid("metrics-consumer-adoption") == process.pid
        assert _read_pid("metrics-consumer") is None  # a prefix of the other's name, not its own
    finally:
        process.kill()
        process.wait(timeout=10)
