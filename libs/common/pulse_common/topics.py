"""Every Kafka topic Pulse uses, named once.

Messages are keyed by ``project:distinct_id`` so one user's events stay in order on one partition; usage events
that carry an anonymous id are keyed by it (``usage_key``).
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


def usage_key(project: str, distinct_id: str, anonymous_id: str | None, previous_id: str | None = None) -> bytes:
    """The key of a usage event: its anonymous id when it has one (an alias: the previous id), else its distinct id.

    So the call linking an anonymous id to a user (identify with both ids, alias) and the later events sent with
    only that anonymous id share a partition, hence an order: the link applies to the same events live and in a
    rebuild (product.md §1: from then on).
    """
    return message_key(project, previous_id or anonymous_id or distinct_id)


def session_key(project: str, distinct_id: str | None, session_id: str) -> bytes:
    """A session update's key: its user (a user's sessions share a partition), else the session itself."""
    return message_key(project, distinct_id or f"session:{session_id}")


def aggregate_key(project: str, release: str, environment: str) -> bytes:
    """The key of SDK-aggregated session counts: one release and environment."""
    return message_key(project, f"aggregate:{release}:{environment}")
