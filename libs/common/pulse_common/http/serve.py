"""Serving an app with uvicorn the same way in every service (no access log: it would carry keys in URLs)."""

import uvicorn
from fastapi import FastAPI


def serve(app: FastAPI, host: str, port: int) -> None:
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
