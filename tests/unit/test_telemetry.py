"""HTTP request metrics by route template and error code; consumer lag and freshness from runner progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pulse_common.http.errors import ApiError, install_error_handlers
from pulse_common.runner.runner import PartitionProgress
from pulse_common.telemetry.http import instrument
from pulse_common.telemetry.progress import ConsumerProgressCollector, freshness_s
from pulse_metrics.release_watch import NewestAdopted, worst_crash_free

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def sample_values(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_requests_are_counted_by_route_template_status_and_error_code() -> None:
    app = FastAPI()
    registry = CollectorRegistry()
    instrument(app, registry)
    install_error_handlers(app)

    @app.get("/v1/projects/{project}/things")
    async def things(project: str) -> dict[str, str]:
        if project == "locked":
            raise ApiError(403, "forbidden", "no")
        return {"project": project}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        for project in ("a", "b", "locked"):
            await client.get(f"/v1/projects/{project}/things")
        await client.get("/nowhere")

    values = sample_values(registry)
    route = "/v1/projects/{project}/things"

    def requests(**labels: str) -> float:
        return values.get(("pulse_http_requests_total", frozenset(labels.items())), 0.0)

    assert requests(route=route, method="GET", status="200", code="") == 2
    assert requests(route=route, method="GET", status="403", code="forbidden") == 1
    assert requests(route="unmatched", method="GET", status="404", code="not_found") == 1
    duration = ("pulse_http_request_duration_seconds_count", frozenset({"route": route, "method": "GET"}.items()))
    assert values[duration] == 3
    # The concrete path (which names a project) is never a label value.
    assert not any("locked" in value for _, labels in values for _, value in labels)


def progress(offset: int, highwater: int | None, as_of: datetime | None) -> PartitionProgress:
    return PartitionProgress("pulse.usage.v1", 0, offset, highwater, as_of)


def test_lag_is_the_high_water_mark_minus_the_stored_offset() -> None:
    assert progress(90, 100, None).lag == 10
    assert progress(100, 100, None).lag == 0
    assert progress(120, 100, None).lag == 0  # a log shortened under us reads as caught up until restarted
    assert progress(5, None, None).lag is None  # not fetched yet: unknown, not zero


def test_a_projection_is_as_fresh_as_its_most_behind_partition() -> None:
    partitions = [progress(1, 1, NOW - timedelta(seconds=3)), progress(1, 1, NOW - timedelta(seconds=40))]
    assert freshness_s(NOW, partitions) == 40
    assert freshness_s(NOW, [*partitions, progress(0, 5, None)]) is None
    assert freshness_s(NOW, []) is None
    assert freshness_s(NOW, [progress(1, 1, NOW + timedelta(seconds=1))]) == 0


class FakeRunner:
    def __init__(self, name: str, partitions: list[PartitionProgress]) -> None:
        self._name = name
        self._partitions = partitions

    @property
    def name(self) -> str:
        return self._name

    def progress(self) -> list[PartitionProgress]:
        return self._partitions


def test_progress_collector_reports_lag_per_partition_and_freshness_per_projection() -> None:
    registry = CollectorRegistry()
    runners = [
        FakeRunner(
            "metrics.adoption",
            [
                PartitionProgress("pulse.usage.v1", 0, 10, 25, NOW - timedelta(seconds=7)),
                PartitionProgress("pulse.usage.v1", 1, 4, 4, NOW - timedelta(seconds=2)),
            ],
        ),
        FakeRunner("metrics.release_health", [PartitionProgress("pulse.sessions.v1", 0, 0, None, None)]),
    ]
    registry.register(ConsumerProgressCollector(runners, clock=lambda: NOW))
    values = sample_values(registry)

    def lag(projection: str, partition: str) -> float | None:
        labels = {"projection": projection, "topic": "pulse.usage.v1", "partition": partition}
        return values.get(("pulse_consumer_lag_records", frozenset(labels.items())))

    assert lag("metrics.adoption", "0") == 15
    assert lag("metrics.adoption", "1") == 0
    freshness = {labels: v for (name, labels), v in values.items() if name == "pulse_projection_freshness_seconds"}
    assert freshness == {frozenset({("projection", "metrics.adoption")}): 7}
    # Nothing fetched yet: no lag sample rather than a made-up zero.
    assert not [k for k in values if dict(k[1]).get("projection") == "metrics.release_health"]


def test_the_crash_free_gauge_is_the_worst_newest_adopted_release_with_enough_sessions() -> None:
    releases = [
        NewestAdopted("a", "production", "2.3", sessions=1000, crashed=5),  # 99.5 %
        NewestAdopted("b", "production", "7.1", sessions=400, crashed=12),  # 97 %
        NewestAdopted("b", "staging", "7.2", sessions=20, crashed=10),  # 50 %, but too few sessions to say
    ]
    assert worst_crash_free(releases, min_sessions=100) == (0.97, 2)
    assert worst_crash_free(releases, min_sessions=10) == (0.5, 3)
    assert worst_crash_free(releases[2:], min_sessions=100) == (None, 0)
    assert worst_crash_free([], min_sessions=1) == (None, 0)
