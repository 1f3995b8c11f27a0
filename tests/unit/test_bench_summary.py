"""The verdicts of `make bench`'s table (benchmarks.summary): each figure against its target, baselines beside."""

from typing import Any

from benchmarks.summary import summary_rows


def _lag(p99: float) -> dict[str, float]:
    return {"p50_s": p99 / 2, "p99_s": p99, "max_s": p99}


def _system(*, pulse: float, naive: float, daily_p99: float, rss: float, digests: list[str]) -> dict[str, Any]:
    return {
        "pulse_daily_events": {"end_to_end_per_s": pulse, "ingest_per_s": 19_000, "peak_rss_mb": {"ingest": 80.0}},
        "naive": {"end_to_end_per_s": naive, "ingest_per_s": 12_000},
        "pulse_daily_events_2_workers": {"ingest_per_s": 15_000},
        "pulse_deployed": {"end_to_end_per_s": 5_000, "peak_rss_mb": {"metrics-consumer": rss}},
        "ceilings": {"producer_batch_per_s": 60_000, "consumer_fetch_decode_per_s": 100_000, "copy_rows_per_s": 1e6},
        "freshness_deployed": {
            "offered_per_s": 10_000,
            "daily_events": _lag(daily_p99),
            "adoption": _lag(8.0),
            "peak_rss_mb": {"metrics-api": 70.0},
        },
        "scale_out": [
            {"processes": n, "per_s": 4_000.0 * n, "tables_digest": d} for n, d in zip((1, 2), digests, strict=True)
        ],
    }


def _verdicts(results: dict[str, Any]) -> dict[str, bool | None]:
    return {row["figure"]: row["met"] for row in summary_rows(results)}


def test_each_system_figure_is_judged_against_its_target() -> None:
    met = _verdicts({"system": _system(pulse=5_000, naive=2_000, daily_p99=0.9, rss=240, digests=["a", "a"])})
    assert met["end to end, ingest → broker → daily counts (events/s)"] is True  # 2.5x exactly
    assert met["freshness at 10,000 events/s, daily events, as deployed (s)"] is True
    assert met["freshness at 10,000 events/s, adoption, as deployed (s)"] is False
    assert met["adoption consumer as 1 / 2 processes"] is True
    assert met["peak RSS under load (MB)"] is True

    missed = _verdicts({"system": _system(pulse=4_900, naive=2_000, daily_p99=1.1, rss=251, digests=["a", "b"])})
    assert missed["end to end, ingest → broker → daily counts (events/s)"] is False
    assert missed["freshness at 10,000 events/s, daily events, as deployed (s)"] is False
    assert missed["adoption consumer as 1 / 2 processes"] is False  # totals differ between process counts
    assert missed["peak RSS under load (MB)"] is False


def test_reads_are_judged_by_p95_and_a_failed_read_misses() -> None:
    reads = {
        "features": {"p50_ms": 20.0, "p95_ms": 49.9, "p99_ms": 80.0},
        "retention day": {"p50_ms": 30.0, "p95_ms": 50.1, "p99_ms": 60.0},
        "active-users (last 1 day)": {"p50_ms": 9.0, "p95_ms": 10.0, "p99_ms": 11.0},
    }
    adoption = {
        "shape": {"users": 1_000_000, "events": 10_000_000},
        "reads": reads,
        "segment_reads": {"active-users (segment)": {"failed": "503 query_timeout", "after_s": 10.0}},
        "naive": {
            "features": {"median_ms": 18_000.0, "window": "90 days"},
            "active-users": {"median_ms": 23_000.0, "window": "1 day"},
        },
    }
    feedback = {
        "shape": {"responses": 30_000},
        "reads": {"search crash": {"p50_ms": 60.0, "p95_ms": 90.0, "p99_ms": 95.0}},
        "consumers": {},
    }
    rows = {
        row["figure"].split(", 10M")[0].split(", 30,000")[0]: row
        for row in summary_rows({"adoption": adoption, "feedback": feedback})
    }
    assert rows["read, adoption: features"]["met"] is True
    assert rows["read, adoption: retention day"]["met"] is False
    assert rows["read, adoption: active-users (segment)"]["met"] is False
    assert rows["read, feedback: search crash"]["met"] is True  # text search: 100 ms
    assert "18,000 ms (90 days)" in rows["read, adoption: features"]["baseline"]
    assert "23,000 ms (1 day)" in rows["read, adoption: active-users (last 1 day)"]["baseline"]
    assert rows["read, adoption: retention day"]["baseline"] == ""


def test_ingest_is_judged_on_both_targets_with_its_ceiling_beside() -> None:
    def ingest(pulse: float, naive: float) -> dict[str, Any]:
        rates = {"pulse ingest": pulse, "naive endpoint": naive}
        return {"events_per_second": rates, "ceiling_without_publishing_per_second": 140_000.0}

    (met,) = summary_rows({"ingest": ingest(150_000, 37_500)})
    assert met["met"] is True
    assert "ceiling, publishing skipped 140,000" in met["baseline"]
    (slow,) = summary_rows({"ingest": ingest(149_999, 30_000)})
    (near_naive,) = summary_rows({"ingest": ingest(160_000, 40_001)})
    assert slow["met"] is False  # under 150,000 events/s
    assert near_naive["met"] is False  # under 4 times naive


def test_each_claims_table_size_is_a_row_of_its_own() -> None:
    sizes = [
        {"table_rows": 0, "postgres_cpu_us_per_claim": 5.54, "wall_us_per_claim": 6.0},
        {"table_rows": 1_000_000, "postgres_cpu_us_per_claim": 10.04, "wall_us_per_claim": 10.8},
    ]
    rows = {row["figure"]: row for row in summary_rows({"claims": {"sizes": sizes}})}
    assert rows["one dedup claim, claims table of 0 rows (µs of Postgres CPU)"]["value"] == "5.5"
    assert rows["one dedup claim, claims table of 1,000,000 rows (µs of Postgres CPU)"]["value"] == "10.0"
