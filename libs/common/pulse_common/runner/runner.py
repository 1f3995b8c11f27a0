"""The projection runner: read a batch, dead-letter what can never be processed, and apply the rest with its dedup
claims and next offsets in one Postgres transaction. Offsets live in Postgres; Kafka's commit is advisory.

When Postgres goes away (a killed connection, a restart), the batch under way is applied again once it answers:
its transaction was lost whole. After `database_unreachable_s` of that, or on any other failure of Postgres or of
the broker, ``run()`` ends with the exception, the process exits non-zero, and a restart resumes from the offsets
stored in Postgres.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaError,
    NoOffsetForPartitionError,
    OffsetOutOfRangeError,
)

from pulse_common.codec import UndecodableMessage
from pulse_common.events import DeadLetter
from pulse_common.runner import deadletter, tracking
from pulse_common.runner.projection import E, Projection, SourceRecord
from pulse_common.telemetry.catalog import ConsumerMetrics

log = logging.getLogger(__name__)
T = TypeVar("T")
# A fetched batch: each (topic, partition)'s records, in offset order.
Batch = dict[tuple[str, int], list[SourceRecord]]


# Conflicts with a concurrent transaction, resolved by trying again; anything else ends the runner.
_TRANSIENT_DATABASE_ERRORS = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
_TRANSIENT_ATTEMPTS = 3
# Records decoded between two chances for the transaction under way to go on (~0.5 ms of work here).
_DECODE_SLICE = 256
# How long the advisory Kafka commit after a batch may take before the runner goes on without it.
_ADVISORY_COMMIT_TIMEOUT_S = 5.0
# The database went away (connection killed, server restarting): the transaction is lost whole, so the batch is
# applied again once it answers, until the runner has waited `database_unreachable_s`.
_CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    # A connection killed in the middle of an operation can surface as this protocol-state error.
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
    OSError,
)


class BrokerUnreachable(RuntimeError):
    """No broker answered for longer than the runner tolerates."""


@dataclass(frozen=True)
class BatchResult:
    """What one committed batch did."""

    applied: int
    duplicates: int
    below_stored_offset: int
    dead_lettered: int
    next_offsets: dict[tuple[str, int], int]


@dataclass(frozen=True)
class Fetched(Generic[E]):
    """A fetched batch, decoded ahead of its transaction: each record's event, or why it can never be processed."""

    records: Batch
    decoded: dict[tuple[str, int], list[E | UndecodableMessage]]
    fetched_at: datetime
    seeks: int  # the runner's seek count when the fetch began: a batch fetched across a seek is dropped


@dataclass
class RunnerStats:
    batches: int = 0
    applied: int = 0
    duplicates: int = 0
    below_stored_offset: int = 0
    dead_lettered: int = 0
    logs_restarted: int = 0
    refetched: int = 0  # batches dropped because a seek came while they were fetched, then fetched again
    assignments: list[frozenset[tuple[str, int]]] = field(default_factory=list)


BatchObserver = Callable[[BatchResult], Awaitable[None]]


@dataclass(frozen=True)
class PartitionProgress:
    topic: str
    partition: int
    stored_offset: int
    highwater: int | None
    as_of: datetime | None

    @property
    def lag(self) -> int | None:
        """Records not yet applied; None before the first fetch tells the high-water mark."""
        return None if self.highwater is None else max(0, self.highwater - self.stored_offset)


class _SeekToStoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: "ProjectionRunner[E]") -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Nothing to flush: every applied batch is already committed in Postgres.
        self._runner.forget(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._runner.seek_to_stored_offsets(assigned)


class ProjectionRunner(Generic[E]):
    def __init__(
        self,
        projection: Projection[E],
        *,
        pool: asyncpg.Pool,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        max_records: int = 5000,
        poll_timeout_ms: int = 500,
        caught_up_interval_s: float = 1.0,
        broker_unreachable_s: float = 30.0,
        database_unreachable_s: float = 60.0,
        after_db_commit: BatchObserver | None = None,
        metrics: ConsumerMetrics | None = None,
    ) -> None:
        self.projection = projection
        self.stats = RunnerStats()
        self._metrics = metrics
        # Per assigned partition: the offset stored with the projection's rows and its as_of (None until known).
        self._progress: dict[tuple[str, int], tuple[int, datetime | None]] = {}
        self._pool = pool
        self._consumer = consumer
        self._producer = producer
        self._max_records = max_records
        self._poll_timeout_ms = poll_timeout_ms
        self._caught_up_interval_s = caught_up_interval_s
        self._broker_unreachable_s = broker_unreachable_s
        self._database_unreachable_s = database_unreachable_s
        self._broker_last_seen = time.monotonic()
        self._after_db_commit = after_db_commit
        self._last_caught_up_mark = 0.0
        self._seeks = 0  # how many times partitions were sought to a position since the runner began
        self._ahead: asyncio.Task[Fetched[E]] | None = None  # the next batch, fetched while one is applied

    @property
    def name(self) -> str:
        return self.projection.name

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; the batch under way is finished first.

        While a batch is applied, the next one is fetched and decoded: Python's share of the work overlaps the
        transaction's wait for Postgres. The fetch begins once the batch's claims are on their way, so the
        transaction's first round trips do not wait behind it. A batch fetched across a seek (an assignment, a
        restarted log) is dropped, and every assigned partition is sought to its stored offset again, so no record
        is ever passed over.
        """
        self._consumer.subscribe(list(self.projection.topics), listener=_SeekToStoredOffsets(self))
        try:
            while not stop.is_set():
                fetching, self._ahead = self._ahead or asyncio.create_task(self._fetch()), None
                try:
                    fetched = await fetching
                except OffsetOutOfRangeError as exc:
                    await self._recover_out_of_range(exc.args[0] if exc.args else {})
                    continue
                except NoOffsetForPartitionError as exc:
                    # The fetcher raced our seek on assignment; positions come from Postgres, never from Kafka.
                    unpositioned = {tp for tp in exc.args if isinstance(tp, TopicPartition)}
                    await self.seek_to_stored_offsets(unpositioned or set(self._consumer.assignment()))
                    continue
                await self._restart_shortened_logs(skip=set(fetched.records))
                if fetched.seeks != self._seeks:
                    self.stats.refetched += 1
                    await self._seek_assigned_to_stored()
                    continue
                if fetched.records:
                    self._broker_last_seen = time.monotonic()
                    await self._apply(fetched)
                else:
                    await self._mark_caught_up(fetched.fetched_at)
                    await self._check_broker()
        finally:
            if self._ahead is not None:
                self._ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError, KafkaError):
                    await self._ahead
                self._ahead = None

    def _fetch_ahead(self) -> None:
        """Begin fetching the next batch (once per batch applied; a retried transaction asks again)."""
        if self._ahead is None:
            self._ahead = asyncio.create_task(self._fetch())

    async def _fetch(self) -> "Fetched[E]":
        """The next records of each assigned partition, each decoded (or why it cannot be)."""
        seeks, fetched_at = self._seeks, datetime.now(UTC)
        batches = await self._consumer.getmany(timeout_ms=self._poll_timeout_ms, max_records=self._max_records)
        records: Batch = {}
        decoded: dict[tuple[str, int], list[E | UndecodableMessage]] = {}
        decode = self.projection.decode
        for tp, messages in batches.items():
            if not messages:
                continue
            partition_records = [
                SourceRecord(m.topic, m.partition, m.offset, m.key, m.value, m.timestamp) for m in messages
            ]
            outcomes: list[E | UndecodableMessage] = []
            for record in partition_records:
                try:
                    outcomes.append(decode(record))
                except UndecodableMessage as exc:
                    outcomes.append(exc)
                if len(outcomes) % _DECODE_SLICE == 0:
                    # Let the batch being applied go on as soon as Postgres answers it: that is the overlap.
                    await asyncio.sleep(0)
            records[(tp.topic, tp.partition)] = partition_records
            decoded[(tp.topic, tp.partition)] = outcomes
        return Fetched(records, decoded, fetched_at, seeks)

    async def seek_to_stored_offsets(self, assigned: set[TopicPartition]) -> None:
        stored = await self._seek_to_stored(assigned)
        self.stats.assignments.append(frozenset(stored))
        log.info("%s: assigned %s at stored offsets %s", self.name, sorted(stored), stored)

    async def _seek_assigned_to_stored(self) -> None:
        """After dropping a batch fetched across a seek: fetch every assigned partition from its stored offset."""
        stored = await self._seek_to_stored(set(self._consumer.assignment()))
        log.info("%s: a batch was fetched across a seek; fetching again from stored offsets %s", self.name, stored)

    async def _seek_to_stored(self, partitions: set[TopicPartition]) -> dict[tuple[str, int], int]:
        keys = [(tp.topic, tp.partition) for tp in partitions]
        stored = await self._while_database_away(
            "reading the stored offsets", lambda: tracking.ensure_offsets(self._pool, self.name, keys)
        )
        self._seeks += 1  # before seeking: a fetch under way now is from the old positions
        from_start = []
        for tp in partitions:
            offset = stored.get((tp.topic, tp.partition), 0)
            if offset:
                self._consumer.seek(tp, offset)
            else:  # nothing applied yet: the log's first record, wherever retention has it start
                from_start.append(tp)
            self._progress[(tp.topic, tp.partition)] = (offset, None)
        if from_start:
            await self._consumer.seek_to_beginning(*from_start)
        return {key: stored.get(key, 0) for key in keys}

    async def _apply(self, fetched: "Fetched[E]") -> None:
        for attempt in range(1, _TRANSIENT_ATTEMPTS + 1):
            try:
                await self._while_database_away("applying the batch", lambda: self._apply_once(fetched))
                return
            except _TRANSIENT_DATABASE_ERRORS as exc:
                # The transaction rolled back whole: applying the batch again is safe.
                if attempt == _TRANSIENT_ATTEMPTS:
                    raise
                log.warning("%s: %r; applying the batch again (attempt %d)", self.name, exc, attempt + 1)
                await asyncio.sleep(0.05 * attempt)

    async def _while_database_away(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` (one transaction, or a read) again while Postgres does not answer, up to
        ``database_unreachable_s``: every database step of the runner goes through here."""
        lost_since: float | None = None
        while True:
            try:
                return await operation()
            except _CONNECTION_LOST as exc:
                lost_since = lost_since or time.monotonic()
                waited = time.monotonic() - lost_since
                if waited >= self._database_unreachable_s:
                    raise
                log.warning("%s: the database is unreachable (%r); %s again when it answers", self.name, exc, what)
                await asyncio.sleep(min(2.0, 0.1 + waited / 4))

    async def _apply_once(self, fetched: "Fetched[E]") -> None:
        started = time.perf_counter()
        records = fetched.records
        async with self._pool.acquire() as conn, conn.transaction():
            stored = await tracking.lock_offsets(conn, self.name, records)
            # Records below the stored offset were applied already (a replay, or another consumer got there first).
            fresh: Batch = {}
            events: list[E] = []
            poison: list[tuple[bytes | None, DeadLetter]] = []
            for key, partition_records in records.items():
                start = _first_at(partition_records, stored.get(key, 0))
                if start == len(partition_records):
                    continue
                fresh[key] = partition_records[start:]
                for record, outcome in zip(fresh[key], fetched.decoded[key][start:], strict=True):
                    if not isinstance(outcome, UndecodableMessage):
                        events.append(outcome)
                        continue
                    log.warning(
                        "%s: dead-lettering %s[%d]@%d: %s",
                        self.name,
                        record.topic,
                        record.partition,
                        record.offset,
                        outcome,
                    )
                    poison.append((record.key, deadletter.poison_letter(self.name, record, str(outcome))))
            await deadletter.publish_dead_letters(self._producer, poison)
            claiming = tracking.claim_new_events(conn, self.name, events)
            self._fetch_ahead()  # it runs while Postgres works on the claims
            new_events = await claiming
            await self.projection.apply(conn, new_events)
            next_offsets = _next_offsets(fresh)
            positions = self._positions(fresh, next_offsets, fetched.fetched_at)
            await tracking.advance_offsets(conn, self.name, positions)
        for topic, partition, next_offset, as_of in positions:
            self._note_progress(topic, partition, next_offset, as_of)
        result = BatchResult(
            applied=len(new_events),
            duplicates=len(events) - len(new_events),
            below_stored_offset=sum(map(len, records.values())) - sum(map(len, fresh.values())),
            dead_lettered=len(poison),
            next_offsets=next_offsets,
        )
        self._count(result, time.perf_counter() - started)
        if self._after_db_commit is not None:
            await self._after_db_commit(result)
        await self._commit_advisory(next_offsets)

    def _positions(
        self, records: Batch, next_offsets: dict[tuple[str, int], int], fetched_at: datetime
    ) -> list[tuple[str, int, int, datetime]]:
        """as_of per partition: the fetch time when the partition is now caught up, else the newest applied
        record's timestamp (records of one partition arrive in order)."""
        positions = []
        for (topic, partition), next_offset in next_offsets.items():
            highwater = self._highwater(TopicPartition(topic, partition))
            if highwater is not None and next_offset >= highwater:
                as_of = fetched_at
            else:
                as_of = datetime.fromtimestamp(records[(topic, partition)][-1].timestamp_ms / 1000, UTC)
            positions.append((topic, partition, next_offset, as_of))
        return positions

    async def _commit_advisory(self, next_offsets: dict[tuple[str, int], int]) -> None:
        """Kafka's own commit only feeds lag dashboards: the truth is in Postgres, so a failure here is harmless."""
        if not next_offsets:
            return
        assigned = self._consumer.assignment()
        offsets = {TopicPartition(t, p): o for (t, p), o in next_offsets.items() if TopicPartition(t, p) in assigned}
        if not offsets:
            return
        try:
            # Bounded: aiokafka retries a retriable failure (no coordinator, a topic the broker does not know)
            # forever, which would stall the runner and keep it from ever noticing that the broker is gone.
            await asyncio.wait_for(self._consumer.commit(offsets), _ADVISORY_COMMIT_TIMEOUT_S)
        except (CommitFailedError, IllegalStateError, KafkaError, TimeoutError) as exc:
            log.warning("%s: advisory Kafka commit failed (offsets are safe in Postgres): %r", self.name, exc)

    async def _mark_caught_up(self, fetched_at: datetime) -> None:
        if time.monotonic() - self._last_caught_up_mark < self._caught_up_interval_s:
            return
        caught_up = []
        for tp in self._consumer.assignment():
            highwater = self._highwater(tp)
            position = await self._position(tp) if highwater is not None else None
            if position is not None and highwater is not None and position >= highwater:
                caught_up.append((tp.topic, tp.partition, position))
        if caught_up:
            try:
                await tracking.mark_caught_up(self._pool, self.name, caught_up, fetched_at)
            except _CONNECTION_LOST as exc:  # only as_of is late; the next idle poll marks it
                log.warning("%s: could not mark caught up (%r)", self.name, exc)
                return
            for topic, partition, position in caught_up:
                self._note_progress(topic, partition, position, fetched_at)
        self._last_caught_up_mark = time.monotonic()

    async def _check_broker(self) -> None:
        """The Kafka client retries a lost broker forever and quietly; an idle consumer asks for metadata instead,
        and gives up (raising, so the process exits non-zero) once the broker has been unreachable too long."""
        if time.monotonic() - self._broker_last_seen < self._caught_up_interval_s:
            return
        try:
            await asyncio.wait_for(self._consumer.topics(), self._caught_up_interval_s * 2)
        except (KafkaError, TimeoutError) as exc:
            unreachable_for = time.monotonic() - self._broker_last_seen
            if unreachable_for >= self._broker_unreachable_s:
                raise BrokerUnreachable(
                    f"{self.name}: no broker answered for {unreachable_for:.0f} s ({exc!r})"
                ) from exc
            log.warning("%s: the broker does not answer (%r); retrying", self.name, exc)
            return
        self._broker_last_seen = time.monotonic()

    async def _restart_shortened_logs(self, skip: set[tuple[str, int]]) -> None:
        """A position beyond the fetch high-water mark means the log was replaced by a shorter one (a recreated
        topic, or a broker that lost its data). Start over from the beginning of the new log; event ids already
        claimed still count once."""
        for tp in self._consumer.assignment():
            if (tp.topic, tp.partition) in skip:
                continue
            highwater = self._highwater(tp)
            position = await self._position(tp) if highwater is not None else None
            if position is not None and highwater is not None and position > highwater:
                await self._restart_partition(tp, f"stored offset {position} is beyond the log's end {highwater}")

    async def _recover_out_of_range(self, offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            await self._restart_partition(tp, f"offset {offset} is out of the log's range")

    async def _restart_partition(self, tp: TopicPartition, why: str) -> None:
        log.error(
            "%s: %s[%d]: %s: the log was recreated or lost; consuming it again from its beginning "
            "(already-applied event ids still count once)",
            self.name,
            tp.topic,
            tp.partition,
            why,
        )
        await tracking.restart_partition(self._pool, self.name, tp.topic, tp.partition)
        self._seeks += 1
        await self._consumer.seek_to_beginning(tp)
        self.stats.logs_restarted += 1

    def _count(self, result: BatchResult, seconds: float) -> None:
        self.stats.batches += 1
        self.stats.applied += result.applied
        self.stats.duplicates += result.duplicates
        self.stats.below_stored_offset += result.below_stored_offset
        self.stats.dead_lettered += result.dead_lettered
        if self._metrics is not None:
            self._metrics.applied.labels(self.name).inc(result.applied)
            self._metrics.duplicates.labels(self.name).inc(result.duplicates)
            if result.dead_lettered:
                self._metrics.dead_lettered.labels(self.name, deadletter.UNDECODABLE).inc(result.dead_lettered)
            self._metrics.batch_duration.labels(self.name).observe(seconds)

    # The group rebalances in the background, also while a batch is applied: a partition of the batch, or of the
    # assignment read a moment ago, may have been revoked since (aiokafka asserts on it, or raises).

    def _highwater(self, tp: TopicPartition) -> int | None:
        """The partition's fetch high-water mark; None before its first fetch, or once it is no longer assigned."""
        return self._consumer.highwater(tp) if tp in self._consumer.assignment() else None

    async def _position(self, tp: TopicPartition) -> int | None:
        """The partition's fetch position; None once it is no longer assigned."""
        try:
            position: int = await self._consumer.position(tp)
        except IllegalStateError:
            return None
        return position

    def _note_progress(self, topic: str, partition: int, offset: int, as_of: datetime) -> None:
        """Record an assigned partition's progress; a revoked one is the new owner's to report."""
        if TopicPartition(topic, partition) in self._consumer.assignment():
            self._progress[(topic, partition)] = (offset, as_of)

    def forget(self, revoked: set[TopicPartition]) -> None:
        for tp in revoked:
            self._progress.pop((tp.topic, tp.partition), None)

    def progress(self) -> list[PartitionProgress]:
        """Each assigned partition's stored offset, fetch high-water mark (None until fetched) and as_of."""
        return [
            PartitionProgress(topic, partition, offset, self._highwater(TopicPartition(topic, partition)), as_of)
            for (topic, partition), (offset, as_of) in sorted(self._progress.items())
            if TopicPartition(topic, partition) in self._consumer.assignment()
        ]

    def broker_silent_s(self) -> float:
        """Seconds since the broker last answered this runner."""
        return time.monotonic() - self._broker_last_seen


def _first_at(records: list[SourceRecord], offset: int) -> int:
    """The index of a partition's first record at or after ``offset`` (records arrive in offset order)."""
    if not records or records[0].offset >= offset:
        return 0
    return next((i for i, r in enumerate(records) if r.offset >= offset), len(records))


def _next_offsets(records: Batch) -> dict[tuple[str, int], int]:
    return {key: max(r.offset for r in partition_records) + 1 for key, partition_records in records.items()}
