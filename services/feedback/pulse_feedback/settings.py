"""Feedback settings (``PULSE_*``)."""

from pydantic import Field

from pulse_common.settings import CommonSettings


class FeedbackSettings(CommonSettings):
    host: str = "127.0.0.1"
    port: int = Field(default=8002, ge=1, le=65535)
