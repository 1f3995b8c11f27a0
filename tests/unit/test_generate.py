"""The product generator: deterministic by seed, and the story it is meant to tell holds in what it generates."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from functools import cache

from pulse_common.events import FeedbackResponded, SessionUpdated, UsageEventRecorded
from pulse_common.generate import catalog
from pulse_common.generate.product import Generated, ProductShape, history

SHAPE = ProductShape(project="acme", last_day=date(2026, 11, 30), users=1500, days=70, seed=3)


@cache
def generated(shape: ProductShape = SHAPE) -> tuple[Generated, ...]:
    return tuple(e for day in history(shape) for e in day)


def test_the_same_seed_gives_the_same_events_and_another_seed_others() -> None:
    small = ProductShape(project="acme", last_day=date(2026, 11, 30), users=60, days=20, seed=9)
    assert [e for d in history(small) for e in d] == [e for d in history(small) for e in d]
    other = ProductShape(project="acme", last_day=date(2026, 11, 30), users=60, days=20, seed=10)
    assert {e.event_id for d in history(small) for e in d}.isdisjoint({e.event_id for d in history(other) for e in d})


def test_every_event_is_of_the_project_and_inside_the_window() -> None:
    first = SHAPE.first_day
    for event in generated():
        assert event.project == "acme"
        assert first <= event.timestamp.date() <= SHAPE.last_day + timedelta(days=1)  # a session may end past midnight
    ids = [e.event_id for e in generated()]
    assert len(ids) == len(set(ids))


def test_the_bad_release_crashes_far_more_often_than_the_others() -> None:
    ended = [e for e in generated() if isinstance(e, SessionUpdated) and not e.init]
    sessions, crashes = Counter(e.release for e in ended), Counter(e.release for e in ended if e.status == "crashed")
    bad = SHAPE.bad_release_name()
    assert bad is not None
    assert sessions[bad] > 500
    others = [crashes[r] / sessions[r] for r in sessions if r != bad and sessions[r] > 200]
    assert crashes[bad] / sessions[bad] > 5 * max(others)


def test_activity_follows_a_power_law() -> None:
    per_user = Counter(e.distinct_id for e in generated() if isinstance(e, UsageEventRecorded))
    counts = sorted(per_user.values(), reverse=True)
    top_tenth = sum(counts[: len(counts) // 10])
    assert top_tenth > 0.3 * sum(counts)  # 0.1 if everyone were alike
    assert counts[len(counts) // 2] < counts[0] / 10  # the median user is far from the busiest


def test_features_are_used_only_once_introduced_and_the_popular_ones_most() -> None:
    uses: dict[str, list[date]] = defaultdict(list)
    for e in generated():
        if isinstance(e, UsageEventRecorded) and e.type == "track" and e.name:
            uses[e.name].append(e.timestamp.date())
    assert set(uses) <= set(catalog.FEATURES)
    late = catalog.FEATURES[-1]
    assert min(uses[late]) > SHAPE.first_day + timedelta(days=SHAPE.days // 2)
    assert len(uses[catalog.FEATURES[0]]) > 5 * len(uses[catalog.FEATURES[24]])


def test_scores_drop_after_crashes_and_comments_follow_the_score() -> None:
    crash_days: dict[str, set[date]] = defaultdict(set)
    for e in generated():
        if isinstance(e, SessionUpdated) and e.status == "crashed" and e.distinct_id:
            crash_days[e.distinct_id].add(e.started.date())
    after_crash, otherwise = [], []
    for e in generated():
        if isinstance(e, FeedbackResponded) and e.kind == "nps":
            recent = any(0 <= (e.timestamp.date() - d).days < 7 for d in crash_days[e.distinct_id])
            (after_crash if recent else otherwise).append(e.score)
    assert len(after_crash) >= 15
    assert sum(after_crash) / len(after_crash) < sum(otherwise) / len(otherwise) - 2
    for e in generated():
        if isinstance(e, FeedbackResponded) and e.kind == "nps" and e.comment:
            theme_sets = (catalog.DETRACTOR_THEMES, catalog.PASSIVE_THEMES, catalog.PROMOTER_THEMES)
            group = 0 if e.score <= 6 else 2 if e.score >= 9 else 1
            assert any(e.comment.startswith(t.split("{")[0]) for t in theme_sets[group]), (e.score, e.comment)
    kinds = Counter(e.kind for e in generated() if isinstance(e, FeedbackResponded))
    assert min(kinds["nps"], kinds["csat"], kinds["ces"]) > 0
