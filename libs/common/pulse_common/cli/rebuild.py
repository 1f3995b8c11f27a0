"""``pulse projections list`` and ``pulse projections rebuild NAME``."""

from __future__ import annotations

import dataclasses
from typing import Any

from pulse_common.rebuild import RebuildRefused, RebuildUnit, rebuild_projection
from pulse_common.settings import CommonSettings


def rebuild_units() -> list[RebuildUnit]:
    """Every service's rebuildable projections (imported here: the services depend on this library, not back)."""
    from pulse_feedback.rebuild_units import rebuild_units as feedback_units
    from pulse_feedback.settings import FeedbackSettings
    from pulse_metrics.rebuild_units import rebuild_units as metrics_units
    from pulse_metrics.settings import MetricsSettings

    return metrics_units(MetricsSettings()) + feedback_units(FeedbackSettings())


def listing() -> list[dict[str, Any]]:
    return [
        {"name": u.name, "also_named": list(u.also_named), "tables": list(u.tables), "inputs": list(u.inputs)}
        for u in rebuild_units()
    ]


def unit_named(name: str) -> RebuildUnit:
    units = rebuild_units()
    for unit in units:
        if unit.answers_to(name):
            return unit
    known = ", ".join(n for u in units for n in (u.name, *u.also_named))
    raise RebuildRefused(f"no projection is named {name!r}; known: {known}")


async def rebuild(settings: CommonSettings, name: str) -> dict[str, Any]:
    report = await rebuild_projection(settings, unit_named(name))
    return dataclasses.asdict(report)
