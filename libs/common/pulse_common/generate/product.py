"""A product's history, generated: pure and deterministic by seed (the same shape gives the same events, with the
same ids, so generating twice counts once).

The story it tells, day by day over the window:
- users arrive (more of them later), each with a plan, a country and a persona, and come back with power-law
  regularity (a few daily, most now and then), fading slowly; some free users upgrade to pro;
- 50 features: half there from the start, the rest introduced over the window and adopted gradually, each used
  with Zipf popularity and the persona's taste;
- a release every two weeks, adopted within days; one of them (``bad_release``) crashes 16x as often;
- one to three sessions per active day on the user's release, crashed, abnormal or exited, some with errors;
- NPS at most monthly per user, CSAT after a feature is used, CES now and then: scores rise with the features a
  user relies on and drop after crashes, and comments come from the themes of their score class.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pulse_common.events import FeedbackResponded, SessionStatus, SessionUpdated, UsageEventRecorded
from pulse_common.generate import catalog
from pulse_common.identity import event_id_for

Generated = UsageEventRecorded | SessionUpdated | FeedbackResponded
FeedbackKind = Literal["nps", "csat", "ces"]


@dataclass(frozen=True)
class ProductShape:
    project: str
    last_day: date
    users: int = 2_000
    days: int = 90
    seed: int = 1
    release_every_days: int = 14
    bad_release: int = 3  # the fourth release crashes
    environment: str = "production"

    @property
    def first_day(self) -> date:
        return self.last_day - timedelta(days=self.days - 1)

    def releases(self) -> list[str]:
        return [f"app@2.{k}.0" for k in range(math.ceil(self.days / self.release_every_days))]

    def bad_release_name(self) -> str | None:
        names = self.releases()
        return names[self.bad_release] if self.bad_release < len(names) else None


@dataclass
class _User:
    id: str
    arrival: int
    propensity: float
    plan: str
    country: str
    persona: str
    upgrade_day: int | None
    release: int = 0
    last_nps: int = -10_000
    crash_days: list[int] = field(default_factory=list)


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _users(shape: ProductShape, rng: random.Random) -> list[_User]:
    users = []
    for index in range(shape.users):
        # Skewed towards the end of the window: a growing product.
        arrival = min(shape.days - 1, int(shape.days * rng.random() ** 0.7))
        plan = _pick(rng, catalog.PLANS)
        upgrade = arrival + rng.randrange(1, 60) if plan == "free" and rng.random() < 0.08 else None
        users.append(
            _User(
                id=f"user-{index:06d}",
                arrival=arrival,
                propensity=min(0.9, 0.04 * rng.paretovariate(1.2)),
                plan=plan,
                country=_pick(rng, catalog.COUNTRIES),
                persona=_pick(rng, catalog.PERSONAS),
                upgrade_day=upgrade if upgrade is not None and upgrade < shape.days else None,
            )
        )
    return users


def _feature_intro(shape: ProductShape) -> list[int]:
    """The day each feature appears: the first half from the start, the rest spread over the window."""
    half = len(catalog.FEATURES) // 2
    late = len(catalog.FEATURES) - half
    return [0] * half + [int(shape.days * (k + 1) / (late + 1)) for k in range(late)]


class _Day:
    """The events of one day, with deterministic ids."""

    def __init__(self, shape: ProductShape, offset: int) -> None:
        self.shape = shape
        self.offset = offset
        self.start = datetime.combine(shape.first_day + timedelta(days=offset), datetime.min.time(), tzinfo=UTC)
        self.events: list[Generated] = []

    def message_id(self, user: _User, n: int) -> str:
        return f"gen{self.shape.seed}-{user.id}-{self.offset}-{n}"

    def usage(self, user: _User, n: int, at: datetime, kind: str, name: str | None, **fields: Any) -> None:
        message_id = self.message_id(user, n)
        self.events.append(
            UsageEventRecorded(
                event_id=event_id_for(self.shape.project, message_id),
                project=self.shape.project,
                received_at=at,
                type=kind,  # type: ignore[arg-type]
                name=name,
                message_id=message_id,
                user_id=user.id,
                distinct_id=user.id,
                timestamp=at,
                **fields,
            )
        )


def history(shape: ProductShape) -> Iterator[list[Generated]]:
    """The events of each day of the window, in time order within the day."""
    rng = random.Random(shape.seed)  # noqa: S311 - a reproducible data set, not a secret
    users = _users(shape, rng)
    intro = _feature_intro(shape)
    releases = shape.releases()
    weights = [0.6 / (rank + 1) ** 0.6 for rank in range(len(catalog.FEATURES))]
    for offset in range(shape.days):
        day = _Day(shape, offset)
        newest = min(offset // shape.release_every_days, len(releases) - 1)
        for user in users:
            if user.arrival > offset:
                continue
            fading = user.propensity * 0.985 ** (offset - user.arrival)
            if offset != user.arrival and rng.random() >= fading:
                continue
            _active_day(day, user, rng, intro, weights, releases, newest)
        day.events.sort(key=lambda e: e.timestamp)
        yield day.events


def _active_day(
    day: _Day,
    user: _User,
    rng: random.Random,
    intro: list[int],
    weights: list[float],
    releases: list[str],
    newest: int,
) -> None:
    shape, offset = day.shape, day.offset
    at = day.start + timedelta(seconds=rng.uniform(7 * 3600, 20 * 3600))
    n = 0
    if offset == user.arrival or offset == user.upgrade_day:
        if offset == user.upgrade_day:
            user.plan = "pro"
        traits = {"plan": user.plan, "country": user.country, "persona": user.persona}
        day.usage(user, n, at, "identify", None, traits=traits)
        n += 1
    # Releases are taken up within days of shipping (new users start on the newest).
    released_on = newest * shape.release_every_days
    if offset == user.arrival or (
        user.release < newest and rng.random() < 1 - math.exp(-(offset - released_on + 1) / 3)
    ):
        user.release = newest
    crashed_today = _sessions(day, user, rng, at, releases[user.release])
    for _ in range(1 + (rng.random() < 0.5) + (rng.random() < 0.2)):
        day.usage(user, n, at + timedelta(seconds=n * 7), "page", rng.choice(catalog.PAGES))
        n += 1
    used: list[str] = []
    taste = catalog.AFFINITY[user.persona]
    for rank, feature in enumerate(catalog.FEATURES):
        if intro[rank] > offset:
            continue
        ramp = min(1.0, (offset - intro[rank] + 1) / 14)
        if rng.random() < min(0.7, weights[rank] * taste.get(feature.split()[-1], 0.3) * ramp):
            used.append(feature)
            for _ in range(1 + (rng.random() < 0.5) + (rng.random() < 0.2)):
                day.usage(user, n, at + timedelta(seconds=n * 7), "track", feature, properties={"plan": user.plan})
                n += 1
    _feedback(day, user, rng, at + timedelta(minutes=30), used, crashed_today, releases[user.release], n)


def _sessions(day: _Day, user: _User, rng: random.Random, at: datetime, release: str) -> bool:
    """One to three sessions; True when one crashed."""
    bad = release == day.shape.bad_release_name()
    crashed_today = False
    for s in range(1 + (rng.random() < 0.4) + (rng.random() < 0.15)):
        started = at + timedelta(hours=2 * s)
        roll = rng.random()
        status: SessionStatus = (
            "crashed" if roll < (0.08 if bad else 0.005) else "abnormal" if roll > 0.997 else "exited"
        )
        errors = rng.randint(1, 3) if status == "crashed" or rng.random() < 0.04 else 0
        duration = rng.uniform(30, 1800)
        session_id = f"gen{day.shape.seed}-{user.id}-{day.offset}-s{s}"
        for phase, (state, moment) in enumerate((("ok", started), (status, started + timedelta(seconds=duration)))):
            day.events.append(
                SessionUpdated(
                    event_id=event_id_for(day.shape.project, f"{session_id}:{phase}"),
                    project=day.shape.project,
                    received_at=moment,
                    session_id=session_id,
                    distinct_id=user.id,
                    init=phase == 0,
                    started=started,
                    timestamp=moment,
                    status=state,
                    errors=errors if phase else 0,
                    duration_s=round(duration, 1) if phase else None,
                    release=release,
                    environment=day.shape.environment,
                )
            )
        if status == "crashed":
            crashed_today = True
    if crashed_today:
        user.crash_days.append(day.offset)
    return crashed_today


def _feedback(
    day: _Day, user: _User, rng: random.Random, at: datetime, used: list[str], crashed_today: bool, release: str, n: int
) -> None:
    offset = day.offset
    crashed_lately = any(offset - d < 7 for d in user.crash_days)
    answers: list[tuple[FeedbackKind, int, str | None]] = []
    if offset - user.last_nps >= 30 and offset - user.arrival >= 3 and rng.random() < 0.06:
        user.last_nps = offset
        base = (
            7.2
            + min(1.5, 0.25 * len(used))
            + (0.6 if user.plan == "enterprise" else 0)
            - (3.5 if crashed_lately else 0)
        )
        answers.append(("nps", max(0, min(10, round(rng.gauss(base, 1.6)))), None))
    if used and rng.random() < 0.03:
        base = 4.2 - (1.8 if crashed_today else 0)
        answers.append(("csat", max(1, min(5, round(rng.gauss(base, 0.8)))), rng.choice(used)))
    if used and rng.random() < 0.015:
        base = 5.4 - (2.0 if crashed_today else 0)
        answers.append(("ces", max(1, min(7, round(rng.gauss(base, 1.0)))), rng.choice(used)))
    for kind, score, feature in answers:
        message_id = day.message_id(user, n)
        n += 1
        quarter = f"{day.start.year}q{(day.start.month - 1) // 3 + 1}"
        day.events.append(
            FeedbackResponded(
                event_id=event_id_for(day.shape.project, message_id),
                project=day.shape.project,
                received_at=at,
                message_id=message_id,
                distinct_id=user.id,
                user_id=user.id,
                kind=kind,
                score=score,
                comment=_comment(rng, kind, score, used) if rng.random() < 0.45 else None,
                feature=feature,
                release=release,
                channel="in_app" if rng.random() < 0.7 else "email",
                survey=f"{kind}-{quarter}",
                timestamp=at,
            )
        )


def _comment(rng: random.Random, kind: FeedbackKind, score: int, used: list[str]) -> str:
    low, high = {"nps": (6, 9), "csat": (2, 4), "ces": (3, 6)}[kind]
    themes = (
        catalog.DETRACTOR_THEMES
        if score <= low
        else catalog.PROMOTER_THEMES
        if score >= high
        else catalog.PASSIVE_THEMES
    )
    return rng.choice(themes).format(feature=rng.choice(used) if used else "the dashboard")
