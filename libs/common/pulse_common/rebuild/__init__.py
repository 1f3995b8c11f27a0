"""``pulse projections rebuild NAME``: replay the log from its beginning into a fresh copy of a projection, then
swap the copy in atomically while the old one keeps serving."""

from pulse_common.rebuild.rebuild import RebuildReport, rebuild_projection
from pulse_common.rebuild.unit import RebuildFailed, RebuildRefused, RebuildUnit

__all__ = ["RebuildFailed", "RebuildRefused", "RebuildReport", "RebuildUnit", "rebuild_projection"]
