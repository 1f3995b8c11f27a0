"""Which feature an event uses (product.md §4), one definition for every service that counts feature use.

An event's feature is ``properties.feature`` when present, else — for track calls — its event name, unless the
project maps that event name to a feature (``pulse feature map``; applied to events received from the mapping's
time on, so a rebuild gives the same figures as the live projection). Page and screen views count only when they
carry ``properties.feature``. The map is part of the control plane: both the metrics and the feedback service read
it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pulse_common.db import Connection, Statements
from pulse_common.events import UsageEventRecorded
from pulse_common.projects import ProjectError

MAX_FEATURE_LENGTH = 200


@dataclass(frozen=True)
class FeatureMap:
    """Per (project, event name): the mappings in time order, as (mapped_at, feature)."""

    entries: Mapping[tuple[str, str], Sequence[tuple[datetime, str]]] = field(default_factory=dict)

    def feature_of(self, project: str, event: str, received_at: datetime) -> str | None:
        history = self.entries.get((project, event))
        if not history:
            return None
        position = bisect.bisect_right([mapped_at for mapped_at, _ in history], received_at)
        return history[position - 1][1] if position else None


def feature_of(event: UsageEventRecorded, mapping: FeatureMap) -> str | None:
    explicit = event.properties.get("feature")
    if isinstance(explicit, str) and explicit.strip():
        return explicit.strip()[:MAX_FEATURE_LENGTH]
    if event.type != "track" or not event.name:
        return None
    return mapping.feature_of(event.project, event.name, event.received_at) or event.name[:MAX_FEATURE_LENGTH]


async def load_feature_map(conn: Statements, projects: Iterable[str]) -> FeatureMap:
    rows = await conn.fetch(
        "SELECT project, event, feature, mapped_at FROM control.feature_map WHERE project = ANY($1::text[]) "
        "ORDER BY project, event, mapped_at",
        sorted(set(projects)),
    )
    entries: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
    for r in rows:
        entries.setdefault((r["project"], r["event"]), []).append((r["mapped_at"], r["feature"]))
    return FeatureMap(entries)


async def map_event_to_feature(conn: Connection, project: str, event: str, feature: str) -> datetime:
    """Map ``event`` to ``feature`` for events received from now on; returns the mapping's time."""
    event, feature = event.strip(), feature.strip()
    if not event or not feature:
        raise ProjectError("event and feature must not be empty")
    if len(feature) > MAX_FEATURE_LENGTH:
        raise ProjectError(f"feature: at most {MAX_FEATURE_LENGTH} characters")
    if await conn.fetchval("SELECT 1 FROM control.projects WHERE project = $1", project) is None:
        raise ProjectError(f"project {project!r} does not exist")
    mapped_at: datetime = await conn.fetchval(
        "INSERT INTO control.feature_map (project, event, feature) VALUES ($1, $2, $3) RETURNING mapped_at",
        project,
        event,
        feature,
    )
    return mapped_at
