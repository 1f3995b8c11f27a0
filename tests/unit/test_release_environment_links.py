"""The environment's recent user links of a batch, from the user's sessions per hour within ``environment_windows``
only, equal those from the user's whole history: the consumer reads a bounded slice however long the history."""

from collections import Counter
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_metrics.projections.release_rollups import (
    ReleaseRollupChanges,
    UserHourKey,
    environment_changes,
    environment_windows,
)
from pulse_metrics.projections.session_state import Counts

ORIGIN = datetime(2026, 3, 1)
USER = ("acme", "production", "u1")


def _links(sessions: dict[datetime, int], deltas: dict[UserHourKey, Counts]) -> Counter[object]:
    changes = ReleaseRollupChanges()
    for user, (before, after) in environment_changes({USER: sessions}, deltas).items():
        changes.change_environment_user(user, before, after)
    return Counter({key: n for key, n in changes.environment_links.items() if n})


@settings(max_examples=300, deadline=None)
@given(
    history=st.dictionaries(st.integers(0, 24 * 12), st.integers(0, 3), max_size=40),
    changes=st.dictionaries(
        st.tuples(st.sampled_from(["app@1", "app@2"]), st.integers(0, 24 * 12)), st.integers(-3, 3), max_size=6
    ),
)
def test_links_from_the_window_equal_links_from_the_whole_history(
    history: dict[int, int], changes: dict[tuple[str, int], int]
) -> None:
    sessions = {ORIGIN + timedelta(hours=h): n for h, n in history.items()}
    # Removals never take an hour below zero sessions (a session only leaves an hour it was counted in).
    deltas: dict[UserHourKey, Counts] = {}
    for (release, h), change in changes.items():
        hour = ORIGIN + timedelta(hours=h)
        change = max(change, -sessions.get(hour, 0) - sum(d.sessions for k, d in deltas.items() if k[4] == hour))
        deltas[("acme", release, "production", "u1", hour)] = Counts(sessions=change)
    windows = environment_windows(deltas)
    if not windows:
        assert _links(sessions, deltas) == Counter()
        return
    low, high = windows[USER]
    windowed = {hour: n for hour, n in sessions.items() if low <= hour <= high}
    assert _links(windowed, deltas) == _links(sessions, deltas)
