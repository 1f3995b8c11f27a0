"""``python -m pulse_feedback``: serve the feedback API."""

from pulse_common.http.serve import serve
from pulse_common.logs import configure_logging
from pulse_feedback.app import create_app
from pulse_feedback.settings import FeedbackSettings


def main() -> None:
    settings = FeedbackSettings()
    configure_logging(settings.log_level)
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()
