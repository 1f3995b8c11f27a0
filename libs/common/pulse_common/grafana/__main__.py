"""``python -m pulse_common.grafana DIRECTORY`` (``make dashboards``): write every dashboard's JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pulse_common.grafana import adoption, pipeline, release_health, satisfaction
from pulse_common.grafana.model import Json


def dashboards() -> dict[str, Json]:
    """File name -> dashboard JSON."""
    built = (satisfaction.dashboard(), adoption.dashboard(), release_health.dashboard(), pipeline.dashboard())
    return {f"{d.uid.removeprefix('pulse-')}.json": d.to_json() for d in built}


def render(dashboard: Json) -> str:
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m pulse_common.grafana DIRECTORY", file=sys.stderr)
        return 2
    target = Path(argv[0])
    target.mkdir(parents=True, exist_ok=True)
    for name, dashboard in dashboards().items():
        (target / name).write_text(render(dashboard))
        print(f"wrote {target / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
