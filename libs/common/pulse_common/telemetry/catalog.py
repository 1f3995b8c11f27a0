"""Every Prometheus metric Pulse exports, declared once with its meaning. Labels are low-cardinality only: routes,
streams, outcomes, codes, projections, topics and partitions; never a project, user, key or release.

Each service builds the families it needs on its own registry (tests build several apps in one process).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BYTES_BUCKETS = (256, 1024, 4096, 16_384, 65_536, 262_144, 524_288, 1_048_576, 5_242_880)
EVENTS_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)
BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# Consumer progress, computed when scraped (telemetry.progress) rather than updated as events flow.
CONSUMER_LAG = "pulse_consumer_lag_records"
CONSUMER_LAG_HELP = (
    "Records of a partition not yet applied by a projection: the fetch high-water mark minus the offset stored "
    "with the projection's rows"
)
FRESHNESS = "pulse_projection_freshness_seconds"
FRESHNESS_HELP = (
    "Seconds between now and a projection's as_of (the oldest as_of of its assigned partitions): how old the "
    "newest figures the read APIs can give are"
)


@dataclass(frozen=True)
class HttpMetrics:
    requests: Counter
    duration: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> HttpMetrics:
        return cls(
            requests=Counter(
                "pulse_http_requests",
                "HTTP requests answered, by route template, method, status and error code ('' for none)",
                ["route", "method", "status", "code"],
                registry=registry,
            ),
            duration=Histogram(
                "pulse_http_request_duration_seconds",
                "Time from request to the end of the response, by route template and method",
                ["route", "method"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
        )


@dataclass(frozen=True)
class IngestMetrics:
    events: Counter
    publish_duration: Histogram
    request_bytes: Histogram
    request_events: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> IngestMetrics:
        return cls(
            events=Counter(
                "pulse_ingest_events",
                "Events in ingest requests by stream (usage, sessions, feedback) and outcome: accepted, duplicate, "
                "rejected (with the rejection code) or unavailable (the broker did not acknowledge; a 503)",
                ["stream", "outcome", "code"],
                registry=registry,
            ),
            publish_duration=Histogram(
                "pulse_ingest_publish_duration_seconds",
                "Time to publish one request's events and dead letters until the broker acknowledged (acks=all) "
                "or gave up, by outcome (acknowledged, failed)",
                ["outcome"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            request_bytes=Histogram(
                "pulse_ingest_request_body_bytes",
                "Size of an ingest request's body after decompression, by stream",
                ["stream"],
                buckets=BYTES_BUCKETS,
                registry=registry,
            ),
            request_events=Histogram(
                "pulse_ingest_request_events",
                "Events in one ingest request (a batch, or 1 for single calls), by stream",
                ["stream"],
                buckets=EVENTS_BUCKETS,
                registry=registry,
            ),
        )


@dataclass(frozen=True)
class ConsumerMetrics:
    applied: Counter
    duplicates: Counter
    dead_lettered: Counter
    batch_duration: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ConsumerMetrics:
        return cls(
            applied=Counter(
                "pulse_consumer_events_applied",
                "Events a projection applied (each event id once), by projection",
                ["projection"],
                registry=registry,
            ),
            duplicates=Counter(
                "pulse_consumer_duplicates",
                "Events a projection skipped because their id was applied before, by projection",
                ["projection"],
                registry=registry,
            ),
            dead_lettered=Counter(
                "pulse_consumer_dead_lettered",
                "Records a projection sent to the dead-letter topic, by projection and reason code",
                ["projection", "reason"],
                registry=registry,
            ),
            batch_duration=Histogram(
                "pulse_consumer_batch_apply_seconds",
                "Time to apply one batch: rows, dedup claims and offsets in one Postgres transaction, by projection",
                ["projection"],
                buckets=BATCH_BUCKETS,
                registry=registry,
            ),
        )
