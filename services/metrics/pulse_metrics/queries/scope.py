"""Who a figure counts: every user of the project, or a segment (``segment=<trait>:<value>``).

A segment counts each user-day under the trait value the user had at the end of that local day (the latest value
set by an identify call with an event time before the next local midnight). Queries read two CTEs this module
writes, always with parameters $1 project, $2 timezone, $3 trait, $4 value (NULL trait: no segment):

- ``days(day, distinct_id)``: the active user-days counted;
- ``people(distinct_id, first_day, last_day)``: users whose first-ever active day is counted, with their last
  counted active day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pulse_common.http.reads import Segment


@dataclass(frozen=True)
class Scope:
    """A read: the project, its timezone, the segment (None: every user) and the local dates asked for."""

    project: str
    timezone: str
    segment: Segment | None
    first: date
    last: date

    def params(self) -> list[object]:
        """Parameters $1..$4 of a scoped query."""
        segment = self.segment
        return [self.project, self.timezone, segment.trait if segment else None, segment.value if segment else None]


def in_segment(user_column: str, day_column: str) -> str:
    """A condition: the user had the segment's value at the end of the local day (true without a segment)."""
    return f"""($3::text IS NULL OR (
        SELECT h.value #>> '{{}}' FROM metrics.trait_history h
        WHERE h.project = $1 AND h.distinct_id = {user_column} AND h.trait = $3
          AND h.valid_from < (({day_column} + 1)::timestamp AT TIME ZONE $2::text)
        ORDER BY h.valid_from DESC LIMIT 1
    ) = $4::text)"""


SCOPE_CTES = f"""
days AS (
    SELECT u.day, u.distinct_id FROM metrics.user_days u
    WHERE u.project = $1 AND {in_segment("u.distinct_id", "u.day")}
),
people AS (
    SELECT p.distinct_id, p.first_day,
           (SELECT max(d.day) FROM days d WHERE d.distinct_id = p.distinct_id) AS last_day
    FROM metrics.users p
    WHERE p.project = $1 AND {in_segment("p.distinct_id", "p.first_day")}
)"""
