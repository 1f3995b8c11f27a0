"""User traits from identify calls (product.md §1): the latest value of a trait wins, by event time.

``trait_changes`` is the pure part; ``write_traits`` writes the latest values and the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from pulse_common.array_params import text_array
from pulse_common.db import Statements
from pulse_common.events import UsageEventRecorded, UsageStreamEvent

MAX_TRAIT_NAME = 200

# (project, distinct id, trait, event time) -> value
TraitChange = tuple[str, str, str, datetime, object]


def trait_changes(events: Iterable[UsageStreamEvent]) -> list[TraitChange]:
    """Every trait set by an identify call, in a deterministic order (sorted by key and time)."""
    changes: dict[tuple[str, str, str, datetime], object] = {}
    for event in events:
        if not isinstance(event, UsageEventRecorded) or event.type != "identify":
            continue
        for trait, value in event.traits.items():
            if trait and len(trait) <= MAX_TRAIT_NAME:
                changes[(event.project, event.distinct_id, trait, event.timestamp)] = value
    return [(*key, changes[key]) for key in sorted(changes)]


async def write_traits(conn: Statements, changes: Sequence[TraitChange]) -> None:
    if not changes:
        return
    columns = (
        text_array([c[0] for c in changes]),
        text_array([c[1] for c in changes]),
        text_array([c[2] for c in changes]),
        [c[3] for c in changes],
        text_array([msgspec.json.encode(c[4]).decode() for c in changes]),
    )
    await conn.execute(
        """
        INSERT INTO metrics.trait_history (project, distinct_id, trait, valid_from, value)
        SELECT p, d, t, at, v::jsonb
        FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::timestamptz[], $5::text::text[])
            AS c(p, d, t, at, v)
        ON CONFLICT (project, distinct_id, trait, valid_from) DO UPDATE SET value = excluded.value
        """,
        *columns,
    )
    # The newest value per key in this batch, then only where it is newer than the stored one.
    await conn.execute(
        """
        INSERT INTO metrics.user_traits (project, distinct_id, trait, set_at, value)
        SELECT DISTINCT ON (p, d, t) p, d, t, at, v::jsonb
        FROM unnest($1::text::text[], $2::text::text[], $3::text::text[], $4::timestamptz[], $5::text::text[])
            AS c(p, d, t, at, v)
        ORDER BY p, d, t, at DESC
        ON CONFLICT (project, distinct_id, trait) DO UPDATE
        SET value = excluded.value, set_at = excluded.set_at
        WHERE metrics.user_traits.set_at <= excluded.set_at
        """,
        *columns,
    )
