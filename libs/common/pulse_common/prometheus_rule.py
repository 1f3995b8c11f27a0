"""``python -m pulse_common.prometheus_rule RULES OUT`` (``make generate``): the Prometheus rules file as a
Prometheus Operator ``PrometheusRule``, so Kubernetes runs the very rules promtool tests (a test compares)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml


def prometheus_rule(rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "pulse", "labels": {"app.kubernetes.io/part-of": "pulse"}},
        "spec": {"groups": rules["groups"]},
    }


def render(rules_path: Path) -> str:
    header = f"# Generated from deploy/prometheus/{rules_path.name} by `make generate`: edit that file, not this one.\n"
    rule = prometheus_rule(yaml.safe_load(rules_path.read_text()))
    return header + yaml.safe_dump(rule, sort_keys=False, width=120)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m pulse_common.prometheus_rule RULES.yml OUT.yaml", file=sys.stderr)
        return 2
    Path(argv[1]).write_text(render(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
