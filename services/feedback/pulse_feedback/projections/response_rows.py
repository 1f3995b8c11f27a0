"""What one feedback response becomes (product.md §6), pure: its stored row and the score-day rollup keys it adds
to. Every response counts (no dedup by user); a repeated messageId has one event id, which the runner claims once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from pulse_common.events import FeedbackResponded, FeedbackStreamEvent, UserDeleted
from pulse_common.periods import local_midnight
from pulse_feedback.scores import GOOD_FROM, NPS_PASSIVE_FROM, Kind

# The dimensions a score is rolled up by besides the total ('' with value ''); value '' means "none given".
DIMENSIONS = ("feature", "release", "channel", "survey")
TOTAL = ""
# Trait values are rolled up cut to this many characters (feedback.context_groups); a longer segment value is
# matched against the responses themselves.
MAX_GROUP_VALUE = 200
# (project, kind, dimension, value, local day, score)
ScoreDayKey = tuple[str, str, str, str, date, int]
UserKey = tuple[str, str]  # (project, distinct id)


def side_of(kind: Kind, score: int) -> str:
    """bad (detractor / unsatisfied / disagree), neutral (NPS passive) or good: the sides themes compare."""
    if score >= GOOD_FROM[kind]:
        return "good"
    if kind == "nps" and score >= NPS_PASSIVE_FROM:
        return "neutral"
    return "bad"


@dataclass(frozen=True, slots=True)
class ResponseRow:
    project: str
    response_id: UUID
    kind: Kind
    score: int
    side: str
    responded_at: datetime
    day: date
    day_end: datetime
    distinct_id: str
    user_id: str | None
    anonymous_id: str | None
    comment: str | None
    feature: str | None
    release: str | None
    channel: str | None
    survey: str | None
    properties: str  # JSON
    received_at: datetime

    def dimension_values(self) -> tuple[tuple[str, str], ...]:
        return dimension_values(self.feature, self.release, self.channel, self.survey)


def dimension_values(
    feature: str | None, release: str | None, channel: str | None, survey: str | None
) -> tuple[tuple[str, str], ...]:
    """The (dimension, value) rollup groups a response counts in: the total, and its feature, release, channel and
    survey ('' when it gave none)."""
    return (
        (TOTAL, TOTAL),
        ("feature", feature or ""),
        ("release", release or ""),
        ("channel", channel or ""),
        ("survey", survey or ""),
    )


def response_row(event: FeedbackResponded, zone: ZoneInfo) -> ResponseRow:
    day = event.timestamp.astimezone(zone).date()
    comment = event.comment.strip() if event.comment else None
    return ResponseRow(
        project=event.project,
        response_id=event.event_id,
        kind=event.kind,
        score=event.score,
        side=side_of(event.kind, event.score),
        responded_at=event.timestamp,
        day=day,
        day_end=local_midnight(day + timedelta(days=1), zone),
        distinct_id=event.distinct_id,
        user_id=event.user_id,
        anonymous_id=event.anonymous_id,
        comment=comment or None,
        feature=event.feature,
        release=event.release,
        channel=event.channel,
        survey=event.survey,
        properties=msgspec.json.encode(event.properties).decode(),
        received_at=event.received_at,
    )


def score_day_changes(
    rows: Iterable[tuple[str, str, date, int, tuple[tuple[str, str], ...]]], sign: int
) -> Counter[ScoreDayKey]:
    """Rollup changes of responses given as (project, kind, day, score, dimension values): +1 each, or -1 each when
    erasing them."""
    changes: Counter[ScoreDayKey] = Counter()
    for project, kind, day, score, dimensions in rows:
        for dimension, value in dimensions:
            changes[(project, kind, dimension, value, day, score)] += sign
    return changes


def surviving_responses(events: Sequence[FeedbackStreamEvent]) -> tuple[list[FeedbackResponded], list[UserKey]]:
    """The responses of a batch that outlive it, and the users erased in it: a response followed in the same
    batch by its user's deletion is erased with them; one sent after the deletion stays."""
    last_deletion: dict[UserKey, int] = {}
    for position, event in enumerate(events):
        if isinstance(event, UserDeleted):
            last_deletion[(event.project, event.distinct_id)] = position
    kept = [
        event
        for position, event in enumerate(events)
        if isinstance(event, FeedbackResponded) and last_deletion.get((event.project, event.distinct_id), -1) < position
    ]
    return kept, sorted(last_deletion)
