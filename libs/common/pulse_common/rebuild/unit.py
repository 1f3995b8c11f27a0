"""What can be rebuilt: a unit of projections and the tables they alone write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pulse_common.runner.process import ProjectionFactory


class RebuildRefused(RuntimeError):
    """The rebuild would not give a faithful copy (the log lost events, another rebuild runs...): nothing changed."""


class RebuildFailed(RuntimeError):
    """The rebuild stopped part way; the live projection was not touched."""


@dataclass(frozen=True)
class RebuildUnit:
    """Projections rebuilt together because they write the same tables (``name`` is the unit's; ``also_named``, its
    projections' own names). ``tables`` are schema-qualified and written by these projections only: they are
    replaced whole. ``inputs`` are tables the projections read but do not write (settings), copied into the fresh
    database before the replay; the control schema always is."""

    name: str
    factories: Sequence[ProjectionFactory]
    tables: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    also_named: tuple[str, ...] = ()

    def answers_to(self, name: str) -> bool:
        return name == self.name or name in self.also_named
