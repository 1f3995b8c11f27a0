"""Statements sent without waiting for their answer, so a projection's Python work overlaps Postgres executing them.

A consumer's transaction alternates Python (computing changes) and Postgres (writing them), each waiting for the
other; on two cores they can run at once. ``WriteBehind`` sends a write and returns at once; the next statement, or
``settle()``, waits for it first, so statements still run one at a time in the order they were given, as asyncpg
requires of a connection. A read can be sent ahead too (``fetch_soon``) and its rows awaited when needed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from types import TracebackType
from typing import Any, TypeVar

import asyncpg

from pulse_common.db import Statements

T = TypeVar("T")


class WriteBehind:
    """A connection's statements, each sent once the one before it has finished; writes return once sent.

    Use as ``async with WriteBehind(conn) as db``: leaving the block waits for the statement in flight, so nothing is
    left running when the transaction ends. A write's error is raised by the next statement or by ``settle()``.
    """

    def __init__(self, conn: Statements) -> None:
        self._conn = conn
        self._in_flight: asyncio.Future[Any] | None = None

    @property
    def in_flight(self) -> bool:
        """Whether a statement sent by this object has not finished yet."""
        return self._in_flight is not None and not self._in_flight.done()

    async def execute(self, query: str, *args: Any) -> None:
        """Send a write and return; its outcome is known at the next statement or ``settle()``."""
        await self._send(self._conn.execute(query, *args))

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        await self.settle()
        return await self._conn.fetch(query, *args)

    async def fetch_soon(self, query: str, *args: Any) -> asyncio.Future[list[asyncpg.Record]]:
        """Send a read and return; await the returned future for its rows (it is awaited anyway before the next
        statement is sent)."""
        return await self._send(self._conn.fetch(query, *args))

    async def settle(self) -> None:
        """Wait for the statement in flight, raising its error."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            await in_flight

    async def _send(self, statement: Awaitable[T]) -> asyncio.Future[T]:
        await self.settle()
        sent = asyncio.ensure_future(statement)
        self._in_flight = sent
        # One turn of the loop: the task writes the statement to the socket, then waits for Postgres without us.
        await asyncio.sleep(0)
        return sent

    async def __aenter__(self) -> WriteBehind:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if error is None:
            await self.settle()
            return
        # Leaving on an error: the transaction is rolled back next, which needs the connection idle; the error that
        # ended the block is the one to report.
        with contextlib.suppress(Exception):
            await self.settle()
