"""Release-health rollups (product.md §5): sessions by health per release, environment and local hour, and the
distinct users of each family (any session, a crashed session, an unhealthy session) as links — each active hour of
a user linked to the local day of their previous active hour, so users over any local dates are a sum (see
``rollups`` for the idea). A user's contribution is recomputed from all their sessions whenever one changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime

from pulse_metrics.projections.rollups import NEVER
from pulse_metrics.projections.session_state import USER_KINDS, Counts, UserKind

HourKey = tuple[str, str, str, datetime]  # (project, release, environment, local hour)
UserKey = tuple[str, str, str, str]  # (project, release, environment, distinct id)


def hour_links(hours: Iterable[datetime]) -> list[tuple[datetime, date]]:
    """Each active hour with the local day of the one before it (``NEVER`` for the first)."""
    previous = NEVER
    chain = []
    for hour in sorted(set(hours)):
        chain.append((hour, previous))
        previous = hour.date()
    return chain


def user_hours(activity: Iterable[tuple[datetime, Counts]]) -> dict[UserKind, set[datetime]]:
    """A user's active hours per family, from (local hour, counts) of each of their sessions and aggregates."""
    hours: dict[UserKind, set[datetime]] = {kind: set() for kind in USER_KINDS}
    for hour, counts in activity:
        for kind in counts.kinds():
            hours[kind].add(hour)
    return hours


class ReleaseRollupChanges:
    def __init__(self) -> None:
        # (project, release, environment, local hour) -> changes of sessions, errored, crashed, abnormal
        self.hours: Counter[tuple[str, str, str, datetime, str]] = Counter()
        # (project, release, environment, kind, local hour, previous day) -> users
        self.user_links: Counter[tuple[str, str, str, UserKind, datetime, date]] = Counter()

    def add_counts(self, key: HourKey, counts: Counts, sign: int) -> None:
        project, release, environment, hour = key
        for column in ("sessions", "errored", "crashed", "abnormal"):
            value = getattr(counts, column)
            if value:
                self.hours[(project, release, environment, hour, column)] += sign * value

    def change_user(
        self,
        user: UserKey,
        before: dict[UserKind, set[datetime]],
        after: dict[UserKind, set[datetime]],
    ) -> None:
        project, release, environment, _ = user
        for kind in USER_KINDS:
            if before[kind] == after[kind]:
                continue
            for hours, sign in ((before[kind], -1), (after[kind], +1)):
                for hour, previous in hour_links(hours):
                    self.user_links[(project, release, environment, kind, hour, previous)] += sign
