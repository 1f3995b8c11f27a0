"""The projection runner shared by every consumer: Kafka in, one Postgres transaction per batch out."""

from pulse_common.runner.projection import Projection, SourceRecord
from pulse_common.runner.runner import BatchResult, ProjectionRunner, RunnerStats

__all__ = ["BatchResult", "Projection", "ProjectionRunner", "RunnerStats", "SourceRecord"]
