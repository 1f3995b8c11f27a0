"""Consumer lag and projection freshness, computed from the runners' state each time Prometheus scrapes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pulse_common.telemetry.catalog import CONSUMER_LAG, CONSUMER_LAG_HELP, FRESHNESS, FRESHNESS_HELP

if TYPE_CHECKING:
    from pulse_common.runner.runner import PartitionProgress


class ReportsProgress(Protocol):
    @property
    def name(self) -> str: ...

    def progress(self) -> list[PartitionProgress]: ...


def freshness_s(now: datetime, partitions: Iterable[PartitionProgress]) -> float | None:
    """now minus the oldest as_of of the partitions; None while any partition's as_of is unknown (or none is
    assigned): a projection is only as fresh as its most behind partition."""
    as_ofs = [p.as_of for p in partitions]
    if not as_ofs or any(a is None for a in as_ofs):
        return None
    return max(0.0, (now - min(a for a in as_ofs if a is not None)).total_seconds())


class ConsumerProgressCollector(Collector):
    def __init__(self, runners: Sequence[ReportsProgress], clock: Callable[[], datetime] | None = None) -> None:
        self._runners = runners
        self._clock = clock or (lambda: datetime.now(UTC))

    def describe(self) -> Iterable[Metric]:
        return [
            GaugeMetricFamily(CONSUMER_LAG, CONSUMER_LAG_HELP, labels=["projection", "topic", "partition"]),
            GaugeMetricFamily(FRESHNESS, FRESHNESS_HELP, labels=["projection"]),
        ]

    def collect(self) -> Iterable[Metric]:
        lag = GaugeMetricFamily(CONSUMER_LAG, CONSUMER_LAG_HELP, labels=["projection", "topic", "partition"])
        fresh = GaugeMetricFamily(FRESHNESS, FRESHNESS_HELP, labels=["projection"])
        now = self._clock()
        for runner in self._runners:
            partitions = runner.progress()
            for p in partitions:
                if p.lag is not None:
                    lag.add_metric([runner.name, p.topic, str(p.partition)], p.lag)
            seconds = freshness_s(now, partitions)
            if seconds is not None:
                fresh.add_metric([runner.name], seconds)
        return [lag, fresh]
