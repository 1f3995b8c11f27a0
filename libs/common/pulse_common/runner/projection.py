"""What a projection gives the runner: a name, its topics, a decoder and a writer of row operations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar
from uuid import UUID

import msgspec

from pulse_common.db import Connection


class SourceRecord(msgspec.Struct, frozen=True, gc=False):  # one per record: built in C
    """A Kafka record as the runner hands it on: where it came from and its bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int


class IdentifiedEvent(Protocol):
    @property
    def event_id(self) -> UUID: ...


E = TypeVar("E", bound=IdentifiedEvent)


class Projection(Protocol[E]):
    """A projection of some topics into Postgres.

    ``name`` namespaces the dedup claims and stored offsets: two projections never share them, and a projection
    keeps its name for life (renaming it means rebuilding it).
    """

    @property
    def name(self) -> str: ...

    @property
    def topics(self) -> Sequence[str]: ...

    def decode(self, record: SourceRecord) -> E:
        """The event in ``record``; raise ``UndecodableMessage`` when it can never be processed."""
        ...

    async def apply(self, conn: Connection, events: Sequence[E]) -> None:
        """Write the effect of ``events`` (each new to this projection) inside the caller's transaction."""
        ...
