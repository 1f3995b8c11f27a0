"""Feedback benchmark (issue 6): responses applied per second by one consumer, and p50 / p95 / p99 of every
feedback read, on a generated set (``feedback_data``; default 1,000,000 responses over 90 days from 200,000 skewed
users, 60 % with a comment; an identify with plan and country and a few feature uses for every user; sessions,
some crashed, for a share of them).

Every event goes through the embedded broker and the real projection runners (usage context, crashes, then
satisfaction). Reads are measured after ``VACUUM ANALYZE`` over the 30 local days ending at the data's end, against
the feedback API in its own process; targets: p95 <= 50 ms, text search <= 100 ms. Any read that does not answer 200
fails the benchmark. Prints a table and writes ``benchmarks/results/feedback.json``.

``--keep`` keeps the database (``pulse_bench_feedback_<random>``, named at the end); ``--reuse DSN`` measures the
reads only, on a database kept by an earlier run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from benchmarks.adoption import measure_reads, new_read_key, vacuum
from benchmarks.feedback_data import FEATURES, RELEASES, Population, responses, sessions, usage
from benchmarks.pipeline import apply_all, produce, start_api
from benchmarks.scratch import scratch_dsn
from pulse_common import broker as embedded_broker
from pulse_common import topics
from pulse_common.db import create_pool, drop_database, ensure_database
from pulse_common.events import FeedbackResponded, SessionUpdated, UsageEventRecorded
from pulse_common.migrations import all_migrations, apply_migrations
from pulse_common.projects import create_project
from pulse_common.settings import CommonSettings
from pulse_feedback.projections.crashes import CrashesProjection
from pulse_feedback.projections.satisfaction import SatisfactionProjection
from pulse_feedback.projections.term_packer import pack_changed_days
from pulse_feedback.projections.usage_context import UsageContextProjection

ZONE = "Europe/Berlin"
PROJECT = "bench"
DATABASE = "pulse_bench_feedback"
TARGET_MS = 50.0
SEARCH_TARGET_MS = 100.0
Read = tuple[str, str, dict[str, Any]]


def key_of(event: Any) -> bytes:
    """The key ingest gives the event (as ``tests/helpers._key_of``)."""
    if isinstance(event, SessionUpdated):
        return topics.session_key(event.project, event.distinct_id, event.session_id)
    if isinstance(event, UsageEventRecorded):
        return topics.usage_key(event.project, event.distinct_id, event.anonymous_id, event.previous_id)
    assert isinstance(event, FeedbackResponded)
    return topics.message_key(event.project, event.distinct_id)


async def setup(dsn: str) -> tuple[str, str]:
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn, all_migrations())
        created = await create_project(conn, PROJECT, ZONE)
        return created.project, created.read_key
    finally:
        await conn.close()


async def kept_data(dsn: str) -> tuple[datetime, dict[str, int]]:
    """The end of a kept data set (the hour after its newest response) and its shape."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT max(responded_at) AS newest, min(responded_at) AS oldest, count(*) AS responses,"
            " count(DISTINCT distinct_id) AS users FROM feedback.responses WHERE project = $1",
            PROJECT,
        )
    finally:
        await conn.close()
    if row is None or row["newest"] is None:
        raise SystemExit(f"no responses of project {PROJECT!r} in the reused database")
    newest: datetime = row["newest"]
    days = (newest - row["oldest"]).days + 1
    shape = {"responses": row["responses"], "users_who_answered": row["users"], "days": days}
    return newest.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1), shape


def load(
    settings: CommonSettings, project: str, args: argparse.Namespace, end: datetime
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Produce and apply the usage context, the sessions, then the responses; rates per projection, and timings."""
    consumers: dict[str, dict[str, float]] = {}
    timings: dict[str, float] = {}
    population = Population.generate(args.users, seed=2)
    started = time.perf_counter()
    sent_usage = asyncio.run(produce(settings, topics.USAGE, usage(project, population, args.days, end), key_of))
    sent_sessions = asyncio.run(
        produce(settings, topics.SESSIONS, sessions(project, population, args.days, end), key_of)
    )
    timings["context_produce_s"] = time.perf_counter() - started
    print(f"produced {sent_usage:,} usage events, {sent_sessions:,} session updates; applying ...", flush=True)
    started = time.perf_counter()
    consumers["usage_context"] = asyncio.run(
        apply_all(settings, UsageContextProjection, sent_usage, "bench-feedback-usage")
    )
    consumers["crashes"] = asyncio.run(apply_all(settings, CrashesProjection, sent_sessions, "bench-feedback-crashes"))
    timings["context_apply_s"] = time.perf_counter() - started
    print(f"usage context: {consumers['usage_context']}\ncrashes: {consumers['crashes']}", flush=True)
    started = time.perf_counter()
    chunks = responses(project, args.responses, population, args.days, end)
    count = asyncio.run(produce(settings, topics.FEEDBACK, chunks, key_of))
    timings["responses_generate_and_produce_s"] = time.perf_counter() - started
    print(f"produced {count:,} responses in {timings['responses_generate_and_produce_s']:.0f} s; applying ...")
    started = time.perf_counter()
    consumers["satisfaction"] = asyncio.run(
        apply_all(settings, SatisfactionProjection, count, "bench-feedback-satisfaction")
    )
    timings["responses_apply_s"] = time.perf_counter() - started
    print(f"satisfaction: {consumers['satisfaction']}", flush=True)
    started = time.perf_counter()
    days = asyncio.run(pack_terms(settings.dsn))  # what the consumer's term packer does every few seconds
    timings["term_pack_s"] = time.perf_counter() - started
    print(f"term packer: {days} days packed in {timings['term_pack_s']:.1f} s", flush=True)
    started = time.perf_counter()
    asyncio.run(vacuum(settings.dsn))  # reads at rest, as autovacuum leaves the tables between bursts of writes
    timings["vacuum_analyze_s"] = time.perf_counter() - started
    return consumers, timings


async def pack_terms(dsn: str) -> int:
    # The consumer's pool settings: with asyncpg's default, a generic plan chosen after five days took the
    # packer from ~60 ms to 3-5 s a day.
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        days = 0
        while packed := await pack_changed_days(pool):
            days += packed
        return days
    finally:
        await pool.close()


def get_ok(client: httpx.Client, path: str, params: dict[str, Any]) -> dict[str, Any]:
    response = client.get(path, params=params)
    if response.status_code != 200:
        raise SystemExit(f"GET {path} {params}: {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


def check_answers(port: int, read_key: str, base: str, window: dict[str, str]) -> tuple[str, list[str]]:
    """One request to the reads whose answers say whether the data set is meaningful (groups, themes, search
    hits); the first page's ``next_cursor``. Every one must answer 200."""
    notes: list[str] = []
    headers = {"Authorization": f"Bearer {read_key}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as client:
        first = get_ok(client, f"{base}/responses", window)
        cursor = first.get("next_cursor")
        if not cursor or len(first["responses"]) != 50:
            raise SystemExit(f"the first page of responses has {len(first['responses'])} and no next_cursor")
        for by in ("trait:plan", "experience:crash", f"experience:adopted:{FEATURES[0]}", "release"):
            body = get_ok(client, f"{base}/satisfaction/nps/breakdown", {**window, "by": by})
            groups = body.get("groups", [])
            summary = ", ".join(
                f"{g.get('group', g.get('value'))}: {_nps_of(g)}" for g in groups[:6] if isinstance(g, dict)
            )
            notes.append(f"breakdown {by}: {len(groups)} groups ({summary})")
        for q in ("crash", "sync fails"):
            body = get_ok(client, f"{base}/responses", {**window, "q": q})
            notes.append(f"search {q!r}: {len(body['responses'])} on the first page")
        themes = get_ok(client, f"{base}/satisfaction/nps/themes", window)
        listed = {k: v for k, v in themes.items() if isinstance(v, list) and k not in ("definitions",)}
        for side, terms in listed.items():
            names = [t.get("term") for t in terms[:6] if isinstance(t, dict)]
            notes.append(f"themes {side}: {names}")
    return cursor, notes


def _nps_of(group: dict[str, Any]) -> str:
    for key in ("nps", "score"):
        value = group.get(key)
        if isinstance(value, dict):
            value = value.get("score")
        if isinstance(value, int | float):
            return f"{value:.0f}"
    return "?"


def reads_of(base: str, window: dict[str, str], cursor: str) -> list[Read]:
    breakdown = f"{base}/satisfaction/nps/breakdown"
    return [
        ("nps by day", f"{base}/satisfaction/nps", {**window, "interval": "day"}),
        ("nps by week", f"{base}/satisfaction/nps", {**window, "interval": "week"}),
        ("nps feature=export", f"{base}/satisfaction/nps", {**window, "feature": FEATURES[2]}),
        ("nps segment plan:ent", f"{base}/satisfaction/nps", {**window, "segment": "plan:enterprise"}),
        (
            "nps feature+channel",
            f"{base}/satisfaction/nps",
            {**window, "feature": FEATURES[2], "channel": "email"},
        ),
        (
            "nps release+segment",
            f"{base}/satisfaction/nps",
            {**window, "release": f"app@{RELEASES - 2}.0", "segment": "plan:pro"},
        ),
        ("nps channel+segment", f"{base}/satisfaction/nps", {**window, "channel": "email", "segment": "plan:pro"}),
        (
            "nps survey+segment",
            f"{base}/satisfaction/nps",
            {**window, "survey": "relationship-nps", "segment": "plan:pro"},
        ),
        ("csat by day", f"{base}/satisfaction/csat", {**window, "interval": "day"}),
        ("breakdown feature", breakdown, {**window, "by": "feature"}),
        ("breakdown release", breakdown, {**window, "by": "release"}),
        ("breakdown trait:plan", breakdown, {**window, "by": "trait:plan"}),
        ("breakdown crash", breakdown, {**window, "by": "experience:crash"}),
        ("breakdown adopted", breakdown, {**window, "by": f"experience:adopted:{FEATURES[2]}"}),
        ("responses page 1", f"{base}/responses", {**window, "limit": 50}),
        ("responses page 2", f"{base}/responses", {**window, "limit": 50, "cursor": cursor}),
        ("responses nps<=6", f"{base}/responses", {**window, "kind": "nps", "max_score": 6}),
        ("search crash", f"{base}/responses", {**window, "q": "crash"}),
        ("search sync fails", f"{base}/responses", {**window, "q": "sync fails"}),
        ('search "sync fails"', f"{base}/responses", {**window, "q": '"sync fails"'}),
        ("themes nps", f"{base}/satisfaction/nps/themes", window),
    ]


def target_of(name: str) -> float:
    return SEARCH_TARGET_MS if name.startswith("search") else TARGET_MS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help=f"keep the benchmark database ({DATABASE}_*)")
    parser.add_argument("--reuse", metavar="DSN", help="only the reads, on a database kept by an earlier --keep run")
    args = parser.parse_args()
    began = time.perf_counter()
    # A name of its own: two runs at once (or a kept database) never drop each other's data.
    dsn = args.reuse or scratch_dsn(DATABASE)
    broker_port = embedded_broker.free_port()
    broker = embedded_broker.start_broker(broker_port)
    settings = CommonSettings(
        database_url=dsn, kafka_bootstrap=f"127.0.0.1:{broker_port}", kafka_idempotence=False, log_level="WARNING"
    )
    api: subprocess.Popen[bytes] | None = None
    consumers: dict[str, dict[str, float]] = {}
    timings: dict[str, float] = {}
    try:
        if args.reuse:
            project, read_key = PROJECT, asyncio.run(new_read_key(dsn, PROJECT))
            end, shape = asyncio.run(kept_data(dsn))
        else:
            end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            shape = {"responses": args.responses, "users": args.users, "days": args.days}
            project, read_key = asyncio.run(setup(dsn))
            consumers, timings = load(settings, project, args, end)
        api, port = start_api(settings, "pulse_feedback")
        last = (end - timedelta(microseconds=1)).astimezone(ZoneInfo(ZONE)).date()
        window = {"from": (last - timedelta(days=29)).isoformat(), "to": last.isoformat()}
        base = f"/v1/projects/{project}"
        cursor, notes = check_answers(port, read_key, base, window)
        for note in notes:
            print(note, flush=True)
        started = time.perf_counter()
        results = measure_reads(port, read_key, reads_of(base, window, cursor), args.requests)
        timings["reads_s"] = time.perf_counter() - started
    finally:
        if api is not None:
            api.terminate()
            api.wait(10)
        broker.terminate()
        broker.wait(10)
        if not args.keep and not args.reuse:
            asyncio.run(drop_database(dsn))
        elif args.keep:
            print(f"kept: --reuse {dsn}", flush=True)
    timings["total_s"] = time.perf_counter() - began
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "shape": {**shape, "requests": args.requests, "reused": bool(args.reuse)},
        "window": window,
        "consumers": consumers,
        "timings": timings,
        "targets_ms": {"p95": TARGET_MS, "text_search_p95": SEARCH_TARGET_MS},
        "reads": results,
        "checks": notes,
    }
    print(f"\n{'read (30 days)':22} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  target")
    for name, figures in results.items():
        if "failed" in figures:
            print(f"{name:22} FAILED: {figures['failed'][:100]}")
        else:
            verdict = "ok" if figures["p95_ms"] <= target_of(name) else "OVER"
            print(
                f"{name:22} {figures['p50_ms']:8.1f} {figures['p95_ms']:8.1f} {figures['p99_ms']:8.1f}"
                f"  {verdict} (p95 <= {target_of(name):.0f})"
            )
    for name, consumer in consumers.items():
        print(f"consumer {name}: {consumer['per_s']:,.0f} events/s applied ({consumer['applied']:,.0f} events)")
    print(f"total: {timings['total_s'] / 60:.1f} min")
    out = Path(__file__).parent / "results" / "feedback.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"written: {out}")
    failed = [name for name, figures in results.items() if "failed" in figures]
    if failed:
        raise SystemExit(f"reads that did not answer 200: {', '.join(failed)}")


if __name__ == "__main__":
    main()
