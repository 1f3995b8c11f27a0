"""A usage event as ingest writes it to its topic.

The same fields, in the same order, as ``pulse_common.events.UsageEventRecorded``, so the JSON is the same and
consumers decode it as that event; only the event id is held as its text. Building a ``uuid.UUID`` per event (and
hashing it for duplicate checks) was a tenth of ingest's time per event. ``tests/unit/test_usage_record.py`` pins
the match, field by field.
"""

from datetime import datetime
from typing import Any

import msgspec

from pulse_common.events import UsageType


class UsageRecord(msgspec.Struct, kw_only=True, frozen=True, tag_field="event_type", tag="usage", gc=False):
    schema_version: int = 1
    event_id: str  # the canonical text of a UUID
    project: str
    received_at: datetime
    type: UsageType
    name: str | None = None
    message_id: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    distinct_id: str
    timestamp: datetime
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]
    integrations: dict[str, Any]
    group_id: str | None = None
    previous_id: str | None = None
