"""A TCP proxy that injures the connections it carries, for fault tests.

Put between a service and its broker or database, it stands in for the network: it can slow every chunk down
(``latency``), reset every open connection at once as a crashed middlebox would (``reset``), or swallow all traffic
while keeping connections open (``blackhole``), so the clients learn of the outage only through their own timeouts,
which is the failure that connection refusals and process kills never exercise.

A blackhole drops bytes for good. TCP never resumes a stream with a hole in it, so a connection that lost bytes is
reset when the blackhole lifts (what a stateful middlebox that forgot it answers), never resumed: resuming would let
a peer parse the rest of its stream out of step (a Postgres message read from the middle of another).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

_CHUNK = 64 * 1024
_QUEUED_CHUNKS = 64  # per direction: a slow reader slows its writer instead of filling memory
_CONNECT_TIMEOUT_S = 5.0


@dataclass(eq=False)
class _Link:
    """One client connection and its upstream twin."""

    client: asyncio.StreamWriter
    serving: asyncio.Task[Any] | None  # the connection's handler, which close() ends
    upstream: asyncio.StreamWriter | None = None
    lost_bytes: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def _abort(writer: asyncio.StreamWriter | None) -> None:
    """Close with RST, not FIN: SO_LINGER 0, then abort (no flushing of what is buffered)."""
    if writer is None or writer.transport.is_closing():
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream_host:upstream_port``, both directions, with faults on demand.

    Pass-through until told otherwise; the modes switch at runtime and apply to open connections at once.
    """

    def __init__(self, upstream_host: str, upstream_port: int, *, name: str = "proxy") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.name = name
        self.accepted = 0  # connections accepted
        self.resets = 0  # connections reset by reset()
        self.severed = 0  # connections reset when a blackhole lifted, because they had lost bytes in it
        self.dropped_bytes = 0
        self._latency_s = 0.0
        self._blackholed = False
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the proxy first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        return len(self._links)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        handlers = []
        for link in list(self._links):
            self._abort(link)
            if link.serving is not None:
                link.serving.cancel()
                handlers.append(link.serving)
        await asyncio.gather(*handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def latency(self, seconds: float) -> None:
        """Deliver each chunk ``seconds`` after it arrived, each way (a round trip gains twice that; 0: no delay).
        Chunks stay in order."""
        self._latency_s = max(0.0, seconds)

    def reset(self) -> int:
        """Abort every open connection now (the peers on both sides see RST); returns how many. New connections are
        still accepted."""
        links = list(self._links)
        for link in links:
            self._abort(link)
        self.resets += len(links)
        return len(links)

    def blackhole(self, on: bool) -> None:
        """While on: accept and keep connections, forward nothing, drop what arrives. Turning it off resets the
        connections that lost bytes (see the module docstring)."""
        self._blackholed = on
        if not on:
            for link in [link for link in self._links if link.lost_bytes]:
                self._abort(link)
                self.severed += 1

    def pass_through(self) -> None:
        self.latency(0)
        self.blackhole(False)

    def _abort(self, link: _Link) -> None:
        _abort(link.client)
        _abort(link.upstream)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(client_writer, asyncio.current_task())
        self._links.add(link)
        try:
            await self._forward(link, client_reader)
        except asyncio.CancelledError:
            pass  # close() ends the handler; asyncio 3.11 would log a cancelled one as an error
        finally:
            self._links.discard(link)
            for end in (client_writer, link.upstream):
                if end is not None:
                    end.close()

    async def _forward(self, link: _Link, client_reader: asyncio.StreamReader) -> None:
        """Connect upstream, then copy both ways until both directions have ended."""
        client_writer = link.client
        try:
            upstream_reader, upstream_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.upstream), _CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError):
            self._abort(link)  # as a refused connection would look to the client
            return
        link.upstream = upstream_writer
        if client_writer.transport.is_closing():  # reset while connecting upstream
            self._abort(link)
            return
        for reader, writer in ((client_reader, upstream_writer), (upstream_reader, client_writer)):
            queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(_QUEUED_CHUNKS)
            link.tasks.add(asyncio.create_task(self._read(link, reader, queue)))
            link.tasks.add(asyncio.create_task(self._write(link, writer, queue)))
        await asyncio.gather(*link.tasks, return_exceptions=True)

    async def _read(
        self, link: _Link, reader: asyncio.StreamReader, queue: asyncio.Queue[tuple[float, bytes] | None]
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            while chunk := await reader.read(_CHUNK):
                if self._blackholed:
                    link.lost_bytes = True
                    self.dropped_bytes += len(chunk)
                    continue
                await queue.put((loop.time() + self._latency_s, chunk))
        except OSError:
            self._abort(link)  # one side reset: the other side learns it the same way
        finally:
            await queue.put(None)

    async def _write(
        self, link: _Link, writer: asyncio.StreamWriter, queue: asyncio.Queue[tuple[float, bytes] | None]
    ) -> None:
        """Deliver queued chunks when due; once the link is broken, only empty the queue (its reader must not block)."""
        loop = asyncio.get_running_loop()
        due_before = 0.0
        while (item := await queue.get()) is not None:
            due, chunk = item
            # Never earlier than the previous chunk: lowering the latency must not reorder the stream.
            due_before = max(due, due_before)
            if (wait := due_before - loop.time()) > 0 and not writer.transport.is_closing():
                await asyncio.sleep(wait)
            if writer.transport.is_closing():
                continue
            try:
                writer.write(chunk)
                await writer.drain()
            except OSError:
                self._abort(link)
        if writer.can_write_eof() and not writer.transport.is_closing():
            with contextlib.suppress(OSError):
                writer.write_eof()  # a half-close travels on as one
