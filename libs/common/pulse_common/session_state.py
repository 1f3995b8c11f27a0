"""Release-health sessions (product.md §5, Sentry semantics): what one session is after each update. Shared by
every projection that follows sessions (release health in metrics, crash experience in feedback), so they agree.

A session is deduplicated by its id: the newest update (by its timestamp) wins, except that ``exited``,
``crashed`` and ``abnormal`` are terminal — once a session has one, later updates are ignored, so a retried update
or a second crash report never counts twice. A terminal update arriving late still ends a running session.
``errors`` only grows. A session is *errored* when it is neither crashed nor abnormal and has errors; *healthy*
when it is neither errored, crashed nor abnormal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Literal

import msgspec

from pulse_common.events import SessionUpdated

TERMINAL = frozenset({"exited", "crashed", "abnormal"})
Health = Literal["healthy", "errored", "crashed", "abnormal"]


# A Struct, not a dataclass: one is built per session update, and a frozen dataclass's __init__ sets each field in
# Python (object.__setattr__), several times slower.
class SessionState(msgspec.Struct, frozen=True, gc=False):
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
    after = SessionState(
        release=current.release,
        environment=current.environment,
        distinct_id=current.distinct_id or update.distinct_id,
        started=min(current.started, update.started),
        status=status,
        errors=max(current.errors, update.errors),
        updated_at=max(current.updated_at, update.timestamp),
    )
    return None if after == current else after


def changed_sessions(
    stored: Mapping[tuple[str, str], SessionState], updates: Iterable[SessionUpdated]
) -> dict[tuple[str, str], SessionState]:
    """Per (project, session id): the session after ``updates`` (in log order), for those they changed."""
    current = dict(stored)
    for update in updates:
        key = (update.project, update.session_id)
        after = next_state(current.get(key), update)
        if after is not None:
            current[key] = after
    return {key: state for key, state in current.items() if stored.get(key) != state}
