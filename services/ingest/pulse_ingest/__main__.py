"""``python -m pulse_ingest``: serve the ingest API."""

from pulse_common.http.serve import serve
from pulse_common.logs import configure_logging
from pulse_ingest.app import create_app
from pulse_ingest.settings import IngestSettings


def main() -> None:
    settings = IngestSettings()
    configure_logging(settings.log_level)
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()
