"""``python -m pulse_ingest``: serve the ingest API."""

from fastapi import FastAPI

from pulse_common.garbage_collector import tune_garbage_collector
from pulse_common.http.serve import serve, serve_workers
from pulse_common.logs import configure_logging
from pulse_ingest.app import create_app
from pulse_ingest.publisher import Publisher
from pulse_ingest.settings import IngestSettings


def worker_app(publisher: type[Publisher] = Publisher) -> FastAPI:
    """One worker's app, from the environment's settings (uvicorn calls this in each worker process)."""
    settings = IngestSettings()
    configure_logging(settings.log_level)
    app = create_app(settings, publisher=publisher)
    tune_garbage_collector(settings.gc_young_threshold)
    return app


def main() -> None:
    settings = IngestSettings()
    if settings.workers == 1:
        serve(worker_app(), settings.host, settings.port)
    else:
        configure_logging(settings.log_level)
        serve_workers("pulse_ingest.__main__:worker_app", settings.host, settings.port, settings.workers)


if __name__ == "__main__":
    main()
