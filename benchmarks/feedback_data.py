"""The feedback benchmark's data set, deterministic for a seed: a population of users (plan, country, how often
their sessions crash, which features they use), their feedback responses with comments, and the usage and session
events the feedback service reads for segments and experience breakdowns.

Scores lean on who answers: enterprise users, adopters of the first features and users whose sessions rarely crash
score higher; one release (the middle one) is worse. Comments are built from a vocabulary of a few hundred English
words and phrases; detractors over-use some ("crash", "slow", "login", "sync fails"), promoters others ("fast",
"love", "easy export"), so themes and text search find real groups.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from pulse_common.events import FeedbackResponded, SessionUpdated, UsageEventRecorded

FEATURES = [
    "dashboards",
    "reports",
    "export",
    "alerts",
    "sharing",
    "search",
    "calendar",
    "integrations",
    "mobile",
    "api",
]
FEATURE_WEIGHTS = [30, 22, 15, 10, 8, 6, 4, 3, 1.5, 0.5]
RELEASES = 20
BAD_RELEASE = RELEASES // 2  # app@11.0: crashes, and its responses show it
PLANS = (("free", 60), ("pro", 30), ("enterprise", 10))
COUNTRIES = (("us", 30), ("de", 20), ("gb", 12), ("fr", 10), ("in", 8), ("br", 7), ("jp", 5), ("ca", 5), ("es", 3))
CHANNELS = (("in_app", 55), ("email", 25), ("support", 12), ("docs", 8))
SURVEYS = (("relationship-nps", 40), ("onboarding", 20), ("post-support", 15), ("feature-pulse", 15), ("churn", 10))
KINDS = (("nps", 60), ("csat", 25), ("ces", 15))
SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
GOOD_FROM = {"nps": 9, "csat": 4, "ces": 5}
# Base score weights per kind (NPS about +20: 45 % promoters, 25 % detractors).
SCORE_WEIGHTS = {
    "nps": [3.0, 1.5, 2.0, 2.5, 3.0, 5.0, 8.0, 13.0, 17.0, 22.0, 23.0],
    "csat": [5.0, 7.0, 13.0, 35.0, 40.0],
    "ces": [3.0, 5.0, 8.0, 14.0, 22.0, 28.0, 20.0],
}

NEUTRAL_TEXT = (
    "the app is used by our team every day for work and i open it in the morning to check what changed since "
    "yesterday then we go through the dashboard together with my manager and a few colleagues in the weekly meeting "
    "most of the time we look at reports charts numbers tables filters projects tasks customers accounts invoices "
    "orders tickets notes comments files documents folders pages screens menus buttons settings options "
    "notifications emails messages reminders calendar events meetings schedule timeline board list view layout "
    "sidebar header footer tab window browser phone tablet laptop desktop version update release feature tool "
    "product service company platform system workflow process template integration plugin extension connector "
    "import data spreadsheet csv pdf print share link access permission role admin user member guest owner "
    "workspace organisation department client partner vendor support team sales marketing finance engineering "
    "design research product manager developer analyst people customer it has a lot of things and some of them "
    "are useful while others we never touch because nobody on the team knows where they are or what they do "
    "honestly it would help if the onboarding explained more about how the different parts fit together "
    "we also use it on mobile when travelling but mostly on the desktop at the office or from home "
    "overall it does what we need for now although we compared it with two other tools last quarter"
)
NEUTRAL = list(dict.fromkeys(NEUTRAL_TEXT.split()))  # by first appearance: the Zipf rank
BAD = (
    ("crash", 14),
    ("crashes", 6),
    ("it keeps crashing", 4),
    ("crash on startup", 3),
    ("slow", 12),
    ("very slow", 5),
    ("loading is slow", 4),
    ("login", 9),
    ("login fails", 4),
    ("cannot login", 3),
    ("sync fails", 10),
    ("sync fails on mobile", 3),
    ("lost my data", 3),
    ("too expensive", 4),
    ("confusing", 3),
    ("support never replied", 2),
    ("freezes", 3),
    ("bug", 3),
    ("buggy", 2),
    ("error message", 2),
    ("timeout", 2),
    ("broken", 2),
    ("missing features", 2),
    ("hard to find", 2),
    ("annoying popups", 1),
    ("logged out again", 2),
    ("notifications are spam", 1),
    ("charts do not load", 1),
    ("export is broken", 1),
    ("laggy", 1),
    ("unreliable", 1),
    ("frustrating", 1),
    ("waste of time", 1),
    ("price went up", 1),
    ("cluttered", 1),
    ("battery drain", 1),
    ("password reset never arrives", 1),
    ("duplicate entries", 1),
    ("search finds nothing", 1),
    ("layout is messy", 1),
)
GOOD = (
    ("fast", 14),
    ("really fast", 4),
    ("love", 12),
    ("love it", 6),
    ("love the new dashboard", 3),
    ("easy export", 10),
    ("easy to use", 6),
    ("intuitive", 4),
    ("great support", 4),
    ("saves me time", 4),
    ("reliable", 3),
    ("clean design", 3),
    ("works great", 3),
    ("helpful team", 2),
    ("simple", 2),
    ("powerful reports", 2),
    ("nice charts", 2),
    ("best tool", 2),
    ("smooth", 2),
    ("good value", 2),
    ("quick setup", 2),
    ("sharing is easy", 1),
    ("the api is solid", 1),
    ("mobile app is great", 1),
    ("keeps getting better", 1),
    ("recommend it", 2),
    ("everything in one place", 1),
    ("alerts are useful", 1),
    ("stable", 1),
    ("thank you", 1),
)
PASSIVE = (
    ("ok", 5),
    ("fine", 5),
    ("decent", 3),
    ("could be better", 4),
    ("does the job", 3),
    ("missing dark mode", 2),
    ("a bit slow sometimes", 2),
    ("pricing is high", 2),
    ("needs more integrations", 2),
    ("average", 1),
    ("mostly works", 2),
    ("learning curve", 1),
)


def _split(pairs: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    return [p for p, _ in pairs], [w for _, w in pairs]


@dataclass(frozen=True)
class Population:
    """Per user (index = the number in ``user-N``): plan, country, crash-prone or not, features used."""

    plans: list[str]
    countries: list[str]
    crashy: list[bool]
    features: list[tuple[int, ...]]

    @classmethod
    def generate(cls, users: int, seed: int) -> Population:
        rng = random.Random(seed)  # noqa: S311 - a reproducible data set, not a secret
        plans, plan_weights = _split(PLANS)
        countries, country_weights = _split(COUNTRIES)
        return cls(
            plans=rng.choices(plans, weights=plan_weights, k=users),
            countries=rng.choices(countries, weights=country_weights, k=users),
            crashy=[rng.random() < 0.12 for _ in range(users)],
            features=[
                tuple(sorted(set(rng.choices(range(len(FEATURES)), weights=FEATURE_WEIGHTS, k=rng.randrange(0, 5)))))
                for _ in range(users)
            ],
        )


class Comments:
    """Comments: neutral filler (Zipf-weighted) around one or two phrases of the response's side."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.neutral = NEUTRAL
        self.neutral_weights = [1 / (1 + i) ** 0.7 for i in range(len(NEUTRAL))]
        self.sides = {"bad": _split(BAD), "good": _split(GOOD), "neutral": _split(PASSIVE)}

    def make(self, side: str) -> str:
        rng = self.rng
        words = rng.choices(self.neutral, weights=self.neutral_weights, k=rng.randrange(3, 20))
        phrases, weights = self.sides[side]
        for _ in range(1 if rng.random() < 0.7 else 2):
            words.insert(rng.randrange(len(words) + 1), rng.choices(phrases, weights=weights)[0])
        if rng.random() < 0.12:  # "fast but sync fails": the other side shows up too, less often
            other = "good" if side == "bad" else "bad"
            other_phrases, other_weights = self.sides[other]
            words.append(rng.choices(other_phrases, weights=other_weights)[0])
        return " ".join(words)


def _pick(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _score(rng: random.Random, kind: str, lean: float) -> int:
    """A score from the kind's base distribution, shifted by ``lean`` (in units of the scale's tenth)."""
    low, high = SCALES[kind]
    score = low + rng.choices(range(high - low + 1), weights=SCORE_WEIGHTS[kind])[0]
    shift = lean * (high - low) / 10
    if shift and rng.random() < min(1.0, abs(shift)):
        score += 1 if shift > 0 else -1
        if abs(shift) > 1 and rng.random() < abs(shift) - 1:
            score += 1 if shift > 0 else -1
    return max(low, min(high, score))


def release_at(rng: random.Random, progress: float) -> int:
    """The release a user runs at ``progress`` (0..1) of the window: releases take over in turn, with stragglers."""
    return min(RELEASES - 1, max(0, int(progress * RELEASES - rng.random() * 2)))


def responses(
    project: str, count: int, population: Population, days: int, end: datetime, seed: int = 3
) -> Iterator[list[FeedbackResponded]]:
    """``count`` responses over the ``days`` before ``end`` (a little growth over time), from skewed users."""
    rng = random.Random(seed)  # noqa: S311
    comments = Comments(rng)
    users = len(population.plans)
    span = days * 86_400
    kinds, kind_weights = _split(KINDS)
    features: list[str | None] = [*FEATURES, None, None]
    feature_weights = [*FEATURE_WEIGHTS, 12.0, 12.0]
    chunk: list[FeedbackResponded] = []
    for i in range(count):
        progress = 1 - (1 - rng.random()) ** 1.3  # somewhat more answers towards the end
        at = end - timedelta(seconds=(1 - progress) * span)
        u = int(users * rng.random() ** 2)  # skewed: a few users answer a lot
        kind = rng.choices(kinds, weights=kind_weights)[0]
        release = release_at(rng, progress)
        feature = rng.choices(features, weights=feature_weights)[0]
        lean = {"free": -0.3, "pro": 0.2, "enterprise": 0.8}[population.plans[u]]
        lean += -1.5 if population.crashy[u] else 0.2
        lean += 0.6 if 0 in population.features[u] else 0.0
        lean += -2.0 if release == BAD_RELEASE else 0.0
        score = _score(rng, kind, lean)
        side = "good" if score >= GOOD_FROM[kind] else "neutral" if kind == "nps" and score >= 7 else "bad"
        chunk.append(
            FeedbackResponded(
                event_id=uuid.uuid4(),
                project=project,
                received_at=at + timedelta(seconds=rng.randrange(1, 30)),
                message_id=f"r{i}",
                distinct_id=f"user-{u}",
                user_id=f"user-{u}",
                kind=kind,  # type: ignore[arg-type]
                score=score,
                comment=comments.make(side) if rng.random() < 0.6 else None,
                feature=feature,
                release=f"app@{release + 1}.0",
                channel=_pick(rng, CHANNELS),
                survey=_pick(rng, SURVEYS),
                timestamp=at,
            )
        )
        if len(chunk) >= 50_000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def usage(
    project: str, population: Population, days: int, end: datetime, seed: int = 4
) -> Iterator[list[UsageEventRecorded]]:
    """Per user: an identify (plan, country) before the window, for one in twenty a plan change within it, and a
    few feature uses (``properties.feature``) spread over the window."""
    rng = random.Random(seed)  # noqa: S311
    start = end - timedelta(days=days)
    span = days * 86_400
    chunk: list[UsageEventRecorded] = []
    for u, plan in enumerate(population.plans):
        user = f"user-{u}"
        first = start - timedelta(seconds=rng.random() * 30 * 86_400)
        identifies = [(first, {"plan": plan, "country": population.countries[u]})]
        if rng.random() < 0.05:
            changed = start + timedelta(seconds=rng.random() * span)
            identifies.append((changed, {"plan": "pro" if plan == "free" else "enterprise"}))
        for at, traits in identifies:
            chunk.append(
                UsageEventRecorded(
                    event_id=uuid.uuid4(),
                    project=project,
                    received_at=at,
                    type="identify",
                    distinct_id=user,
                    user_id=user,
                    timestamp=at,
                    traits=traits,
                )
            )
        for feature in population.features[u]:
            for _ in range(rng.randrange(1, 3)):
                used = start + timedelta(seconds=rng.random() * span)
                chunk.append(
                    UsageEventRecorded(
                        event_id=uuid.uuid4(),
                        project=project,
                        received_at=used,
                        type="track",
                        name="Feature Used",
                        distinct_id=user,
                        user_id=user,
                        timestamp=used,
                        properties={"feature": FEATURES[feature]},
                    )
                )
        if len(chunk) >= 50_000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def sessions(
    project: str, population: Population, days: int, end: datetime, share: float = 0.3, seed: int = 5
) -> Iterator[list[SessionUpdated]]:
    """For ``share`` of the users, one to three sessions in the window (``init`` then ``exited`` or ``crashed``);
    crash-prone users crash in two sessions out of five, the others in one out of a hundred (more on the bad
    release)."""
    rng = random.Random(seed)  # noqa: S311
    start = end - timedelta(days=days)
    span = days * 86_400
    chunk: list[SessionUpdated] = []
    for u, crashy in enumerate(population.crashy):
        if rng.random() >= share:
            continue
        user = f"user-{u}"
        for s in range(rng.randrange(1, 4)):
            progress = rng.random()
            began = start + timedelta(seconds=progress * span)
            release = release_at(rng, progress)
            crash_rate = 0.4 if crashy else 0.05 if release == BAD_RELEASE else 0.01
            final = "crashed" if rng.random() < crash_rate else "exited"
            ended = began + timedelta(minutes=rng.randrange(1, 40))
            for status, when, init in (("ok", began, True), (final, ended, False)):
                chunk.append(
                    SessionUpdated(
                        event_id=uuid.uuid4(),
                        project=project,
                        received_at=when,
                        session_id=f"s{u}-{s}",
                        distinct_id=user,
                        init=init,
                        started=began,
                        timestamp=when,
                        status=status,  # type: ignore[arg-type]
                        release=f"app@{release + 1}.0",
                    )
                )
        if len(chunk) >= 50_000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
