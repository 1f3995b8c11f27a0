"""``python -m pulse_metrics api|consumer``: one image, the command picks the role."""

import asyncio
import logging
import sys

from pulse_common.garbage_collector import tune_garbage_collector
from pulse_common.http.serve import serve
from pulse_common.logs import configure_logging
from pulse_metrics.app import create_app
from pulse_metrics.consumer import run_consumer
from pulse_metrics.settings import MetricsSettings

log = logging.getLogger("pulse_metrics")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    role = args[0] if args else "api"
    settings = MetricsSettings()
    configure_logging(settings.log_level)
    if role == "api":
        app = create_app(settings)
        tune_garbage_collector(settings.gc_young_threshold)
        serve(app, settings.host, settings.port)
        return 0
    if role == "consumer":
        tune_garbage_collector(settings.gc_young_threshold)
        try:
            asyncio.run(run_consumer(settings))
        except Exception:
            log.exception("the metrics consumer stopped on a failure; it resumes from its stored offsets on restart")
            return 1
        return 0
    print(f"usage: python -m pulse_metrics [api|consumer] (got {role!r})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
