"""A deterministic usage history for the adoption benchmark: users arriving over the window, power-law activity
(most users come once or twice, a few come most days), 50 features of Zipf popularity, page views, and one
identify per user (plan, country, persona).

``usage_history`` yields events in chunks, in time order within each user, so memory stays flat however
large the set.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pulse_common.events import UsageEventRecorded
from pulse_common.identity import event_id_for

PLANS = ("free", "pro", "enterprise")
COUNTRIES = ("US", "DE", "FR", "GB", "IN", "BR", "JP")
PERSONAS = ("maker", "manager", "viewer")


@dataclass(frozen=True)
class HistoryShape:
    users: int
    events: int
    days: int
    features: int
    last_day: date
    seed: int = 1
    # Prefix of the message ids, so two histories of one project never share an event id.
    label: str = "b"


def active_days_of(rng: random.Random, shape: HistoryShape) -> list[list[int]]:
    """Per user, the day offsets (0 = first day of the window) they are active on."""
    plans: list[list[int]] = []
    for _ in range(shape.users):
        first = rng.randrange(shape.days)
        remaining = shape.days - first
        count = min(remaining, int(rng.paretovariate(1.3)))
        later = rng.sample(range(first + 1, shape.days), count - 1) if count > 1 else []
        plans.append([first, *sorted(later)])
    return plans


def usage_history(project: str, shape: HistoryShape, chunk: int = 50_000) -> Iterator[list[UsageEventRecorded]]:
    rng = random.Random(shape.seed)  # noqa: S311 - a reproducible data set, not a secret
    plans = active_days_of(rng, shape)
    user_days = sum(len(p) for p in plans)
    # Events per active day: one identify per user is part of the budget; the rest spread over user-days.
    per_day = max(1.0, (shape.events - shape.users) / user_days)
    weights = [1 / (rank + 1) for rank in range(shape.features)]
    features = [f"feature-{rank:02d}" for rank in range(shape.features)]
    start = datetime.combine(shape.last_day - timedelta(days=shape.days - 1), datetime.min.time(), tzinfo=UTC)
    received = datetime.combine(shape.last_day, datetime.max.time(), tzinfo=UTC)
    out: list[UsageEventRecorded] = []
    sequence = 0
    budget = shape.events
    for user, days in enumerate(plans):
        if budget <= 0:
            break
        distinct = f"user-{user}"
        first_at = start + timedelta(days=days[0], seconds=rng.randrange(86_000))
        calls = [
            UsageEventRecorded(
                event_id=event_id_for(project, f"{shape.label}{sequence}"),
                project=project,
                received_at=received,
                type="identify",
                message_id=f"{shape.label}{sequence}",
                user_id=distinct,
                distinct_id=distinct,
                timestamp=first_at,
                traits={"plan": rng.choice(PLANS), "country": rng.choice(COUNTRIES), "persona": rng.choice(PERSONAS)},
            )
        ]
        sequence += 1
        for day in days:
            n = 1 + int(rng.expovariate(1 / (per_day - 1)) + 0.5) if per_day > 1 else 1
            picked = rng.choices(features, weights, k=n)
            for feature in picked:
                at = start + timedelta(days=day, seconds=rng.randrange(86_400))
                page = rng.random() < 0.1
                calls.append(
                    UsageEventRecorded(
                        event_id=event_id_for(project, f"{shape.label}{sequence}"),
                        project=project,
                        received_at=received,
                        type="page" if page else "track",
                        name="Home" if page else feature,
                        message_id=f"{shape.label}{sequence}",
                        user_id=distinct,
                        distinct_id=distinct,
                        timestamp=at,
                    )
                )
                sequence += 1
        out.extend(calls[:budget])
        budget -= len(calls)
        if len(out) >= chunk:
            yield out
            out = []
    if out:
        yield out
