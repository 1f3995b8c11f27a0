"""Property tests (hypothesis): events survive the codec whatever their content; a consumer's decoder turns any
bytes into an event or an UndecodableMessage (dead-lettered), never another exception; and an ingest receipt
accounts for every event of a request exactly once, publishing exactly the accepted ones."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from pulse_common import codec, topics
from pulse_common.events import FeedbackResponded, UsageEventRecorded
from pulse_common.telemetry.catalog import IngestMetrics
from pulse_ingest.pipeline import Accepted, IngestPipeline, Outcome
from pulse_ingest.recent import RecentEventIds
from pulse_ingest.rejections import Rejection

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=5)
times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.just(UTC))

usage_events = st.builds(
    UsageEventRecorded,
    event_id=st.uuids(),
    project=st.text(min_size=1, max_size=20),
    received_at=times,
    type=st.sampled_from(["track", "page", "screen", "identify", "group", "alias"]),
    name=st.none() | st.text(max_size=30),
    distinct_id=st.text(min_size=1, max_size=30),
    timestamp=times,
    properties=json_objects,
    traits=json_objects,
    context=json_objects,
)
feedback_events = st.builds(
    FeedbackResponded,
    event_id=st.uuids(),
    project=st.text(min_size=1, max_size=20),
    received_at=times,
    distinct_id=st.text(min_size=1, max_size=30),
    kind=st.sampled_from(["nps", "csat", "ces"]),
    score=st.integers(0, 10),
    comment=st.none() | st.text(max_size=200),
    timestamp=times,
)


@settings(max_examples=200, deadline=None)
@given(event=usage_events | feedback_events)
def test_every_event_survives_the_codec(event: UsageEventRecorded | FeedbackResponded) -> None:
    topic = topics.USAGE if isinstance(event, UsageEventRecorded) else topics.FEEDBACK
    assert codec.topic_decoder(topic)(codec.encode(event)) == event


def deeply_nested(depth: int) -> bytes:
    """An event whose free-form properties nest ``depth`` deep: decoded as Any, they recurse."""
    return b'{"event_type": "usage", "properties": {"x": ' + b"[" * depth + b"]" * depth + b"}}"


@settings(max_examples=300, deadline=None)
@given(
    payload=st.binary(max_size=300) | st.text(max_size=300).map(str.encode) | st.integers(1, 20_000).map(deeply_nested)
)
def test_a_consumers_decoder_turns_any_bytes_into_an_event_or_a_dead_letter(payload: bytes) -> None:
    for topic in (topics.USAGE, topics.SESSIONS, topics.FEEDBACK, topics.DEADLETTER):
        with contextlib.suppress(codec.UndecodableMessage):
            codec.topic_decoder(topic)(payload)


class RecordingPublisher:
    """The publisher's contract (publish and return once acknowledged), in memory: a unit test of accounting."""

    def __init__(self) -> None:
        self.published: dict[str, list[tuple[bytes, bytes]]] = {}

    async def publish_all(self, messages: Mapping[str, Sequence[tuple[bytes, bytes]]]) -> None:
        for topic, items in messages.items():
            self.published.setdefault(topic, []).extend(items)


def outcome(index: int, kind: str, message_id: str | None) -> Outcome:
    if kind == "rejected":
        return Rejection(index, message_id, "invalid_event", "bad")
    event_id = uuid.uuid5(uuid.NAMESPACE_OID, message_id or uuid.uuid4().hex)
    event = UsageEventRecorded(
        event_id=event_id,
        project="p",
        received_at=datetime(2026, 12, 1, tzinfo=UTC),
        type="track",
        name="x" if kind == "ok" else "x\x00",
        distinct_id="u",
        timestamp=datetime(2026, 12, 1, tzinfo=UTC),
    )
    return Accepted.of(index, message_id, event, topics.USAGE, b"p:u", deduplicable=message_id is not None)


@settings(max_examples=200, deadline=None)
@given(
    requests=st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(["ok", "ok", "rejected", "nul"]), st.none() | st.sampled_from(["a", "b", "c", "d"])
            ),
            max_size=12,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_receipt_accounts_for_every_event_once_and_publishes_the_accepted(
    requests: list[list[tuple[str, str | None]]],
) -> None:
    publisher = RecordingPublisher()
    pipeline = IngestPipeline(publisher, RecentEventIds(1000), IngestMetrics.create(CollectorRegistry()))  # type: ignore[arg-type]
    published_before = letters = 0
    seen_ids: set[str] = set()
    for request in requests:
        outcomes = [outcome(i, kind, message_id) for i, (kind, message_id) in enumerate(request)]
        receipt = asyncio.run(pipeline.settle("p", "usage", outcomes, datetime(2026, 12, 1, tzinfo=UTC))).as_json()
        accounted = [r["index"] for r in receipt["rejected"]] + [d["index"] for d in receipt["duplicates"]]
        assert len(accounted) == len(set(accounted))
        assert receipt["accepted"] + len(accounted) == len(request)
        # NUL events are rejected, never published; a messageId seen before (this request or an earlier) is a duplicate.
        for i, (kind, message_id) in enumerate(request):
            if kind != "ok":
                assert i in [r["index"] for r in receipt["rejected"]]
            elif message_id is not None and message_id in seen_ids:
                assert i in [d["index"] for d in receipt["duplicates"]]
            elif message_id is not None:
                seen_ids.add(message_id)
        published = len(publisher.published.get(topics.USAGE, []))
        assert published - published_before == receipt["accepted"]
        published_before = published
        letters += sum(1 for kind, _ in request if kind != "ok")  # every rejection is dead-lettered
        assert len(publisher.published.get(topics.DEADLETTER, [])) == letters
