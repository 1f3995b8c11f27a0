"""UsageRecord, the usage event as ingest writes it, is UsageEventRecorded with the event id as text: the same JSON,
field for field, so consumers decode it as that event."""

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_common import codec, topics
from pulse_common.events import UsageEventRecorded
from pulse_ingest.usage_record import UsageRecord
from tests.unit.test_properties import usage_events


def _shape(struct: type[msgspec.Struct]) -> list[tuple[str, Any]]:
    return [(f.name, f.default) for f in msgspec.structs.fields(struct)]


def test_the_fields_defaults_and_order_are_those_of_usage_event_recorded() -> None:
    record, event = msgspec.inspect.type_info(UsageRecord), msgspec.inspect.type_info(UsageEventRecorded)
    assert isinstance(record, msgspec.inspect.StructType)
    assert isinstance(event, msgspec.inspect.StructType)
    assert (record.tag_field, record.tag) == (event.tag_field, event.tag)
    assert [f.name for f in record.fields] == [f.name for f in event.fields]
    # The consumer's event gives its dict fields a default; ingest always sets them.
    dict_fields = {"properties", "traits", "context", "integrations"}
    assert [s for s in _shape(UsageRecord) if s[0] not in dict_fields] == [
        s for s in _shape(UsageEventRecorded) if s[0] not in dict_fields
    ]
    config, event_config = UsageRecord.__struct_config__, UsageEventRecorded.__struct_config__
    assert config.omit_defaults == event_config.omit_defaults


@settings(max_examples=300, deadline=None)
@given(event=usage_events, message_id=st.none() | st.text(max_size=20), previous_id=st.none() | st.text(max_size=9))
def test_a_record_encodes_to_the_bytes_of_its_event(
    event: UsageEventRecorded, message_id: str | None, previous_id: str | None
) -> None:
    event = msgspec.structs.replace(event, message_id=message_id, previous_id=previous_id)
    fields = msgspec.structs.asdict(event)
    record = UsageRecord(**{**fields, "event_id": str(event.event_id)})
    assert codec.encode(record) == codec.encode(event)
    assert codec.topic_decoder(topics.USAGE)(codec.encode(record)) == event
