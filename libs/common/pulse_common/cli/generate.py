"""``pulse generate PROJECT``: a realistic product history (pulse_common.generate) into a project, written to the
topics (any window) or sent through the ingest API (recent days)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from pulse_common.events import FeedbackResponded, SessionUpdated
from pulse_common.generate.product import Generated, ProductShape, history
from pulse_common.generate.publish import publish
from pulse_common.generate.through_ingest import send_through_ingest
from pulse_common.projects import ProjectError
from pulse_common.settings import CommonSettings


def _counted(days: Iterable[list[Generated]], kinds: Counter[str]) -> Iterator[list[Generated]]:
    for events in days:
        for event in events:
            if isinstance(event, FeedbackResponded):
                kinds[f"feedback:{event.kind}"] += 1
            elif isinstance(event, SessionUpdated):
                kinds["session_updates"] += 1
            else:
                kinds[f"usage:{event.type}"] += 1
        yield events


async def generate(
    settings: CommonSettings,
    project: str,
    *,
    days: int,
    users: int,
    seed: int,
    last_day: date | None,
    to: str,
    ingest_url: str,
    write_key: str | None,
) -> dict[str, Any]:
    shape = ProductShape(
        project=project, last_day=last_day or datetime.now(UTC).date(), users=users, days=days, seed=seed
    )
    kinds: Counter[str] = Counter()
    summary: dict[str, Any] = {
        "project": project,
        "from": shape.first_day.isoformat(),
        "to": shape.last_day.isoformat(),
        "users": users,
        "seed": seed,
        "releases": shape.releases(),
        "bad_release": shape.bad_release_name(),
    }
    if to == "ingest":
        if not write_key:
            raise ProjectError("--to ingest needs the project's --write-key")
        summary["receipts"] = await send_through_ingest(ingest_url, write_key, _counted(history(shape), kinds))
    else:
        conn = await asyncpg.connect(settings.dsn)
        try:
            if not await conn.fetchval("SELECT 1 FROM control.projects WHERE project = $1", project):
                raise ProjectError(f"no project {project!r}: create it first (pulse project create)")
        finally:
            await conn.close()
        summary["published"] = await publish(settings, _counted(history(shape), kinds))
    summary["events"] = dict(sorted(kinds.items()))
    return summary
