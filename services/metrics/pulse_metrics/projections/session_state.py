"""How release-health sessions count (product.md §5): per local hour, and for their user's families. What a
session is after each update is ``pulse_common.session_state``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec

from pulse_common.session_state import SessionState

# What a session (or an aggregate) makes of its user in a release and environment: active in its started hour, and
# in the crashed / unhealthy families when it crashed / was not healthy (crash-free and healthy users, §5).
UserKind = Literal["any", "crashed", "unhealthy"]
USER_KINDS: tuple[UserKind, ...] = ("any", "crashed", "unhealthy")


def local_hour(started: datetime, zone: ZoneInfo) -> datetime:
    """The local wall-clock hour a session started in (naive: a DST fall-back hour holds both of its UTC hours)."""
    return started.astimezone(zone).replace(minute=0, second=0, microsecond=0, tzinfo=None)


class Counts(msgspec.Struct, frozen=True, gc=False):  # built several times per session: a Struct is built in C
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
