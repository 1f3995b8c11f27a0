"""Rejections: every event ingest refused, per project, kept for a retention window (7 days by default).

Dead letters of consumers (poison messages, no project) are an operator's concern and are not kept here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from pulse_common import codec, topics
from pulse_common.db import Connection
from pulse_common.events import DeadLetter
from pulse_common.runner import SourceRecord

SAMPLE_BYTES = 2048


def _storable(text: str | None) -> str | None:
    """Postgres text cannot hold NUL: a letter naming a refused value must not stop this consumer."""
    return None if text is None else text.replace("\x00", "\ufffd")


def rejection_rows(letters: Sequence[DeadLetter], *, retained_after: datetime) -> list[tuple[object, ...]]:
    """Rows for the letters of ingest that belong to a project and are still within the retention window."""
    return [
        (
            letter.event_id,
            letter.project,
            letter.failed_at,
            _storable(letter.code),
            _storable(letter.stream),
            _storable(letter.message_id),
            _storable(letter.reason),
            _storable(letter.payload[:SAMPLE_BYTES].decode("utf-8", errors="replace")),
        )
        for letter in letters
        if letter.origin == "ingest" and letter.project is not None and letter.failed_at >= retained_after
    ]


class RejectionsProjection:
    name = "metrics.rejections"

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        topic: str = topics.DEADLETTER,
        retention: timedelta = timedelta(days=7),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.topics = (topic,)
        self._retention = retention
        self._clock = clock
        self._decode: Callable[[bytes], DeadLetter] = codec.decoder_for(DeadLetter)
        self._last_purge = 0.0

    def decode(self, record: SourceRecord) -> DeadLetter:
        return self._decode(record.value)

    async def apply(self, conn: Connection, events: Sequence[DeadLetter]) -> None:
        retained_after = self._clock() - self._retention
        rows = rejection_rows(events, retained_after=retained_after)
        if rows:
            await conn.executemany(
                "INSERT INTO metrics.rejections "
                "(letter_id, project, rejected_at, code, stream, message_id, reason, payload) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (letter_id) DO NOTHING",
                rows,
            )
        if time.monotonic() - self._last_purge > 60:
            await conn.execute("DELETE FROM metrics.rejections WHERE rejected_at < $1", retained_after)
            self._last_purge = time.monotonic()
