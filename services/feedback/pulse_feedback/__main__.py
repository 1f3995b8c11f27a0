"""``python -m pulse_feedback api|consumer``: one image, the command picks the role."""

import asyncio
import logging
import sys

from pulse_common.garbage_collector import tune_garbage_collector
from pulse_common.http.serve import serve
from pulse_common.logs import configure_logging
from pulse_feedback.app import create_app
from pulse_feedback.consumer import run_consumer
from pulse_feedback.settings import FeedbackSettings

log = logging.getLogger("pulse_feedback")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    role = args[0] if args else "api"
    settings = FeedbackSettings()
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
            log.exception("the feedback consumer stopped on a failure; it resumes from its stored offsets on restart")
            return 1
        return 0
    print(f"usage: python -m pulse_feedback [api|consumer] (got {role!r})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
