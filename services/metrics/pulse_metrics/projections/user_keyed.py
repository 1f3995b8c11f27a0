"""The shell shared by the metrics projections of ``pulse.usage.v1`` whose rows are keyed by user: decoding,
projects' timezones, and exact removal of a deleted user (``erasure``). A subclass names its tables and writes
one run of events between deletions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar

import asyncpg

from pulse_common import codec, topics
from pulse_common.db import Connection
from pulse_common.events import UsageStreamEvent
from pulse_common.runner import SourceRecord
from pulse_common.zones import ProjectZones
from pulse_metrics.projections.erasure import apply_in_runs


class UserKeyedUsageProjection(ABC):
    name: ClassVar[str]
    # Where a deleted user's rows are: user_deleted removes them exactly.
    erased_tables: ClassVar[tuple[str, ...]]

    def __init__(self, pool: asyncpg.Pool, *, topic: str = topics.USAGE) -> None:
        self.topics = (topic,)
        self._decode: Callable[[bytes], UsageStreamEvent] = codec.decoder_for(UsageStreamEvent)
        self.zones = ProjectZones()

    def decode(self, record: SourceRecord) -> UsageStreamEvent:
        return self._decode(record.value)

    async def apply(self, conn: Connection, events: Sequence[UsageStreamEvent]) -> None:
        await apply_in_runs(conn, events, self.apply_run, self.erased_tables)

    @abstractmethod
    async def apply_run(self, conn: Connection, events: Sequence[UsageStreamEvent]) -> None:
        """Write the effect of events that hold no deletion."""
