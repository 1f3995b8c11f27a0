"""``python -m pulse_feedback``: serve the feedback API."""

import uvicorn

from pulse_common.logs import configure_logging
from pulse_feedback.app import create_app
from pulse_feedback.settings import FeedbackSettings


def main() -> None:
    settings = FeedbackSettings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
