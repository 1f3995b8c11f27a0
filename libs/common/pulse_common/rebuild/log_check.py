"""Whether the log can still give back everything a projection applied: the condition for rebuilding it."""

from __future__ import annotations

from collections.abc import Mapping

from pulse_common.rebuild.unit import RebuildRefused

Partition = tuple[str, int]


def check_log_is_whole(
    projection: str,
    beginning: Mapping[Partition, int],
    end: Mapping[Partition, int],
    stored: Mapping[Partition, int],
) -> None:
    """Refuse unless every partition's log starts at offset 0 and reaches at least the offset the projection
    stored (what it applied): otherwise a replay would drop events the live copy counts."""
    shortened = sorted(p for p, first in beginning.items() if first > 0)
    if shortened:
        where = ", ".join(f"{t}[{p}] starts at {beginning[(t, p)]}" for t, p in shortened)
        raise RebuildRefused(
            f"{projection}: the log no longer starts at offset 0 ({where}): events before that are gone "
            "(retention or deleted records), and a rebuild would lose them"
        )
    missing = sorted(p for p, offset in stored.items() if offset > end.get(p, 0))
    if missing:
        where = ", ".join(f"{t}[{p}] holds {end.get((t, p), 0)}, {stored[(t, p)]} were applied" for t, p in missing)
        raise RebuildRefused(
            f"{projection}: the log holds fewer events than the projection applied ({where}): it was recreated "
            "or its broker lost data, and a rebuild would lose them"
        )
