"""The one table of ``make bench``: issue 10's figures from each step's results, each beside its baseline from the
same run and its target. Pure: results in, rows out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.system import peak_rss

READ_TARGET_MS = 50.0
SEARCH_TARGET_MS = 100.0
RSS_TARGET_MB = 250.0
FRESHNESS_TARGET_S = 1.0

Row = dict[str, Any]


def _row(figure: str, value: str, baseline: str = "", target: str = "", met: bool | None = None) -> Row:
    return {"figure": figure, "value": value, "baseline": baseline, "target": target, "met": met}


def _system_rows(system: dict[str, Any]) -> list[Row]:
    pulse, naive = system["pulse_daily_events"], system["naive"]
    ratio = pulse["end_to_end_per_s"] / naive["end_to_end_per_s"]
    ceilings = system["ceilings"]
    rows = [
        _row(
            "end to end, ingest → broker → daily counts (events/s)",
            f"{pulse['end_to_end_per_s']:,.0f}",
            f"naive pipeline {naive['end_to_end_per_s']:,.0f} ({ratio:.1f}×)",
            "≥ 2.5× naive",
            ratio >= 2.5,
        ),
        _row(
            "end to end, every usage projection, services as deployed (events/s)",
            f"{system['pulse_deployed']['end_to_end_per_s']:,.0f}",
            f"producer batch API {ceilings['producer_batch_per_s']:,.0f}; consumer fetch+decode "
            f"{ceilings['consumer_fetch_decode_per_s']:,.0f}; runner, projection writing nothing "
            f"{ceilings.get('runner_noop_per_s', 0):,.0f}; COPY {ceilings['copy_rows_per_s']:,.0f} rows/s",
        ),
        _row(
            "ingest under the end-to-end load, 1 / 2 workers (events/s)",
            f"{pulse['ingest_per_s']:,.0f} / {system['pulse_daily_events_2_workers']['ingest_per_s']:,.0f}",
            f"naive ingest {naive['ingest_per_s']:,.0f}",
        ),
    ]
    for key, shape in (("freshness_deployed", "as deployed"),):
        trial = system[key]
        for read in ("daily_events", "adoption"):
            lag = trial[read]
            rows.append(
                _row(
                    f"freshness at {trial['offered_per_s']:,} events/s, {read.replace('_', ' ')}, {shape} (s)",
                    f"p50 {lag['p50_s']:.2f} / p99 {lag['p99_s']:.2f}",
                    target="p99 ≤ 1 s",
                    met=lag["p99_s"] <= FRESHNESS_TARGET_S,
                )
            )
    curve = " / ".join(f"{t['per_s']:,.0f}" for t in system["scale_out"])
    digests = {t["tables_digest"] for t in system["scale_out"]}
    rows.append(
        _row(
            "adoption consumer as " + " / ".join(str(t["processes"]) for t in system["scale_out"]) + " processes",
            f"{curve} events/s",
            "tables identical" if len(digests) == 1 else f"tables DIFFER: {sorted(digests)}",
            "exact totals",
            len(digests) == 1,
        )
    )
    for trial in system.get("consumers_alone", []):
        rows.append(_row(f"consumer, {trial['projection']}, 1 process (events/s)", f"{trial['per_s']:,.0f}"))
    memory = peak_rss(system)
    highest = max(memory, key=memory.__getitem__)
    rows.append(
        _row(
            "peak RSS under load (MB)",
            ", ".join(f"{k} {v:.0f}" for k, v in sorted(memory.items())),
            target=f"≤ {RSS_TARGET_MB:.0f} each",
            met=memory[highest] <= RSS_TARGET_MB,
        )
    )
    return rows


def _ingest_rows(ingest: dict[str, Any]) -> list[Row]:
    rates = ingest["events_per_second"]
    pulse = next(v for k, v in rates.items() if k.startswith("pulse"))
    naive = next(v for k, v in rates.items() if k.startswith("naive"))
    baseline = f"naive FastAPI list[Model] {naive:,.0f} ({pulse / naive:.1f}×)"
    if "ceiling_without_publishing_per_second" in ingest:
        # The same server acknowledging without publishing: how far the request path alone goes on this machine.
        baseline += f"; ceiling, publishing skipped {ingest['ceiling_without_publishing_per_second']:,.0f}"
    return [
        _row(
            "ingest alone, 1 worker, 100-event batches (events/s)",
            f"{pulse:,.0f}",
            baseline,
            "≥ 150,000 and ≥ 4× naive (issue 3)",
            pulse >= 150_000 and pulse >= 4 * naive,
        )
    ]


def _rate_row(figure: str, per_s: float, target: float, issue: int) -> Row:
    return _row(figure, f"{per_s:,.0f}", target=f"≥ {target:,.0f} (issue {issue})", met=per_s >= target)


def _consumer_rows(results: dict[str, Any]) -> list[Row]:
    rows = []
    adoption = results.get("adoption", {})
    users = adoption.get("shape", {}).get("users", 0)
    if adoption.get("consumer"):
        per_s = adoption["consumer"]["per_s"]
        rows.append(_rate_row(f"consumer, adoption, on top of {users:,} users (events/s)", per_s, 100_000, 4))
    if adoption.get("consumer_with_segment_trait"):
        rows.append(
            _rate_row(
                f"consumer, adoption, on top of {users:,} users, one segment trait declared (events/s)",
                adoption["consumer_with_segment_trait"]["per_s"],
                100_000,
                4,
            )
        )
    if "release_health" in results:
        per_s = results["release_health"]["consumer"]["per_s"]
        sessions = results["release_health"]["shape"]["sessions"]
        figure = f"consumer, release health, {sessions:,} sessions (session updates/s)"
        rows.append(_rate_row(figure, per_s, 50_000, 5))
    for name, consumer in results.get("feedback", {}).get("consumers", {}).items():
        rows.append(_row(f"consumer, {name} (events/s)", f"{consumer['per_s']:,.0f}"))
    return rows


def _read_rows(
    step: str, reads: dict[str, Any], scope: str, baseline: Callable[[str], str] = lambda read: ""
) -> list[Row]:
    rows = []
    for name, figures in reads.items():
        target = SEARCH_TARGET_MS if name.startswith("search") else READ_TARGET_MS
        if "failed" in figures:
            rows.append(
                _row(
                    f"read, {step}: {name}, {scope}",
                    f"failed after {figures['after_s']:.1f} s: {figures['failed'][:60]}",
                    target=f"p95 ≤ {target:.0f} ms",
                    met=False,
                )
            )
            continue
        rows.append(
            _row(
                f"read, {step}: {name}, {scope} (ms)",
                f"{figures['p50_ms']:.1f} / {figures['p95_ms']:.1f} / {figures['p99_ms']:.1f}",
                baseline(name),
                target=f"p95 ≤ {target:.0f} ms",
                met=figures["p95_ms"] <= target,
            )
        )
    return rows


def summary_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    if "system" in results:
        rows += _system_rows(results["system"])
    if "ingest" in results:
        rows += _ingest_rows(results["ingest"])
    if "codec" in results:
        rates = results["codec"]["events_per_second"]
        typed = next(v for k, v in rates.items() if k.startswith("msgspec"))
        dict_first = rates["json.loads + pydantic validate"]
        rows.append(
            _row("decode one usage event (events/s)", f"{typed:,.0f}", f"json.loads + pydantic {dict_first:,.0f}")
        )
    rows += _consumer_rows(results)
    for size in results.get("claims", {}).get("sizes", []):
        rows.append(
            _row(
                f"one dedup claim, claims table of {size['table_rows']:,} rows (µs of Postgres CPU)",
                f"{size['postgres_cpu_us_per_claim']:.1f}",
            )
        )
    if "adoption" in results:
        adoption = results["adoption"]
        shape = adoption["shape"]
        scope = f"{shape['events'] / 1e6:.0f}M events, {shape['users'] / 1e6:.0f}M users, p50/p95/p99"
        naive = adoption.get("naive", {})

        def naive_beside(read: str) -> str:
            """The naive query over the same window as the read (the naive active-users: its last days only)."""
            key = {"features": "features"}.get(read, "active-users" if read.startswith("active-users (last") else "")
            if key not in naive:
                return ""
            return f"naive COUNT(DISTINCT) {naive[key]['median_ms']:,.0f} ms ({naive[key]['window']})"

        rows += _read_rows("adoption", adoption["reads"], scope, naive_beside)
        declared_in = adoption.get("load", {}).get("declare_segment_trait_s")
        if declared_in is not None:
            rows.append(_row(f"declaring a segment trait, {shape['users']:,} users (s)", f"{declared_in:.0f}"))
        rows += _read_rows("adoption", adoption.get("segment_reads", {}), scope)
        rows += _read_rows("adoption", adoption.get("row_segment_reads", {}), scope)
    if "release_health" in results:
        shape = results["release_health"]["shape"]
        scope = f"{shape['sessions']:,} sessions, {shape['days']} days, p50/p95/p99"
        rows += _read_rows("releases", results["release_health"]["reads"], scope)
    if "feedback" in results:
        shape = results["feedback"]["shape"]
        scope = f"{shape['responses']:,} responses, last 30 days, p50/p95/p99"
        rows += _read_rows("feedback", results["feedback"]["reads"], scope)
    return rows


def summary_table(report: dict[str, Any]) -> str:
    verdicts = {True: "met", False: "NOT MET", None: ""}
    lines = [
        f"make bench, {report['when']}, {report['total_seconds'] / 60:.1f} min; machine: {report['machine']}",
        "| figure | Pulse | baseline, same run | target | |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in report["summary"]:
        lines.append(
            f"| {row['figure']} | {row['value']} | {row['baseline']} | {row['target']} | {verdicts[row['met']]} |"
        )
    for name, step in report["steps"].items():
        lines.append(f"step {name}: {step['seconds']:.0f} s" + ("" if step["exit_code"] == 0 else " FAILED"))
    return "\n".join(lines)
