"""Anonymous-then-identified users (product.md §1): an identify with both ids or an alias links an anonymous id to
a user from the link's event time on; later anonymous-only events count for the user, earlier figures stay."""

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from pulse_common.events import UsageEventRecorded
from pulse_common.topics import message_key, usage_key
from pulse_metrics.projections.identities import KnownLinks, Link, link_of, resolve_identities


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def call(
    kind: str,
    when: datetime,
    *,
    user: str | None = None,
    anonymous: str | None = None,
    previous: str | None = None,
    project: str = "acme",
) -> UsageEventRecorded:
    distinct = user or anonymous
    assert distinct is not None
    return UsageEventRecorded(
        event_id=uuid.uuid4(),
        project=project,
        received_at=when,
        type=kind,  # type: ignore[arg-type]
        name="Opened" if kind == "track" else None,
        user_id=user,
        anonymous_id=anonymous,
        previous_id=previous,
        distinct_id=distinct,
        timestamp=when,
    )


def distinct_ids(events: list[UsageEventRecorded], known: KnownLinks | None = None) -> list[str]:
    resolved, _ = resolve_identities(events, known or KnownLinks())
    return [e.distinct_id for e in resolved if isinstance(e, UsageEventRecorded)]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (call("identify", at(2), user="ana", anonymous="a1"), Link("acme", "a1", at(2), "ana")),
        (call("alias", at(2), user="ana", previous="a1"), Link("acme", "a1", at(2), "ana")),
        (call("alias", at(2), user="ana", anonymous="a9", previous="a1"), Link("acme", "a1", at(2), "ana")),
        (call("identify", at(2), user="ana"), None),  # no anonymous id: nothing to link
        (call("identify", at(2), anonymous="a1"), None),  # no user id
        (call("track", at(2), user="ana", anonymous="a1"), None),  # only identify and alias link
        (call("identify", at(2), user="a1", anonymous="a1"), None),  # the same id
    ],
)
def test_which_calls_link_an_anonymous_id(event: UsageEventRecorded, expected: Link | None) -> None:
    assert link_of(event) == expected


def test_anonymous_events_after_the_link_count_for_the_user_and_earlier_ones_stay() -> None:
    events = [
        call("track", at(1), anonymous="a1"),
        call("identify", at(2), user="ana", anonymous="a1"),
        call("track", at(3), anonymous="a1"),
        call("page", at(3), anonymous="a1"),
        call("track", at(3), anonymous="a2"),  # another visitor, never linked
        call("track", at(3), user="bob", anonymous="a1"),  # a user id always wins
    ]
    assert distinct_ids(events) == ["a1", "ana", "ana", "ana", "a2", "bob"]


def test_a_link_counts_only_for_events_after_it_in_the_log_and_at_or_after_its_time() -> None:
    events = [
        call("track", at(3), anonymous="a1"),  # before the link in the log: not rewritten
        call("identify", at(2), user="ana", anonymous="a1"),
        call("track", at(1), anonymous="a1"),  # after it in the log but dated before it
        call("track", at(2), anonymous="a1"),  # at the link's instant
        call("track", at(4), anonymous="a1"),
    ]
    assert distinct_ids(events) == ["a1", "ana", "a1", "ana", "ana"]


def test_the_latest_link_at_the_event_time_wins() -> None:
    events = [
        call("identify", at(2), user="ana", anonymous="a1"),
        call("alias", at(5), user="bea", previous="a1"),  # a shared device: another user later
        call("track", at(3), anonymous="a1"),
        call("track", at(6), anonymous="a1"),
    ]
    assert distinct_ids(events)[2:] == ["ana", "bea"]


def test_stored_links_apply_and_are_kept_per_project() -> None:
    known = KnownLinks()
    known.add(Link("acme", "a1", at(1), "ana"))
    events = [call("track", at(2), anonymous="a1"), call("track", at(2), anonymous="a1", project="globex")]
    assert distinct_ids(events, known) == ["ana", "a1"]


def test_resolution_reports_the_links_made_and_keeps_other_fields() -> None:
    track = msgspec.structs.replace(call("track", at(3), anonymous="a1"), properties={"feature": "export"})
    resolved, made = resolve_identities([call("identify", at(2), user="ana", anonymous="a1"), track], KnownLinks())
    assert made == [Link("acme", "a1", at(2), "ana")]
    assert resolved[1] == msgspec.structs.replace(track, distinct_id="ana")


def test_a_link_and_the_anonymous_events_after_it_share_a_partition_key() -> None:
    identify = call("identify", at(2), user="ana", anonymous="a1")
    alias = call("alias", at(2), user="ana", previous="a1")
    later = call("track", at(3), anonymous="a1")
    keys = {usage_key(e.project, e.distinct_id, e.anonymous_id, e.previous_id) for e in (identify, alias, later)}
    assert keys == {message_key("acme", "a1")}
    assert usage_key("acme", "ana", None) == message_key("acme", "ana")
