"""Every Kafka topic Pulse uses, named once.

Messages are keyed by ``project:distinct_id`` so one user's events stay in order on one partition.
"""

from dataclasses import dataclass

USAGE = "pulse.usage.v1"
SESSIONS = "pulse.sessions.v1"
FEEDBACK = "pulse.feedback.v1"
DEADLETTER = "pulse.deadletter.v1"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    # Event topics keep their whole log so projections can be rebuilt from it (-1 = forever).
    retention_ms: int


TOPIC_SPECS: tuple[TopicSpec, ...] = (
    TopicSpec(USAGE, partitions=8, retention_ms=-1),
    TopicSpec(SESSIONS, partitions=8, retention_ms=-1),
    TopicSpec(FEEDBACK, partitions=4, retention_ms=-1),
    TopicSpec(DEADLETTER, partitions=2, retention_ms=7 * 24 * 3600 * 1000),
)


def message_key(project: str, distinct_id: str) -> bytes:
    """The partitioning key: one user's events of one project share a partition, hence an order."""
    return f"{project}:{distinct_id}".encode()
