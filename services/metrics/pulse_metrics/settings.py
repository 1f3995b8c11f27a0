"""Metrics settings (``PULSE_*``)."""

from pydantic import Field

from pulse_common.settings import ReadApiSettings
from pulse_common.topics import DEADLETTER, SESSIONS, USAGE


class MetricsSettings(ReadApiSettings):
    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=1, le=65535)
    usage_topic: str = USAGE
    sessions_topic: str = SESSIONS
    deadletter_topic: str = DEADLETTER
    consumer_max_records: int = Field(default=5000, ge=1)
    # The projections a consumer process runs, comma-separated (default: every one). The adoption projection is the
    # heaviest: in processes of its own it no longer holds back the others' freshness (docs/scaling.md).
    consumer_projections: str = ""
    # The consumer process's health and Prometheus endpoint (on ``host``).
    consumer_port: int = Field(default=9101, ge=1, le=65535)
    # The crash-free gauge of the newest adopted releases (release_watch): how often, and the sessions over 24 h
    # a release needs before its rate counts.
    release_watch_every_s: float = Field(default=60.0, gt=0)
    release_watch_min_sessions: int = Field(default=100, ge=1)
