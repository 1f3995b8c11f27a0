"""Serving an app with uvicorn the same way in every service (no access log: it would carry keys in URLs)."""

import uvicorn
from fastapi import FastAPI


def serve(app: FastAPI, host: str, port: int) -> None:
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")


def serve_workers(app_factory: str, host: str, port: int, workers: int) -> None:
    """``workers`` processes sharing the port, each building its app with ``app_factory`` ("module:function")."""
    uvicorn.run(
        app_factory,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
