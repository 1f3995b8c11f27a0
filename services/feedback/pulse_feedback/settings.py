"""Feedback settings (``PULSE_*``)."""

from pydantic import Field

from pulse_common.settings import ReadApiSettings
from pulse_common.topics import FEEDBACK, SESSIONS, USAGE


class FeedbackSettings(ReadApiSettings):
    host: str = "127.0.0.1"
    port: int = Field(default=8002, ge=1, le=65535)
    feedback_topic: str = FEEDBACK
    usage_topic: str = USAGE
    sessions_topic: str = SESSIONS
    consumer_max_records: int = Field(default=5000, ge=1)
    # The consumer process's health and Prometheus endpoint (on ``host``).
    consumer_port: int = Field(default=9102, ge=1, le=65535)
    # How often the consumer packs the days whose theme term counts changed (reads are exact either way).
    term_pack_every_s: float = Field(default=5.0, gt=0)
    # Breakdown groups with fewer responses are flagged as too small to say anything (overridable per request).
    min_group_responses: int = Field(default=30, ge=1)
