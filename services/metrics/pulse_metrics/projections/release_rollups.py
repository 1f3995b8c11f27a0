"""Release-health rollups (product.md §5): sessions by health per release, environment and local hour, and the
distinct users of each family (any session, a crashed session, an unhealthy session) as links — each active hour of
a user linked to the local day of their previous active hour, so users over any local dates are a sum (see
``rollups`` for the idea). A user's contribution is recomputed from all their sessions whenever one changes.

Adoption by users counts the users of the last 24 hours, per release and per environment: for those, each active
hour links to the previous active *hour* (``recent_links``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import TypeVar

from pulse_metrics.projections.rollups import NEVER
from pulse_metrics.projections.session_state import USER_KINDS, Counts, UserKind

HourKey = tuple[str, str, str, datetime]  # (project, release, environment, local hour)
UserKey = tuple[str, str, str, str]  # (project, release, environment, distinct id)
EnvironmentUserKey = tuple[str, str, str]  # (project, environment, distinct id)
UserHourKey = tuple[str, str, str, str, datetime]  # (project, release, environment, user, local hour)
# The longest window the recent links count: adoption's last 24 hours (product.md §5).
RECENT_WINDOW = timedelta(hours=24)


def hour_links(hours: Iterable[datetime]) -> list[tuple[datetime, date]]:
    """Each active hour with the local day of the one before it (``NEVER`` for the first)."""
    previous = NEVER
    chain = []
    for hour in sorted(set(hours)):
        chain.append((hour, previous))
        previous = hour.date()
    return chain


def recent_links(hours: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Each active hour with the one before it, or with the hour ``RECENT_WINDOW`` before it when that one is older
    or there is none (fewer distinct rows; as good, being before every window of at most ``RECENT_WINDOW`` that
    holds the hour). A user's first hour in such a window links to before its start and every later one to inside
    it: the window's users are its links to before its start, each user once."""
    previous: datetime | None = None
    chain = []
    for hour in sorted(set(hours)):
        bound = hour - RECENT_WINDOW
        chain.append((hour, previous if previous is not None and previous > bound else bound))
        previous = hour
    return chain


def user_hours(activity: Iterable[tuple[datetime, Counts]]) -> dict[UserKind, set[datetime]]:
    """A user's active hours per family, from (local hour, counts) of each of their sessions and aggregates."""
    hours: dict[UserKind, set[datetime]] = {kind: set() for kind in USER_KINDS}
    for hour, counts in activity:
        for kind in counts.kinds():
            hours[kind].add(hour)
    return hours


L = TypeVar("L")


def changed_links(before: set[L], after: set[L]) -> Iterator[tuple[L, int]]:
    """Each link only before (-1) or only after (+1); links in both cancel out."""
    for link in before - after:
        yield link, -1
    for link in after - before:
        yield link, +1


class ReleaseRollupChanges:
    def __init__(self) -> None:
        # (project, release, environment, local hour) -> changes of sessions, errored, crashed, abnormal
        self.hours: Counter[tuple[str, str, str, datetime, str]] = Counter()
        # (project, release, environment, kind, local hour, previous day) -> users
        self.user_links: Counter[tuple[str, str, str, UserKind, datetime, date]] = Counter()
        # (project, local hour, environment, release, previous hour) -> users (any session)
        self.recent_links: Counter[tuple[str, datetime, str, str, datetime]] = Counter()
        # (project, local hour, environment, previous hour) -> users of the environment (any release)
        self.environment_links: Counter[tuple[str, datetime, str, datetime]] = Counter()

    def add_counts(self, key: HourKey, counts: Counts, sign: int) -> None:
        project, release, environment, hour = key
        hours = self.hours
        if counts.sessions:
            hours[(project, release, environment, hour, "sessions")] += sign * counts.sessions
        if counts.errored:
            hours[(project, release, environment, hour, "errored")] += sign * counts.errored
        if counts.crashed:
            hours[(project, release, environment, hour, "crashed")] += sign * counts.crashed
        if counts.abnormal:
            hours[(project, release, environment, hour, "abnormal")] += sign * counts.abnormal

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
            # Only the links that differ: a user's new hour moves one or two of their links, not all of them.
            links_before, links_after = set(hour_links(before[kind])), set(hour_links(after[kind]))
            for (hour, previous), sign in changed_links(links_before, links_after):
                self.user_links[(project, release, environment, kind, hour, previous)] += sign
            if kind == "any":
                recent_before, recent_after = set(recent_links(before[kind])), set(recent_links(after[kind]))
                for (hour, previous_hour), sign in changed_links(recent_before, recent_after):
                    self.recent_links[(project, hour, environment, release, previous_hour)] += sign

    def change_environment_user(self, user: EnvironmentUserKey, before: set[datetime], after: set[datetime]) -> None:
        """A user's active hours in an environment, over all its releases, before and after."""
        if before == after:
            return
        project, environment, _ = user
        for (hour, previous_hour), sign in changed_links(set(recent_links(before)), set(recent_links(after))):
            self.environment_links[(project, hour, environment, previous_hour)] += sign


def environment_windows(deltas: dict[UserHourKey, Counts]) -> dict[EnvironmentUserKey, tuple[datetime, datetime]]:
    """For each user whose session counts ``deltas`` change: the hours of their environment history the recent links
    of the change depend on, first and last included. A link reaches back at most ``RECENT_WINDOW``, and a change in
    an hour moves only its own link and that of the next active hour within ``RECENT_WINDOW`` after it; so
    ``RECENT_WINDOW`` either side of the changed hours is enough, however long the user's history."""
    windows: dict[EnvironmentUserKey, tuple[datetime, datetime]] = {}
    for (project, _, environment, user_id, hour), delta in deltas.items():
        if delta.sessions:
            user = (project, environment, user_id)
            low, high = windows.get(user, (hour, hour))
            windows[user] = (min(low, hour), max(high, hour))
    return {user: (low - RECENT_WINDOW, high + RECENT_WINDOW) for user, (low, high) in windows.items()}


def environment_changes(
    sessions: dict[EnvironmentUserKey, dict[datetime, int]], deltas: dict[UserHourKey, Counts]
) -> dict[EnvironmentUserKey, tuple[set[datetime], set[datetime]]]:
    """Active hours in their environment, before and after ``deltas``, of each user whose session counts they
    change, from ``sessions``: their sessions per hour over every release of the environment."""
    changes: dict[EnvironmentUserKey, dict[datetime, int]] = {}
    for (project, _, environment, user_id, hour), delta in deltas.items():
        if delta.sessions:
            changed = changes.setdefault((project, environment, user_id), {})
            changed[hour] = changed.get(hour, 0) + delta.sessions
    active: dict[EnvironmentUserKey, tuple[set[datetime], set[datetime]]] = {}
    for user, changed in changes.items():
        counts = sessions.get(user, {})
        before = {hour for hour, n in counts.items() if n > 0}
        after = set(before)
        for hour, delta_sessions in changed.items():
            if counts.get(hour, 0) + delta_sessions > 0:
                after.add(hour)
            else:
                after.discard(hour)
        active[user] = (before, after)
    return active


def environment_hours(hours: dict[UserKey, dict[datetime, Counts]]) -> dict[EnvironmentUserKey, set[datetime]]:
    """Each user's active hours in an environment (a session of any of its releases), from their hours per release."""
    active: dict[EnvironmentUserKey, set[datetime]] = {}
    for (project, _, environment, user_id), counts in hours.items():
        found = active.setdefault((project, environment, user_id), set())
        found.update(hour for hour, c in counts.items() if c.sessions > 0)
    return active
