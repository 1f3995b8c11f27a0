"""A project's mapping of event names to features (``pulse feature map PROJECT EVENT FEATURE``)."""

from __future__ import annotations

from datetime import datetime

from pulse_common.db import Connection
from pulse_common.projects import ProjectError
from pulse_metrics.projections.features import MAX_FEATURE_LENGTH


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
        "INSERT INTO metrics.feature_map (project, event, feature) VALUES ($1, $2, $3) RETURNING mapped_at",
        project,
        event,
        feature,
    )
    return mapped_at
