"""Projects' timezones for projections: fixed at a project's creation, so cached for a process's life."""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from pulse_common.db import Statements
from pulse_common.projects import project_timezones


class ProjectZones:
    def __init__(self) -> None:
        self._zones: dict[str, ZoneInfo] = {}

    async def load(self, conn: Statements, projects: Iterable[str]) -> dict[str, ZoneInfo]:
        """The zones of ``projects`` (a project unknown to the control plane is left out)."""
        wanted = set(projects)
        missing = [p for p in wanted if p not in self._zones]
        if missing:
            for project, zone in (await project_timezones(conn, missing)).items():
                self._zones[project] = ZoneInfo(zone)
        return {p: self._zones[p] for p in wanted if p in self._zones}
