"""``make bench``: every benchmark at the size that fits this machine's budget (under 15 minutes on 2 cores), then
one table of the figures issue 10 asks for, each beside its baseline and its target, written with the machine it
ran on to ``benchmarks/results/bench.json``.

Each step is its own process (``python -m benchmarks.<step> ...``, runnable alone with larger sizes); a step that
fails is reported and the run goes on, then exits non-zero. ``--only system,ingest`` runs some steps;
``--summary`` prints the table from the results already written.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.stack import RESULTS
from benchmarks.summary import summary_rows, summary_table

# The sizes of `make bench`. Each step's own defaults are the larger runs of docs/benchmarks.md.
STEPS: dict[str, list[str]] = {
    # 60,000 events per trial: every rate is taken after its first batch, and its trials still last seconds.
    "system": ["--events", "60000"],
    "codec": [],
    "ingest": ["--rounds", "3", "--requests", "500"],
    # 10,000,000 events of 1,000,000 users over 90 days. The naive active-users query runs over the last day (over
    # 90 it took ~400 s); a read of a segment of an undeclared trait (row-level, ~6 s) stops at 15 s; the tests, not
    # this, check the rollups. The consumer is timed once, with the plan trait declared (the slower case): timing it
    # before too, and the declaration (~100 s), would take make bench past 15 minutes.
    "adoption": [
        "--consumer-events",
        "20000",
        "--requests",
        "30",
        "--segment-requests",
        "1",
        "--segment-reads",
        "1",
        "--naive-repeats",
        "1",
        "--naive-days",
        "1",
        "--no-check-rollups",
        "--no-undeclared-consumer",
        "--statement-timeout",
        "15",
    ],
    # A claim is paid per event by every projection; 10,000,000 rows (the run of docs/benchmarks.md) take ~2 minutes.
    "claims": ["--rows", "0,1000000", "--batches", "20"],
    # Issue 5's set: 1,000,000 sessions of 200,000 users over 30 days and 20 releases (2,000,000 updates through
    # the consumer: 2.6 minutes on 2026-12-08, against 16 s for the 60,000 sessions make bench used to take).
    "release_health": ["--sessions", "1000000", "--users", "200000", "--requests", "30"],
    "feedback": ["--responses", "20000", "--users", "10000", "--requests", "30"],
}


def run_step(name: str, args: list[str]) -> dict[str, object]:
    print(f"\n=== {name}: python -m benchmarks.{name} {' '.join(args)}", flush=True)
    started = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", f"benchmarks.{name}", *args])
    return {"exit_code": code, "seconds": round(time.perf_counter() - started, 1)}


def machine() -> dict[str, object]:
    meminfo = Path("/proc/meminfo").read_text(encoding="ascii").splitlines()
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="ascii").splitlines()
    memory_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.processor())
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory_kb / 2**20, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="comma-separated steps: " + ",".join(STEPS))
    parser.add_argument("--summary", action="store_true", help="only print the table of the results on disk")
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(STEPS)
    unknown = sorted(set(chosen) - set(STEPS))
    if unknown:
        parser.error(f"unknown steps: {', '.join(unknown)}")
    steps: dict[str, dict[str, object]] = {}
    began = time.perf_counter()
    if not args.summary:
        for name in chosen:
            steps[name] = run_step(name, STEPS[name])
    results = {
        name: json.loads((RESULTS / f"{name}.json").read_text())
        for name in STEPS
        if (RESULTS / f"{name}.json").exists()
    }
    rows = summary_rows(results)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "total_seconds": round(time.perf_counter() - began, 1),
        "steps": steps,
        "summary": rows,
    }
    print("\n" + summary_table(report))
    if not args.summary:
        (RESULTS / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"written: {RESULTS / 'bench.json'}")
    failed = [name for name, step in steps.items() if step["exit_code"] != 0]
    if failed:
        print(f"steps that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
