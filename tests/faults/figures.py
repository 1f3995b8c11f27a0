"""What the fault tests read back: the project's events counted today (the daily-event projection), the oracle's
other side."""

from __future__ import annotations

from typing import Any

import httpx

from pulse_common.projects import CreatedProject


async def counted_today(api_url: str, project: CreatedProject, day: str) -> int:
    """Events of the project counted on ``day``; -1 while the API cannot answer (an outage under test)."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        answer = await client.get(
            f"/v1/projects/{project.project}/events/daily",
            params={"from": day, "to": day},
            headers={"Authorization": f"Bearer {project.read_key}"},
        )
    if answer.status_code != 200:
        return -1
    body: Any = answer.json()
    return sum(row["count"] for row in body["series"])
