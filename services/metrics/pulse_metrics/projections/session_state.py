"""Release-health sessions (product.md §5, Sentry semantics): what one session is after each update, and how it
counts.

A session is deduplicated by its id: the newest update (by its timestamp) wins, except that ``exited``,
``crashed`` and ``abnormal`` are terminal — once a session has one, later updates are ignored, so a retried update
or a second crash report never counts twice. A terminal update arriving late still ends a running session.
``errors`` only grows. A session is *errored* when it is neither crashed nor abnormal and has errors; *healthy*
when it is neither errored, crashed nor abnormal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pulse_common.events import SessionUpdated

TERMINAL = frozenset({"exited", "crashed", "abnormal"})
Health = Literal["healthy", "errored", "crashed", "abnormal"]


@dataclass(frozen=True, slots=True)
class SessionState:
    release: str
    environment: str
    distinct_id: str | None
    started: datetime
    status: str
    errors: int
    updated_at: datetime

    @property
    def health(self) -> Health:
        if self.status == "crashed":
            return "crashed"
        if self.status == "abnormal":
            return "abnormal"
        return "errored" if self.errors > 0 else "healthy"


def first_state(update: SessionUpdated) -> SessionState:
    return SessionState(
        release=update.release,
        environment=update.environment,
        distinct_id=update.distinct_id,
        started=update.started,
        status=update.status,
        errors=max(0, update.errors),
        updated_at=update.timestamp,
    )


def next_state(current: SessionState | None, update: SessionUpdated) -> SessionState | None:
    """The session after ``update``; None when the update changes nothing."""
    if current is None:
        return first_state(update)
    if current.status in TERMINAL:
        return None
    newer = update.timestamp >= current.updated_at
    status = update.status if (update.status in TERMINAL or newer) else current.status
    after = replace(
        current,
        distinct_id=current.distinct_id or update.distinct_id,
        started=min(current.started, update.started),
        status=status,
        errors=max(current.errors, update.errors),
        updated_at=max(current.updated_at, update.timestamp),
    )
    return None if after == current else after


# What a session (or an aggregate) makes of its user in a release and environment: active in its started hour, and
# in the crashed / unhealthy families when it crashed / was not healthy (crash-free and healthy users, §5).
UserKind = Literal["any", "crashed", "unhealthy"]
USER_KINDS: tuple[UserKind, ...] = ("any", "crashed", "unhealthy")


def local_hour(started: datetime, zone: ZoneInfo) -> datetime:
    """The local wall-clock hour a session started in (naive: a DST fall-back hour holds both of its UTC hours)."""
    return started.astimezone(zone).replace(minute=0, second=0, microsecond=0, tzinfo=None)


@dataclass(frozen=True, slots=True)
class Counts:
    """Sessions by health: ``sessions`` counts all of them; the others their unhealthy share."""

    sessions: int = 0
    errored: int = 0
    crashed: int = 0
    abnormal: int = 0

    def plus(self, other: Counts) -> Counts:
        return Counts(
            self.sessions + other.sessions,
            self.errored + other.errored,
            self.crashed + other.crashed,
            self.abnormal + other.abnormal,
        )

    def times(self, factor: int) -> Counts:
        return Counts(self.sessions * factor, self.errored * factor, self.crashed * factor, self.abnormal * factor)

    def kinds(self) -> tuple[UserKind, ...]:
        """The user families these sessions put their user in."""
        if self.sessions <= 0:
            return ()
        kinds: list[UserKind] = ["any"]
        if self.crashed > 0:
            kinds.append("crashed")
        if self.errored + self.crashed + self.abnormal > 0:
            kinds.append("unhealthy")
        return tuple(kinds)


def counts_of(state: SessionState) -> Counts:
    health = state.health
    return Counts(1, int(health == "errored"), int(health == "crashed"), int(health == "abnormal"))
