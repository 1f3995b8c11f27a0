"""Who a figure counts: every user of the project, or a segment (``segment=<trait>:<value>``).

A segment counts each user-day under the trait value the user had at the end of that local day (the latest value
set by an identify call with an event time before the next local midnight). Segmented queries read the CTEs this
module writes, always with parameters $1 project, $2 timezone, $3 trait, $4 value:

- ``member_spans(distinct_id, since, until)``: the times each user held the value: from an identify setting it
  (``since``) up to the next identify of that trait (``until``, NULL: still held);
- ``days(day, distinct_id)``: the active user-days counted;
- ``people(distinct_id, first_day, last_day)``: users whose first-ever active day is counted, with their last
  counted active day.

Each user-day is matched to its span by a join on the user (one pass over the trait's history), not by a lookup of
the latest identify per user-day: on 1,000,000 users the lookups alone took longer than the API's 60 s limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pulse_common.http.reads import Segment
from pulse_common.periods import Interval


@dataclass(frozen=True)
class Scope:
    """A read: the project, its timezone, the segment (None: every user) and the local dates asked for; whether the
    segment's trait is declared (its rollups are kept: ``pulse segment declare``)."""

    project: str
    timezone: str
    segment: Segment | None
    first: date
    last: date
    declared: bool = False

    @property
    def from_rows(self) -> bool:
        """A segment without rollups: counted from the per-user rows (``SCOPE_CTES``)."""
        return self.segment is not None and not self.declared

    def rollup(self, table: str, at: int, alias: str) -> str:
        """SQL: the rollup table a read sums (``table``, e.g. ``activity_links``) as ``alias``: every user's, or
        the declared segment's rows of ``segment_`` + table, its trait and value taken as parameters ``$at`` and
        ``$at + 1`` (``rollup_params``, after the read's own)."""
        if self.segment is None:
            return f"metrics.{table} AS {alias}"
        return f"(SELECT * FROM metrics.segment_{table} WHERE trait = ${at} AND value = ${at + 1}) AS {alias}"

    def rollup_params(self) -> list[object]:
        return [] if self.segment is None else [self.segment.trait, self.segment.value]

    def params(self) -> list[object]:
        """Parameters $1..$4 of a scoped query."""
        segment = self.segment
        return [self.project, self.timezone, segment.trait if segment else None, segment.value if segment else None]


def period_of(column: str, interval: Interval) -> str:
    """SQL: the start of the period holding a date column (ISO weeks start on Monday, as ``period_start``)."""
    return column if interval == "day" else f"date_trunc('{interval}', {column})::date"


def _day_end(day_column: str) -> str:
    """The local midnight that ends a local day, as a timestamptz."""
    return f"(({day_column} + 1)::timestamp AT TIME ZONE $2::text)"


def held_then(spans: str, day_column: str) -> str:
    """A condition on a row joined to its user's ``member_spans`` (alias ``spans``): the span holds the end of the
    local day. Spans of one user never overlap, so at most one of them does."""
    end = _day_end(day_column)
    return f"{spans}.since < {end} AND ({spans}.until IS NULL OR {end} <= {spans}.until)"


# Spans of one user never overlap (each ends where the next identify of the trait begins), so a user-day joins at
# most one: the joins below count each user-day once.
SCOPE_CTES = f"""
member_spans AS MATERIALIZED (
    SELECT distinct_id, since, until FROM (
        SELECT h.distinct_id, h.valid_from AS since,
               lead(h.valid_from) OVER (PARTITION BY h.distinct_id ORDER BY h.valid_from) AS until,
               h.value #>> '{{}}' = $4::text AS held
        FROM metrics.trait_history h
        WHERE h.project = $1 AND h.trait = $3
    ) AS spans
    WHERE held
),
days AS (
    SELECT u.day, u.distinct_id FROM metrics.user_days u
    JOIN member_spans s ON s.distinct_id = u.distinct_id
    WHERE u.project = $1 AND {held_then("s", "u.day")}
),
people AS (
    SELECT p.distinct_id, p.first_day, latest.day AS last_day
    FROM metrics.users p
    JOIN member_spans s ON s.distinct_id = p.distinct_id
    LEFT JOIN (SELECT distinct_id, max(day) AS day FROM days GROUP BY distinct_id) AS latest
      ON latest.distinct_id = p.distinct_id
    WHERE p.project = $1 AND {held_then("s", "p.first_day")}
)"""
