"""session_state: pins the Sentry session semantics of product.md §5 on hand-built update histories — the newest
update wins, ``errors`` only grows, terminal states are final (a late terminal update still ends a session),
duplicates change nothing — plus health, the user families of ``Counts`` and the naive local hour of a start."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from pulse_common.events import SessionStatus, SessionUpdated
from pulse_common.session_state import Health, SessionState, first_state, next_state
from pulse_metrics.projections.session_state import Counts, UserKind, counts_of, local_hour

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _update(
    minute: int,
    status: SessionStatus = "ok",
    *,
    errors: int = 0,
    distinct_id: str | None = "u-1",
    started: int = 0,
    init: bool = False,
) -> SessionUpdated:
    return SessionUpdated(
        event_id=uuid4(),
        project="acme",
        received_at=_at(minute),
        session_id="s-1",
        distinct_id=distinct_id,
        init=init,
        started=_at(started),
        timestamp=_at(minute),
        status=status,
        errors=errors,
        release="app@1.0",
        environment="production",
    )


def _fold(updates: Sequence[SessionUpdated]) -> tuple[SessionState, int]:
    """The session after all updates, and how many of them changed it."""
    state: SessionState | None = None
    changes = 0
    for update in updates:
        after = next_state(state, update)
        if after is not None:
            state, changes = after, changes + 1
    assert state is not None
    return state, changes


def test_older_ok_update_after_a_newer_one_rolls_nothing_back() -> None:
    state, changes = _fold([_update(10, errors=2), _update(5, errors=1)])
    assert (state.status, state.updated_at, state.errors, changes) == ("ok", _at(10), 2, 1)


def test_errors_only_grow_even_from_an_older_update() -> None:
    state, _ = _fold([_update(10, errors=1), _update(5, errors=3), _update(20, errors=0)])
    assert (state.errors, state.updated_at) == (3, _at(20))


def test_repeated_init_counts_the_session_once() -> None:
    init = _update(0, init=True)
    state, changes = _fold([init, _update(0, init=True), _update(0, init=True)])
    assert state == first_state(init)
    assert changes == 1
    assert counts_of(state) == Counts(sessions=1)


def test_crash_after_exited_is_ignored() -> None:
    state, changes = _fold([_update(0, init=True), _update(5, "exited"), _update(10, "crashed", errors=1)])
    assert (state.status, state.errors, state.updated_at, state.health, changes) == ("exited", 0, _at(5), "healthy", 2)


def test_a_second_crash_report_changes_nothing() -> None:
    state, _ = _fold([_update(0, init=True), _update(5, "crashed", errors=1)])
    assert next_state(state, _update(5, "crashed", errors=1)) is None
    assert next_state(state, _update(9, "crashed", errors=4)) is None
    assert next_state(state, _update(30, "ok", errors=7)) is None


@pytest.mark.parametrize("terminal", ["exited", "crashed", "abnormal"])
def test_late_terminal_update_still_ends_the_session(terminal: SessionStatus) -> None:
    state, changes = _fold([_update(0, init=True), _update(10, errors=1), _update(5, terminal)])
    assert (state.status, state.updated_at, state.errors, changes) == (terminal, _at(10), 1, 3)
    assert next_state(state, _update(20)) is None


@pytest.mark.parametrize(
    ("status", "errors", "health"),
    [
        pytest.param("ok", 0, "healthy", id="ok-clean"),
        pytest.param("ok", 2, "errored", id="ok-errors"),
        pytest.param("exited", 0, "healthy", id="exited-clean"),
        pytest.param("exited", 1, "errored", id="exited-errors"),
        pytest.param("crashed", 0, "crashed", id="crashed-clean"),
        pytest.param("crashed", 3, "crashed", id="crashed-errors"),
        pytest.param("abnormal", 0, "abnormal", id="abnormal-clean"),
        pytest.param("abnormal", 2, "abnormal", id="abnormal-errors"),
    ],
)
def test_health_and_counts(status: SessionStatus, errors: int, health: Health) -> None:
    state, _ = _fold([_update(0, init=True), _update(5, status, errors=errors)])
    assert state.health == health
    assert counts_of(state) == Counts(
        sessions=1,
        errored=int(health == "errored"),
        crashed=int(health == "crashed"),
        abnormal=int(health == "abnormal"),
    )


def test_negative_errors_in_a_first_update_count_as_none() -> None:
    assert first_state(_update(0, errors=-3)).errors == 0


def test_distinct_id_set_by_a_later_update() -> None:
    state, changes = _fold([_update(0, distinct_id=None, init=True), _update(5, distinct_id="u-7")])
    assert (state.distinct_id, changes) == ("u-7", 2)


def test_distinct_id_once_set_is_kept() -> None:
    state, _ = _fold([_update(0, distinct_id="u-1"), _update(5, distinct_id=None), _update(9, distinct_id="u-2")])
    assert state.distinct_id == "u-1"


def test_started_is_the_minimum_seen() -> None:
    state, _ = _fold([_update(10, started=5), _update(11, started=2), _update(12, started=8)])
    assert state.started == _at(2)


@pytest.mark.parametrize(
    ("counts", "kinds"),
    [
        pytest.param(Counts(), (), id="zero"),
        pytest.param(Counts(0, errored=1, crashed=1), (), id="zero-sessions-with-unhealthy"),
        pytest.param(Counts(1), ("any",), id="healthy"),
        pytest.param(Counts(3, errored=1), ("any", "unhealthy"), id="errored"),
        pytest.param(Counts(1, crashed=1), ("any", "crashed", "unhealthy"), id="crashed"),
        pytest.param(Counts(2, abnormal=1), ("any", "unhealthy"), id="abnormal"),
        pytest.param(Counts(5, errored=1, crashed=2, abnormal=1), ("any", "crashed", "unhealthy"), id="mixed"),
    ],
)
def test_counts_kinds(counts: Counts, kinds: tuple[UserKind, ...]) -> None:
    assert counts.kinds() == kinds


NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")


@pytest.mark.parametrize(
    ("started", "zone", "hour"),
    [
        # 2026-11-01: EDT (UTC-4) ends at 06:00 UTC; 01:xx local happens twice.
        pytest.param(datetime(2026, 11, 1, 4, 59, tzinfo=UTC), NEW_YORK, datetime(2026, 11, 1, 0), id="ny-00:59-edt"),
        pytest.param(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), NEW_YORK, datetime(2026, 11, 1, 1), id="ny-01:30-edt"),
        pytest.param(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), NEW_YORK, datetime(2026, 11, 1, 1), id="ny-01:30-est"),
        pytest.param(datetime(2026, 11, 1, 7, 0, tzinfo=UTC), NEW_YORK, datetime(2026, 11, 1, 2), id="ny-02:00-est"),
        # Asia/Kolkata is UTC+05:30: local hours start at hh:30 UTC.
        pytest.param(datetime(2026, 3, 1, 10, 15, tzinfo=UTC), KOLKATA, datetime(2026, 3, 1, 15), id="ist-15:45"),
        pytest.param(datetime(2026, 3, 1, 10, 30, tzinfo=UTC), KOLKATA, datetime(2026, 3, 1, 16), id="ist-16:00"),
        pytest.param(datetime(2026, 3, 1, 18, 29, tzinfo=UTC), KOLKATA, datetime(2026, 3, 1, 23), id="ist-23:59"),
        pytest.param(datetime(2026, 3, 1, 18, 30, tzinfo=UTC), KOLKATA, datetime(2026, 3, 2, 0), id="ist-next-day"),
        pytest.param(
            datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK, fold=1), KOLKATA, datetime(2026, 11, 1, 12), id="aware-input"
        ),
    ],
)
def test_local_hour(started: datetime, zone: ZoneInfo, hour: datetime) -> None:
    result = local_hour(started, zone)
    assert result == hour
    assert result.tzinfo is None
