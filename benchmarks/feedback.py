"""Feedback benchmark (issue 6): responses applied per second by one consumer, and p50 / p95 / p99 of every
feedback read, on a generated set (default 1,000,000 responses over 90 days from 200,000 users, 60 % with a
comment; identify traits and feature use for every user; crashed sessions for some).

Every event goes through the embedded broker and the real projection runner. Prints a table and writes
``benchmarks/results/feedback.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.adoption import measure_reads, vacuum
from benchmarks.pipeline import apply_all, produce, start_api
from pulse_common import broker as embedded_broker
from pulse_common import topics
from pulse_common.db import drop_database, ensure_database
from pulse_common.events import FeedbackResponded, SessionUpdated, UsageEventRecorded
from pulse_common.migrations import all_migrations, apply_migrations
from pulse_common.projects import create_project
from pulse_common.settings import CommonSettings
from pulse_feedback.projections.crashes import CrashesProjection
from pulse_feedback.projections.satisfaction import SatisfactionProjection
from pulse_feedback.projections.usage_context import UsageContextProjection

ZONE = "Europe/Berlin"
FEATURES = [f"feature-{i}" for i in range(10)]
NEUTRAL = [
    *("the", "app", "is", "ok", "i", "use", "it", "every", "day", "for"),
    *("work", "with", "my", "team", "and", "the", "reports", "look", "fine"),
]
BAD = ["crash", "crashes when saving", "slow", "login broken", "sync fails", "lost my data", "support never replied"]
GOOD = ["fast", "love the export", "easy to use", "great support", "dashboards are clear", "saves me time"]
SCORES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


def comment(rng: random.Random, side: str) -> str:
    words = rng.choices(NEUTRAL, k=rng.randrange(3, 12))
    leaning = BAD if side == "bad" else GOOD if side == "good" else BAD + GOOD
    words.insert(rng.randrange(len(words) + 1), rng.choice(leaning))
    if rng.random() < 0.3:
        words.append(rng.choice(BAD + GOOD))
    return " ".join(words)


def responses(project: str, count: int, users: int, days: int, end: datetime, seed: int = 3) -> Iterator[list[Any]]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret
    span = days * 86_400
    chunk: list[Any] = []
    for i in range(count):
        at = end - timedelta(seconds=rng.random() * span)
        kind = rng.choices(["nps", "csat", "ces"], weights=[60, 25, 15])[0]
        low, high = SCORES[kind]
        score = min(high, max(low, round(rng.triangular(low, high, high - (high - low) * 0.2))))
        good_from = {"nps": 9, "csat": 4, "ces": 5}[kind]
        side = "good" if score >= good_from else "neutral" if kind == "nps" and score >= 7 else "bad"
        chunk.append(
            FeedbackResponded(
                event_id=uuid.uuid4(),
                project=project,
                received_at=at,
                message_id=f"r{i}",
                distinct_id=f"user-{int(users * rng.random() ** 2)}",
                kind=kind,  # type: ignore[arg-type]
                score=score,
                comment=comment(rng, side) if rng.random() < 0.6 else None,
                feature=rng.choice([*FEATURES, None]),
                release=f"app@{int((1 - (end - at).total_seconds() / span) * 20)}.0",
                channel=rng.choice(["in_app", "email", "support", "docs"]),
                survey=f"survey-{rng.randrange(5)}",
                timestamp=at,
            )
        )
        if len(chunk) >= 50_000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def context(project: str, users: int, days: int, end: datetime, seed: int = 4) -> Iterator[list[Any]]:
    """Per user: one identify (plan, country), two feature uses; for one user in ten, a crashed session."""
    rng = random.Random(seed)  # noqa: S311
    start = end - timedelta(days=days)
    chunk: list[Any] = []
    for u in range(users):
        user = f"user-{u}"
        at = start + timedelta(seconds=rng.random() * 86_400)
        chunk.append(
            UsageEventRecorded(
                event_id=uuid.uuid4(),
                project=project,
                received_at=at,
                type="identify",
                distinct_id=user,
                user_id=user,
                timestamp=at,
                traits={"plan": rng.choice(["free", "pro", "enterprise"]), "country": rng.choice(["de", "us", "fr"])},
            )
        )
        for _ in range(2):
            used = start + timedelta(seconds=rng.random() * days * 86_400)
            chunk.append(
                UsageEventRecorded(
                    event_id=uuid.uuid4(),
                    project=project,
                    received_at=used,
                    type="track",
                    name="Used",
                    distinct_id=user,
                    user_id=user,
                    timestamp=used,
                    properties={"feature": rng.choice(FEATURES)},
                )
            )
        if rng.random() < 0.1:
            crashed = start + timedelta(seconds=rng.random() * days * 86_400)
            chunk.append(
                SessionUpdated(
                    event_id=uuid.uuid4(),
                    project=project,
                    received_at=crashed,
                    session_id=f"s{u}",
                    distinct_id=user,
                    started=crashed,
                    timestamp=crashed,
                    status="crashed",
                    release="app@1.0",
                )
            )
        if len(chunk) >= 50_000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def key_of(event: Any) -> bytes:
    if isinstance(event, SessionUpdated):
        return topics.session_key(event.project, event.distinct_id, event.session_id)
    if isinstance(event, UsageEventRecorded):
        return topics.usage_key(event.project, event.distinct_id, event.anonymous_id, event.previous_id)
    return topics.message_key(event.project, event.distinct_id)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    admin = os.environ.get("PULSE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    dsn = admin.rsplit("/", 1)[0] + f"/pulse_bench_feedback_{uuid.uuid4().hex[:8]}"
    broker_port = embedded_broker.free_port()
    broker = embedded_broker.start_broker(broker_port)
    settings = CommonSettings(
        database_url=dsn, kafka_bootstrap=f"127.0.0.1:{broker_port}", kafka_idempotence=False, log_level="WARNING"
    )
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    api: subprocess.Popen[bytes] | None = None
    consumers: dict[str, dict[str, float]] = {}
    try:
        asyncio.run(ensure_database(dsn))

        async def setup() -> tuple[str, str]:
            conn = await asyncpg.connect(dsn)
            try:
                await apply_migrations(conn, all_migrations())
                created = await create_project(conn, "bench", ZONE)
                return created.project, created.read_key
            finally:
                await conn.close()

        project, read_key = asyncio.run(setup())
        events = list(context(project, args.users, args.days, end))
        usage = [[e for e in c if isinstance(e, UsageEventRecorded)] for c in events]
        sessions = [[e for e in c if isinstance(e, SessionUpdated)] for c in events]
        sent_usage = asyncio.run(produce(settings, topics.USAGE, usage, key_of))
        sent_sessions = asyncio.run(produce(settings, topics.SESSIONS, sessions, key_of))
        consumers["usage_context"] = asyncio.run(
            apply_all(settings, UsageContextProjection, sent_usage, "bench-feedback-usage")
        )
        consumers["crashes"] = asyncio.run(apply_all(settings, CrashesProjection, sent_sessions, "bench-crashes"))
        count = asyncio.run(
            produce(settings, topics.FEEDBACK, responses(project, args.responses, args.users, args.days, end), key_of)
        )
        print(f"produced {count:,} responses; applying ...", flush=True)
        consumers["satisfaction"] = asyncio.run(
            apply_all(settings, SatisfactionProjection, count, "bench-satisfaction")
        )
        print(f"consumers: {consumers}", flush=True)
        asyncio.run(vacuum(dsn))
        api, port = start_api(settings, "pulse_feedback")
        window = {"from": (end - timedelta(days=29)).date().isoformat(), "to": end.date().isoformat()}
        base = f"/v1/projects/{project}"
        reads: list[tuple[str, str, dict[str, Any]]] = [
            ("nps by day (30 days)", f"{base}/satisfaction/nps", window),
            ("nps by week", f"{base}/satisfaction/nps", {**window, "interval": "week"}),
            ("nps feature filter", f"{base}/satisfaction/nps", {**window, "feature": FEATURES[3]}),
            ("nps feature+channel", f"{base}/satisfaction/nps", {**window, "feature": FEATURES[3], "channel": "email"}),
            ("nps segment plan", f"{base}/satisfaction/nps", {**window, "segment": "plan:enterprise"}),
            ("csat by day", f"{base}/satisfaction/csat", window),
            ("breakdown feature", f"{base}/satisfaction/nps/breakdown", {**window, "by": "feature"}),
            ("breakdown release", f"{base}/satisfaction/nps/breakdown", {**window, "by": "release"}),
            ("breakdown trait:plan", f"{base}/satisfaction/nps/breakdown", {**window, "by": "trait:plan"}),
            ("breakdown crash", f"{base}/satisfaction/nps/breakdown", {**window, "by": "experience:crash"}),
            (
                "breakdown adopted",
                f"{base}/satisfaction/nps/breakdown",
                {**window, "by": f"experience:adopted:{FEATURES[2]}"},
            ),
            ("responses page", f"{base}/responses", window),
            ("responses detractors", f"{base}/responses", {**window, "kind": "nps", "max_score": 6}),
            ("search 'crash'", f"{base}/responses", {**window, "q": "crash"}),
            ("search 'sync fails'", f"{base}/responses", {**window, "q": '"sync fails"'}),
            ("themes nps", f"{base}/satisfaction/nps/themes", window),
        ]
        results = measure_reads(port, read_key, reads, args.requests)
    finally:
        if api is not None:
            api.terminate()
            api.wait(10)
        broker.terminate()
        broker.wait(10)
        asyncio.run(drop_database(dsn))
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "shape": vars(args),
        "consumers": consumers,
        "reads": results,
    }
    print(f"\n{'read':24} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}")
    for name, figures in results.items():
        if "failed" in figures:
            print(f"{name:24} failed: {figures['failed'][:80]}")
        else:
            print(f"{name:24} {figures['p50_ms']:9.1f} {figures['p95_ms']:9.1f} {figures['p99_ms']:9.1f}")
    for name, consumer in consumers.items():
        print(f"consumer {name}: {consumer['per_s']:,.0f} events/s applied")
    out = Path(__file__).parent / "results" / "feedback.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written: {out}")
    if any("failed" in figures for figures in results.values()):
        raise SystemExit("a read failed: see the table")


if __name__ == "__main__":
    main()
