"""``python -m pulse_ingest``: serve the ingest API."""

import uvicorn

from pulse_common.logs import configure_logging
from pulse_ingest.app import create_app
from pulse_ingest.settings import IngestSettings


def main() -> None:
    settings = IngestSettings()
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
