"""The whole system on this machine (issue 10), every figure beside its baseline from the same run:

- end to end: events/s from the first request to the last event applied, Pulse (ingest, broker, the daily-events
  projection as its own consumer process) beside a naive pipeline (FastAPI ``list[Model]`` body, one ``send()`` per
  event, a consumer doing one upsert per event), and Pulse with every metrics projection (the consumer as deployed);
- ingest events/s with 1 and 2 worker processes;
- freshness p50 / p99 (a batch sent → its events counted in the API) at a fixed offered load, services as deployed
  (``freshness(rate, seconds, "all")`` measures the metrics projections in one process instead);
- the consumer scaled out: the adoption projection as 1, 2 and 4 processes in one group, totals compared;
- resident memory of each service under load;
- the raw ceilings of the parts (benchmarks.ceilings).

``python -m benchmarks.system [--events N]``; prints a table and writes benchmarks/results/system.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from benchmarks import ceilings
from benchmarks.ceilings import usage_events
from benchmarks.loadgen import post, run_load
from benchmarks.stack import RESULTS, RssSampler, Stack, open_stack
from pulse_common import broker as embedded_broker
from pulse_common import topics
from pulse_common.cli.stack import metrics_consumer_split
from pulse_common.events import DeadLetter
from pulse_common.generate.publish import publish

ADMIN_DSN = os.environ.get("PULSE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PER_BATCH = 100
CONNECTIONS = 16
# Events sent and applied before the clock starts: consumers join their groups, connections open.
WARM_UP = 1_000
ADOPTION = "metrics.adoption"


def deployed_metrics_consumers() -> tuple[str, ...]:
    """The metrics consumer processes as deployed, each as its PULSE_CONSUMER_PROJECTIONS."""
    return tuple(",".join(names) for names in metrics_consumer_split())


def start_metrics_consumers(stack: Stack, label: str, projections: str) -> None:
    """``deployed``: the metrics consumer processes as deployed; ``all``: every projection in one process; otherwise
    one process running the projections named (PULSE_CONSUMER_PROJECTIONS)."""
    processes = deployed_metrics_consumers() if projections == "deployed" else (projections,)
    for names in processes:
        stack.spawn(
            f"{label}-adoption" if len(processes) > 1 and names == ADOPTION else label,
            "pulse_metrics",
            "consumer",
            PULSE_CONSUMER_PROJECTIONS="" if names == "all" else names,
            PULSE_CONSUMER_PORT=str(embedded_broker.free_port()),
        )


def split_warm_up(requests: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    return requests[: WARM_UP // PER_BATCH], requests[WARM_UP // PER_BATCH :]


def batch_requests(stack: Stack, count: int, label: str, name: Callable[[int], str] | None = None) -> list[bytes]:
    """``count`` track events in 100-event batches, timestamped within the last hour."""
    if count % PER_BATCH:
        raise ValueError(f"{count} events do not fill {PER_BATCH}-event batches: the trial would wait for the rest")
    now = datetime.now(UTC)
    requests = []
    for b in range(count // PER_BATCH):
        batch = [
            {
                "type": "track",
                "userId": f"u{(b * PER_BATCH + i) % 5000}",
                "event": name(b) if name else f"feature-{i % 50:02d}",
                "messageId": f"{label}-{b}-{i}",
                "timestamp": (now - timedelta(seconds=i)).isoformat(),
            }
            for i in range(PER_BATCH)
        ]
        body = json.dumps({"batch": batch}).encode()
        requests.append(post("/v1/batch", body, {"Authorization": f"Bearer {stack.project.write_key}"}))
    return requests


async def until(probe: Callable[[], Awaitable[bool]], timeout_s: float = 600) -> float:
    """Poll ``probe`` every 50 ms until true; the time it turned true."""
    deadline = time.monotonic() + timeout_s
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError("the pipeline did not catch up")
        await asyncio.sleep(0.05)
    return time.perf_counter()


async def applied(dsn: str, consumers: list[str], count: int, topic: str = topics.USAGE) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT consumer, sum(next_offset) AS n FROM tracking.partition_offsets "
            "WHERE consumer = ANY($1::text[]) AND topic = $2 GROUP BY consumer",
            consumers,
            topic,
        )
    finally:
        await conn.close()
    return len(rows) == len(consumers) and all(r["n"] >= count for r in rows)


async def pulse_pipeline(
    count: int, projection: str, consumers: list[str], workers: int = 1, *, with_feedback: bool = False
) -> dict[str, Any]:
    """``with_feedback``: the feedback consumer (its usage-context projection reads the same events) and both read
    APIs run too, so every service's memory is measured under load."""
    stack = await open_stack(f"e2e_{projection.replace('.', '_')}_{workers}", ADMIN_DSN)
    try:
        port = embedded_broker.free_port()
        stack.serve("ingest", port, "pulse_ingest", PULSE_WORKERS=str(workers))
        start_metrics_consumers(stack, "metrics-consumer", projection)
        if with_feedback:
            stack.spawn(
                "feedback-consumer", "pulse_feedback", "consumer", PULSE_CONSUMER_PORT=str(embedded_broker.free_port())
            )
            stack.serve("metrics-api", embedded_broker.free_port(), "pulse_metrics", "api")
            stack.serve("feedback-api", embedded_broker.free_port(), "pulse_feedback", "api")
            consumers = [*consumers, "feedback.usage_context"]
        warm, requests = split_warm_up(batch_requests(stack, WARM_UP + count, "e2e"))
        await run_load(port, warm, connections=1)  # the consumers have joined their groups once these are applied
        await until(lambda: applied(stack.dsn, consumers, WARM_UP))
        with RssSampler(dict(stack.processes)) as memory:
            started = time.perf_counter()
            load = await run_load(port, requests, connections=CONNECTIONS)
            finished = await until(lambda: applied(stack.dsn, consumers, WARM_UP + count))
        assert load.statuses == {200: len(requests)}, load.statuses
        counted = None
        if "metrics.daily_events" in consumers:
            conn = await asyncpg.connect(stack.dsn)
            counted = await conn.fetchval("SELECT sum(count) FROM metrics.daily_event_counts")
            await conn.close()
            assert counted == WARM_UP + count, (counted, count)  # exactly once, end to end
        return {
            "events": count,
            "ingest_per_s": count / load.seconds,
            "end_to_end_per_s": count / (finished - started),
            "counted": counted,
            "peak_rss_mb": memory.peak_mb,
        }
    finally:
        await stack.close()


async def naive_pipeline(count: int) -> dict[str, Any]:
    stack = await open_stack("e2e_naive", ADMIN_DSN)
    try:
        port = embedded_broker.free_port()
        stack.serve("naive-ingest", port, "benchmarks.naive_ingest", str(port), stack.bootstrap)
        stack.spawn("naive-consumer", "benchmarks.naive_consumer", stack.bootstrap, stack.dsn, "pulse.usage.v1")
        warm, requests = split_warm_up(batch_requests(stack, WARM_UP + count, "naive"))

        async def counted(total: int) -> bool:
            conn = await asyncpg.connect(stack.dsn)
            try:
                exists = await conn.fetchval("SELECT to_regclass('naive_daily_counts') IS NOT NULL")
                return bool(exists) and (await conn.fetchval("SELECT sum(count) FROM naive_daily_counts") or 0) >= total
            finally:
                await conn.close()

        await run_load(port, warm, connections=1)
        await until(lambda: counted(WARM_UP))
        with RssSampler(dict(stack.processes)) as memory:
            started = time.perf_counter()
            load = await run_load(port, requests, connections=CONNECTIONS)
            finished = await until(lambda: counted(WARM_UP + count))
        assert load.statuses == {200: len(requests)}, load.statuses
        return {
            "events": count,
            "ingest_per_s": count / load.seconds,
            "end_to_end_per_s": count / (finished - started),
            "peak_rss_mb": memory.peak_mb,
        }
    finally:
        await stack.close()


async def freshness(rate: int, seconds: int, consumers: str) -> dict[str, Any]:
    """Batches of 100 sent at ``rate`` events/s; each 100 ms slice of them has its own event name, and is fresh in a
    read when the API counts all of its events there: its freshness is that moment minus when its last batch was
    sent. Two reads are watched: the daily event counts and the feature list (the adoption projection). The metrics
    consumers run as ``consumers`` says (see ``start_metrics_consumers``)."""
    stack = await open_stack(f"fresh_{rate}_{consumers}", ADMIN_DSN)
    try:
        ingest_port, api_port = embedded_broker.free_port(), embedded_broker.free_port()
        stack.serve("ingest", ingest_port, "pulse_ingest")
        stack.serve("metrics-api", api_port, "pulse_metrics", "api")
        start_metrics_consumers(stack, "metrics-consumer", consumers)
        per_slice = rate // 10 // PER_BATCH  # batches per 100 ms
        slices = seconds * 10
        requests = batch_requests(
            stack, slices * per_slice * PER_BATCH, "fresh", name=lambda b: f"s{b // per_slice:04d}"
        )
        await asyncio.sleep(8)  # the consumers have joined their groups
        sent_at: dict[str, float] = {}
        seen_at: dict[str, dict[str, float]] = {"daily_events": {}, "adoption": {}}
        today = datetime.now(UTC).date().isoformat()

        async def send() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", ingest_port)
            interval = PER_BATCH / rate
            start = time.perf_counter()
            for b, request in enumerate(requests):
                await asyncio.sleep(max(0.0, start + b * interval - time.perf_counter()))
                sent_at[f"s{b // per_slice:04d}"] = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
            writer.close()

        async def watch(read: str, path: str, rows: str, name: str, count: str) -> None:
            seen = seen_at[read]
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=30) as client:
                while len(seen) < slices:
                    body = (
                        await client.get(
                            f"/v1/projects/{stack.project.project}{path}",
                            params={"from": today, "to": today},
                            headers={"Authorization": f"Bearer {stack.project.read_key}"},
                        )
                    ).json()
                    now = time.perf_counter()
                    for row in body[rows]:
                        if row[count] == per_slice * PER_BATCH and row[name] not in seen:
                            seen[row[name]] = now
                    await asyncio.sleep(0.02)

        with RssSampler(dict(stack.processes)) as memory:
            await asyncio.wait_for(
                asyncio.gather(
                    send(),
                    watch("daily_events", "/events/daily", "series", "event", "count"),
                    watch("adoption", "/features", "features", "feature", "events"),
                ),
                timeout=seconds + 300,
            )
        result: dict[str, Any] = {"offered_per_s": rate, "seconds": seconds, "consumers": consumers}
        for read, seen in seen_at.items():
            lags = sorted(seen[s] - sent_at[s] for s in seen)
            result[read] = {
                "p50_s": statistics.median(lags),
                "p99_s": lags[int(len(lags) * 0.99) - 1],
                "max_s": lags[-1],
            }
        result["peak_rss_mb"] = memory.peak_mb
        return result
    finally:
        await stack.close()


# What each projection measured alone reads, and the tables whose digest shows totals are the same whatever the
# number of processes.
TRIALS: dict[str, tuple[str, tuple[str, ...]]] = {
    ADOPTION: (topics.USAGE, ("metrics.user_days", "metrics.user_feature_days", "metrics.feature_day_events")),
    "metrics.daily_events": (topics.USAGE, ("metrics.daily_event_counts",)),
    "metrics.rejections": (topics.DEADLETTER, ()),
}


def dead_letters(project: str, count: int) -> list[tuple[str, bytes, DeadLetter]]:
    """``count`` events refused at ingest, as its dead-letter records."""
    failed_at = datetime.now(UTC)
    return [
        (
            topics.DEADLETTER,
            project.encode(),
            DeadLetter(
                origin="ingest",
                code=("invalid_field", "too_large", "too_old")[i % 3],
                reason="a benchmark's refusal",
                failed_at=failed_at,
                project=project,
                message_id=f"dl-{i}",
                stream="usage",
            ),
        )
        for i in range(count)
    ]


async def consumer_alone(count: int, processes: int, projection: str = ADOPTION) -> dict[str, Any]:
    """``projection`` as ``processes`` consumer processes in one group, over ``count`` events already in the log;
    events/s applied after its first batch until the last, and a digest of its tables (equal for every process count
    when the totals are exact)."""
    topic, tables = TRIALS[projection]
    stack = await open_stack(f"alone_{projection.split('.')[1]}_{processes}", ADMIN_DSN)
    try:
        if topic == topics.DEADLETTER:
            letters = dead_letters(stack.project.project, count)
            await publish(stack.settings, [[letter for _, _, letter in letters]], topic_of=lambda e: (topic, b"k"))
        else:
            events = usage_events(stack.project.project, count, "scale")
            await publish(stack.settings, [events[i : i + 20_000] for i in range(0, count, 20_000)])
        for n in range(processes):
            start_metrics_consumers(stack, f"consumer-{n}", projection)

        async def applied_so_far() -> int:
            conn = await asyncpg.connect(stack.dsn)
            try:
                return int(
                    await conn.fetchval(
                        "SELECT coalesce(sum(next_offset), 0) FROM tracking.partition_offsets "
                        "WHERE consumer = $1 AND topic = $2",
                        projection,
                        topic,
                    )
                )
            finally:
                await conn.close()

        async def started_applying() -> bool:
            return await applied_so_far() > 0

        first = await until(started_applying)
        # The clock starts once the first batch is in: only what is applied after it counts.
        before = await applied_so_far()
        last = await until(lambda: applied(stack.dsn, [projection], count, topic))
        conn = await asyncpg.connect(stack.dsn)
        try:
            digest = hashlib.sha256()
            for table in tables:
                rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4")
                digest.update(repr([tuple(r) for r in rows]).encode())
        finally:
            await conn.close()
        return {
            "projection": projection,
            "processes": processes,
            "events": count,
            "per_s": (count - before) / (last - first),
            "tables_digest": digest.hexdigest()[:16],
        }
    finally:
        await stack.close()


async def main(events: int) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "trial_seconds": {},
    }

    async def trial(name: str, measure: Awaitable[Any]) -> None:
        """One trial's figures, and how long it took with its stack's set-up and shutdown (the step's budget)."""
        started = time.perf_counter()
        results[name] = await measure
        results["trial_seconds"][name] = round(time.perf_counter() - started, 1)

    async def ceilings_of_parts() -> dict[str, Any]:
        stack = await open_stack("ceilings", ADMIN_DSN)
        try:
            return await ceilings.measure(stack.settings, stack.dsn, events)
        finally:
            await stack.close()

    await trial("ceilings", ceilings_of_parts())
    await trial("pulse_daily_events", pulse_pipeline(events, "metrics.daily_events", ["metrics.daily_events"]))
    # The naive pipeline runs at ~2,000 events/s: a third of the events measure its steady rate as well.
    await trial("naive", naive_pipeline(events // 3 // PER_BATCH * PER_BATCH))
    await trial(
        "pulse_daily_events_2_workers",
        pulse_pipeline(events, "metrics.daily_events", ["metrics.daily_events"], workers=2),
    )
    await trial(
        "pulse_deployed",
        pulse_pipeline(events // 2, "deployed", ["metrics.daily_events", ADOPTION], with_feedback=True),
    )
    await trial("freshness_deployed", freshness(10_000, 10, "deployed"))

    async def consumers(trials: list[tuple[int, str]]) -> list[dict[str, Any]]:
        return [await consumer_alone(events // 2, processes, projection) for processes, projection in trials]

    await trial("scale_out", consumers([(n, ADOPTION) for n in (1, 2, 4)]))
    others = ("metrics.daily_events", "metrics.rejections")
    await trial("consumers_alone", consumers([(1, projection) for projection in others]))
    return results


def table(results: dict[str, Any]) -> str:
    ceilings_, pulse, naive = results["ceilings"], results["pulse_daily_events"], results["naive"]
    e2e, e2e_naive = pulse["end_to_end_per_s"], naive["end_to_end_per_s"]
    deployed = results["pulse_deployed"]["end_to_end_per_s"]
    two = results["pulse_daily_events_2_workers"]
    lines = [
        f"machine: {results['machine']}",
        "| figure | Pulse | baseline |",
        "| --- | ---: | ---: |",
        f"| end to end, daily events (events/s) | {e2e:,.0f} | naive {e2e_naive:,.0f} ({e2e / e2e_naive:.1f}x) |",
        f"| ingest meanwhile, 1 worker (events/s) | {pulse['ingest_per_s']:,.0f} |"
        f" naive {naive['ingest_per_s']:,.0f} |",
        f"| ingest meanwhile, 2 workers (events/s) | {two['ingest_per_s']:,.0f} | |",
        f"| end to end, daily events, 2 ingest workers (events/s) | {two['end_to_end_per_s']:,.0f} | |",
        f"| end to end, every usage projection of both services, as deployed (events/s) | {deployed:,.0f} | |",
        f"| producer batch API alone (events/s) | | {ceilings_['producer_batch_per_s']:,.0f} |",
        f"| consumer fetch + decode alone (events/s) | | {ceilings_['consumer_fetch_decode_per_s']:,.0f} |",
        f"| projection runner, a projection writing nothing (events/s) | | {ceilings_['runner_noop_per_s']:,.0f} |",
        f"| COPY into Postgres (rows/s) | | {ceilings_['copy_rows_per_s']:,.0f} |",
    ]
    for key, shape in (("freshness_deployed", "as deployed"),):
        f = results[key]
        for read in ("daily_events", "adoption"):
            lines.append(
                f"| freshness at {f['offered_per_s']:,} events/s, {read}, {shape} (s) |"
                f" p50 {f[read]['p50_s']:.2f} / p99 {f[read]['p99_s']:.2f} | |"
            )
    for trial in results["scale_out"]:
        lines.append(
            f"| adoption consumer, {trial['processes']} process(es) (events/s) | {trial['per_s']:,.0f} |"
            f" tables {trial['tables_digest']} |"
        )
    for trial in results["consumers_alone"]:
        lines.append(f"| {trial['projection']} consumer alone, 1 process (events/s) | {trial['per_s']:,.0f} | |")
    lines.append(
        "| peak RSS (MB) | " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(peak_rss(results).items())) + " | |"
    )
    return "\n".join(lines)


def peak_rss(results: dict[str, Any]) -> dict[str, float]:
    """The highest resident memory of each service over the trials under load."""
    memory: dict[str, float] = {}
    for key in ("pulse_daily_events", "pulse_deployed", "freshness_deployed"):
        for label, mb in results[key]["peak_rss_mb"].items():
            memory[label] = max(memory.get(label, 0.0), mb)
    return memory


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    found = asyncio.run(main(args.events))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "system.json").write_text(json.dumps(found, indent=2, default=str))
    print(table(found))
