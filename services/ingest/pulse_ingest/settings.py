"""Ingest settings (``PULSE_*``)."""

from typing import Self

from pydantic import Field, model_validator

from pulse_common.settings import CommonSettings


class IngestSettings(CommonSettings):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Segment's limits: 32 KB per event, 500 KB per request (after decompression), 2,500 events per batch.
    max_event_bytes: int = Field(default=32 * 1024, ge=1)
    max_request_bytes: int = Field(default=500 * 1024, ge=1)
    max_batch_events: int = Field(default=2500, ge=1)
    # Clock drift (sentAt - receivedAt) at or above this is corrected (product.md §2).
    clock_drift_threshold_s: float = Field(default=60.0, ge=0)
    max_future_s: float = Field(default=24 * 3600.0, ge=0)
    usage_horizon_days: float = Field(default=30.0, gt=0)
    feedback_horizon_days: float = Field(default=30.0, gt=0)
    session_horizon_days: float = Field(default=5.0, gt=0)
    # Sentry envelopes also carry error events (read, then ignored), so they may be larger than Segment requests.
    max_envelope_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    # Per write key: events per second, and how many may come at once.
    rate_limit_events_per_s: float = Field(default=10_000.0, gt=0)
    rate_limit_burst: float = Field(default=50_000.0, ge=1)
    # Message ids this worker remembers to report retries as duplicates at once.
    recent_ids_capacity: int = Field(default=500_000, ge=0)
    # How long a request may wait for the broker's acknowledgements before answering 503. Longer than the
    # producer's delivery timeout (kafka_request_timeout_ms), so a refused request's batches have expired by then.
    publish_timeout_s: float = Field(default=12.0, gt=0)
    retry_after_s: int = Field(default=5, ge=1)
    key_cache_ttl_s: float = Field(default=5.0, ge=0)
    # Worker processes sharing the port (uvicorn's supervisor); each has its own producer, caches, rate limiter
    # and /metrics. Kubernetes scales with replicas instead; workers are for a machine of its own.
    workers: int = Field(default=1, ge=1, le=64)

    @model_validator(mode="after")
    def _refusals_outlive_deliveries(self) -> Self:
        if self.publish_timeout_s * 1000 <= self.kafka_request_timeout_ms:
            raise ValueError(
                f"publish_timeout_s ({self.publish_timeout_s}) must exceed kafka_request_timeout_ms "
                f"({self.kafka_request_timeout_ms} ms): a 503 must only be sent once the refused events can no "
                "longer be delivered"
            )
        return self
