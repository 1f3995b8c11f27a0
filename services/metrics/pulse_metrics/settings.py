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
