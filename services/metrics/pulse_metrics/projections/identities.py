"""Anonymous ids linked to users (product.md §1): an ``identify`` carrying both ids, or an ``alias`` (its previous
id), links the anonymous id to the user from the link's event time on. A later event sent with only that anonymous
id counts for the user; earlier figures are not rewritten.

Ingest keys usage events by their anonymous id when they carry one (``topics.usage_key``), so a link and the
anonymous events after it share a partition: they are applied in log order, the same live and in a rebuild.
``resolve_identities`` is the pure part; ``IdentityLinks`` reads and writes the links.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from pulse_common.array_params import text_array
from pulse_common.db import Statements
from pulse_common.events import UsageEventRecorded, UsageStreamEvent

AnonymousKey = tuple[str, str]  # (project, anonymous id)


@dataclass(frozen=True, order=True)
class Link:
    project: str
    anonymous_id: str
    linked_at: datetime
    user_id: str


def link_of(event: UsageStreamEvent) -> Link | None:
    """The link an event makes, if any."""
    if not isinstance(event, UsageEventRecorded) or event.user_id is None:
        return None
    if event.type == "identify":
        anonymous = event.anonymous_id
    elif event.type == "alias":
        anonymous = event.previous_id or event.anonymous_id
    else:
        return None
    if anonymous is None or anonymous == event.user_id:
        return None
    return Link(event.project, anonymous, event.timestamp, event.user_id)


def anonymous_key(event: UsageStreamEvent) -> AnonymousKey | None:
    """(project, anonymous id) of an event sent with an anonymous id and no user id."""
    if isinstance(event, UsageEventRecorded) and event.user_id is None and event.anonymous_id is not None:
        return (event.project, event.anonymous_id)
    return None


@dataclass
class KnownLinks:
    """Per anonymous id, its links in time order."""

    by_anonymous: dict[AnonymousKey, list[tuple[datetime, str]]] = field(default_factory=dict)

    def add(self, link: Link) -> None:
        """Record a link; a later link made at the same instant replaces the earlier one."""
        history = self.by_anonymous.setdefault((link.project, link.anonymous_id), [])
        history[:] = [entry for entry in history if entry[0] != link.linked_at]
        bisect.insort(history, (link.linked_at, link.user_id))

    def user_at(self, key: AnonymousKey, when: datetime) -> str | None:
        """The user the anonymous id was linked to at ``when`` (the latest link made at or before it)."""
        history = self.by_anonymous.get(key)
        if not history:
            return None
        position = bisect.bisect_right([at for at, _ in history], when)
        return history[position - 1][1] if position else None


def resolve_identities(
    events: Iterable[UsageStreamEvent], known: KnownLinks
) -> tuple[list[UsageStreamEvent], list[Link]]:
    """The events with anonymous-only ones attributed to their linked user, and the links they made, in log order:
    a link counts for the events after it in the log, never for those before it."""
    resolved: list[UsageStreamEvent] = []
    made: list[Link] = []
    for event in events:
        link = link_of(event)
        if link is not None:
            known.add(link)
            made.append(link)
        key = anonymous_key(event)
        if key is not None and isinstance(event, UsageEventRecorded):
            user = known.user_at(key, event.timestamp)
            if user is not None:
                event = msgspec.structs.replace(event, distinct_id=user)
        resolved.append(event)
    return resolved, made


async def load_links(conn: Statements, events: Sequence[UsageStreamEvent]) -> KnownLinks:
    """The stored links of the anonymous ids these events may need."""
    keys = sorted({key for key in map(anonymous_key, events) if key is not None})
    known = KnownLinks()
    if not keys:
        return known
    rows = await conn.fetch(
        """
        SELECT k.project, k.anonymous_id, l.linked_at, l.user_id
        FROM unnest($1::text::text[], $2::text::text[]) AS k(project, anonymous_id)
        CROSS JOIN LATERAL (
            SELECT l.linked_at, l.user_id FROM metrics.identity_links l
            WHERE l.project = k.project AND l.anonymous_id = k.anonymous_id
            OFFSET 0
        ) l
        """,
        text_array([k[0] for k in keys]),
        text_array([k[1] for k in keys]),
    )
    for row in rows:
        known.add(Link(row["project"], row["anonymous_id"], row["linked_at"], row["user_id"]))
    return known


async def write_links(conn: Statements, links: Sequence[Link]) -> None:
    if not links:
        return
    # The last link per (anonymous id, instant) in log order, as ``KnownLinks.add`` keeps it.
    latest = {(link.project, link.anonymous_id, link.linked_at): link for link in links}
    ordered = [latest[key] for key in sorted(latest)]
    await conn.execute(
        """
        INSERT INTO metrics.identity_links (project, anonymous_id, linked_at, user_id)
        SELECT * FROM unnest($1::text::text[], $2::text::text[], $3::timestamptz[], $4::text::text[])
        ON CONFLICT (project, anonymous_id, linked_at) DO UPDATE SET user_id = excluded.user_id
        """,
        text_array([link.project for link in ordered]),
        text_array([link.anonymous_id for link in ordered]),
        [link.linked_at for link in ordered],
        text_array([link.user_id for link in ordered]),
    )
