"""One metrics projection in a consumer process of its own (the benchmarks' unit of comparison and of scale-out):
``python -m benchmarks.one_projection NAME`` with the usual ``PULSE_*`` settings; NAME as in
``pulse projections list`` (e.g. metrics.daily_events), or ``all`` for the metrics consumer as deployed."""

from __future__ import annotations

import asyncio
import sys

from pulse_common.logs import configure_logging
from pulse_common.runner.process import run_projections
from pulse_metrics.consumer import projection_factories
from pulse_metrics.rebuild_units import rebuild_units
from pulse_metrics.settings import MetricsSettings


def main(name: str) -> None:
    settings = MetricsSettings()
    configure_logging(settings.log_level)
    if name == "all":
        factories = projection_factories(settings)
    else:
        (unit,) = [u for u in rebuild_units(settings) if u.answers_to(name)]
        factories = list(unit.factories)
    asyncio.run(run_projections(settings, factories, max_records=settings.consumer_max_records))


if __name__ == "__main__":
    main(sys.argv[1])
