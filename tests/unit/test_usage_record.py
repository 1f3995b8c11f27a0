"""UsageRecord, the usage event as ingest writes it, is UsageEventRecorded with the event id as text: the same JSON,
field for field, so consumers decode it as that event."""

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_common import codec, topics
from pulse_common.events import UsageEventRecorded
from pulse_ingest.usage_record import USAGE_SCHEMA_VERSION, UsageRecord
from tests.unit.test_properties import usage_events


def test_the_fields_and_their_order_are_those_of_usage_event_recorded() -> None:
    record, event = msgspec.inspect.type_info(UsageRecord), msgspec.inspect.type_info(UsageEventRecorded)
    assert isinstance(record, msgspec.inspect.StructType)
    assert isinstance(event, msgspec.inspect.StructType)
    assert (record.tag_field, record.tag) == (event.tag_field, event.tag)
    assert [f.name for f in record.fields] == [f.name for f in event.fields]
    # Built by position, every field given: no default of the event's can be missed.
    assert all(f.required for f in record.fields)
    # Every field is encoded, in both, so the event's defaults are written out by ingest as the event would be.
    config, event_config = UsageRecord.__struct_config__, UsageEventRecorded.__struct_config__
    assert config.omit_defaults is event_config.omit_defaults is False
    event_defaults = {f.name: f.default for f in msgspec.structs.fields(UsageEventRecorded)}
    assert event_defaults["schema_version"] == USAGE_SCHEMA_VERSION


@settings(max_examples=300, deadline=None)
@given(event=usage_events, message_id=st.none() | st.text(max_size=20), previous_id=st.none() | st.text(max_size=9))
def test_a_record_encodes_to_the_bytes_of_its_event(
    event: UsageEventRecorded, message_id: str | None, previous_id: str | None
) -> None:
    event = msgspec.structs.replace(event, message_id=message_id, previous_id=previous_id)
    fields = msgspec.structs.asdict(event)
    record = UsageRecord(*{**fields, "event_id": str(event.event_id)}.values())
    assert codec.encode(record) == codec.encode(event)
    assert codec.topic_decoder(topics.USAGE)(codec.encode(record)) == event
