"""Every service's /metrics after real traffic: the figures it reports, low-cardinality labels only, and
``promtool check metrics`` has nothing to say about it. The metrics consumer runs as deployed and as the local stack
runs it: the adoption projection in a process of its own, the other metrics projections in another."""

import shutil
import subprocess
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from pulse_common.cli.stack import _services as stack_services
from tests.e2e.conftest import Service, StartService, create_project_with_cli
from tests.helpers import eventually

FORBIDDEN_LABELS = {"project", "user", "user_id", "distinct_id", "release", "key", "write_key"}


async def scrape(service: Service) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{service.url}/metrics")
    assert response.status_code == 200, response.text
    return response.text


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(
        v
        for (sample, sample_labels), v in samples(text).items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    )


def promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: install the Debian package 'prometheus' (.ci/run does)"
    checked = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    report = (checked.stdout + checked.stderr).decode()
    assert checked.returncode == 0, report
    assert not checked.stdout.strip(), report


async def caught_up(consumer: Service, projection: str) -> str:
    """The consumer's /metrics once ``projection`` applied the five events, has no lag and reports its freshness."""

    async def probe() -> str:
        try:
            return await scrape(consumer)
        except httpx.ConnectError:  # consumers are not waited for at start: their endpoint may not be up yet
            return ""

    return await eventually(
        probe,
        lambda t: (
            value(t, "pulse_consumer_events_applied_total", projection=projection) >= 5
            and value(t, "pulse_consumer_lag_records") == 0
            and value(t, "pulse_projection_freshness_seconds", projection=projection) > 0
        ),
    )


async def test_every_service_exports_what_it_did_with_low_cardinality_labels(
    start_service: StartService, database_url: str, kafka_bootstrap: str
) -> None:
    project = create_project_with_cli(database_url, kafka_bootstrap, "UTC")
    ingest = start_service("pulse_ingest")
    metrics_api = start_service("pulse_metrics", "api")
    split = {
        c.name: c.env["PULSE_CONSUMER_PROJECTIONS"] for c in stack_services() if "PULSE_CONSUMER_PROJECTIONS" in c.env
    }
    assert split["metrics-consumer-adoption"] == "metrics.adoption"
    assert "metrics.daily_events" in split["metrics-consumer"].split(",")
    metrics_consumer = start_service(
        "pulse_metrics", "consumer", http=False, PULSE_CONSUMER_PROJECTIONS=split["metrics-consumer"]
    )
    adoption_consumer = start_service(
        "pulse_metrics", "consumer", http=False, PULSE_CONSUMER_PROJECTIONS=split["metrics-consumer-adoption"]
    )
    feedback_api = start_service("pulse_feedback", "api")
    feedback_consumer = start_service("pulse_feedback", "consumer", http=False)

    batch: list[dict[str, Any]] = [
        {"type": "track", "userId": f"u{i}", "event": "Report Exported", "messageId": f"m{i}"} for i in range(5)
    ]
    batch.append({"type": "track", "userId": "u9", "event": "", "messageId": "bad"})  # rejected: no event name
    feedback = {"responses": [{"messageId": "f1", "userId": "u1", "kind": "nps", "score": 9, "comment": "fast"}]}
    write = {"Authorization": f"Bearer {project.write_key}"}
    async with httpx.AsyncClient(base_url=ingest.url, headers=write, timeout=30) as client:
        assert (await client.post("/v1/batch", json={"batch": batch})).status_code == 200
        assert (await client.post("/v1/batch", json={"batch": batch[:2]})).json()["duplicates"]
        assert (await client.post("/v1/feedback", json=feedback)).status_code == 200
        assert (await client.post("/v1/batch", json={"batch": []}, headers={"Authorization": ""})).status_code == 401

    read = {"Authorization": f"Bearer {project.read_key}"}
    async with httpx.AsyncClient(base_url=metrics_api.url, headers=read, timeout=30) as api:
        path = f"/v1/projects/{project.project}/active-users"
        assert (await api.get(path)).status_code == 200
        assert (await api.get(path, params={"from": "nope"})).status_code == 400

    text = await scrape(ingest)
    assert value(text, "pulse_ingest_events_total", stream="usage", outcome="accepted") == 5
    assert value(text, "pulse_ingest_events_total", stream="usage", outcome="duplicate") == 2
    assert value(text, "pulse_ingest_events_total", stream="usage", outcome="rejected", code="missing_event") == 1
    assert value(text, "pulse_ingest_events_total", stream="feedback", outcome="accepted") == 1
    # The refused request (no key) never got as far as its events.
    assert value(text, "pulse_ingest_request_events_count", stream="usage") == 2
    assert value(text, "pulse_ingest_request_events_sum", stream="usage") == 6 + 2
    # The retried batch held only duplicates: nothing to publish, so two publishes (usage, feedback).
    assert value(text, "pulse_ingest_publish_duration_seconds_count", outcome="acknowledged") == 2
    assert value(text, "pulse_http_requests_total", route="/v1/batch", status="401", code="unauthorized") == 1

    text = await scrape(metrics_api)
    route = "/v1/projects/{project}/active-users"
    assert value(text, "pulse_http_request_duration_seconds_count", route=route, method="GET") == 2
    assert value(text, "pulse_http_requests_total", route=route, status="400", code="invalid_parameter") == 1

    # Each metrics consumer process: its projection applied, caught up (no lag on any partition) and fresh; the
    # other process's projection is not its own.
    for consumer, projection, elsewhere in (
        (adoption_consumer, "metrics.adoption", "metrics.daily_events"),
        (metrics_consumer, "metrics.daily_events", "metrics.adoption"),
    ):
        text = await caught_up(consumer, projection)
        assert value(text, "pulse_consumer_batch_apply_seconds_count", projection=projection) >= 1
        assert ("projection", elsewhere) not in {label for (_, labels) in samples(text) for label in labels}
        async with httpx.AsyncClient(timeout=10) as client:
            health = await client.get(f"{consumer.url}/readyz")
        assert health.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}

    async def feedback_applied() -> str:
        return await scrape(feedback_consumer)

    await eventually(
        feedback_applied,
        lambda t: value(t, "pulse_consumer_events_applied_total", projection="feedback.satisfaction") == 1,
    )

    for service in (ingest, metrics_api, metrics_consumer, adoption_consumer, feedback_api, feedback_consumer):
        text = await scrape(service)
        promtool_check(text)
        for (name, labels), _ in samples(text).items():
            assert not FORBIDDEN_LABELS & {k for k, _ in labels}, (service.name, name, labels)
