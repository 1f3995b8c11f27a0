"""Segment rollups (product.md §4, segments): a user-day counts under the value held at the end of the local day;
a value's first day is new only when it is the user's first ever; changes are additive (one step at a time equals
all at once, whatever order days and trait changes arrive in; a deletion zeroes everything)."""

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pulse_metrics.projections.rollups import ELSEWHERE, NEVER, RollupChanges, nonzero
from pulse_metrics.projections.segments import (
    HeldValues,
    SegmentChanges,
    UserActivity,
    activity_before,
    rewritten_users,
    split_by_value,
    value_changes,
)

NEW_YORK = ZoneInfo("America/New_York")  # DST ends 2026-11-01: that local day lasts 25 hours
D = date


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def values_held(days: list[date], history: list[tuple[datetime, str | None]], zone: ZoneInfo) -> dict[date, str | None]:
    held = HeldValues(history, zone)
    return {day: held.on(day) for day in days}


def test_the_value_held_is_the_latest_set_before_the_end_of_the_local_day() -> None:
    history = [(at("2026-10-30T12:00:00-04:00"), "free"), (at("2026-11-01T23:30:00-05:00"), "pro")]
    held = values_held(
        [D(2026, 10, 29), D(2026, 10, 30), D(2026, 10, 31), D(2026, 11, 1), D(2026, 11, 2)], history, NEW_YORK
    )
    assert held == {
        D(2026, 10, 29): None,  # nothing set yet
        D(2026, 10, 30): "free",  # set during the day: held at its end
        D(2026, 10, 31): "free",
        D(2026, 11, 1): "pro",  # 23:30 local on the 25-hour day is before its midnight (05:00 UTC)
        D(2026, 11, 2): "pro",
    }
    at_midnight = [(at("2026-11-02T00:00:00-05:00"), "team")]
    assert values_held([D(2026, 11, 1), D(2026, 11, 2)], at_midnight, NEW_YORK) == {
        D(2026, 11, 1): None,  # set exactly at the day's end: from the next day on
        D(2026, 11, 2): "team",
    }
    assert values_held([D(2026, 11, 2)], [(at("2026-11-01T00:00:00+00:00"), None)], NEW_YORK) == {D(2026, 11, 2): None}


def test_each_value_gets_its_days_and_only_the_first_ever_day_is_new() -> None:
    history = [(at("2026-03-01T12:00:00+00:00"), "free"), (at("2026-03-05T12:00:00+00:00"), "pro")]
    days = [D(2026, 3, 7), D(2026, 3, 2), D(2026, 3, 6), D(2026, 3, 2)]
    assert split_by_value(days, HeldValues(history, UTC)) == {
        "free": ([D(2026, 3, 2)], True),
        "pro": ([D(2026, 3, 6), D(2026, 3, 7)], False),
    }
    changes = SegmentChanges()
    none, held = HeldValues([], UTC), HeldValues(history, UTC)
    changes.change_user("p", "plan", UserActivity(), none, UserActivity(days=sorted(set(days))), held)
    assert nonzero(changes.of("plan", "free").activity_links) == [(("p", D(2026, 3, 2), NEVER), 1)]
    assert nonzero(changes.of("plan", "pro").activity_links) == [
        (("p", D(2026, 3, 6), ELSEWHERE), 1),
        (("p", D(2026, 3, 7), D(2026, 3, 6)), 1),
    ]
    assert changes.of("plan", "free").cohort_last  # in the cohort of the value of their first day
    assert not changes.of("plan", "pro").cohort_active  # not in any cohort of the other


def _random_user(rng: random.Random) -> tuple[UserActivity, list[tuple[datetime, str | None]]]:
    start = D(2026, 10, 1)
    days = sorted({start + timedelta(days=rng.randrange(60)) for _ in range(rng.randrange(1, 25))})
    uses: dict[str, list[date]] = {}
    events: dict[tuple[str, date], int] = {}
    for feature in ("export", "search"):
        used = sorted(d for d in days if rng.random() < 0.4)
        if used:
            uses[feature] = used
            events.update({(feature, d): rng.randrange(1, 4) for d in used})
    history = sorted(
        (datetime(2026, 10, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(60 * 24)), rng.choice(["a", "b", None]))
        for _ in range(rng.randrange(0, 5))
    )
    return UserActivity(days, uses, events), history


def _segment_counters(changes: SegmentChanges) -> dict[tuple[str, str, str], list[tuple[Any, int]]]:
    found = {}
    for (trait, value), rollups in changes.by_segment.items():
        for name in (
            "activity_links",
            "cohort_active",
            "cohort_last",
            "feature_links",
            "feature_events",
            "adoption_delays",
        ):
            counter: Counter[Any] = getattr(rollups, name)
            if nonzero(counter):
                found[(trait, value, name)] = nonzero(counter)
    return found


def test_one_change_at_a_time_equals_all_at_once_and_deletion_zeroes() -> None:
    rng = random.Random(5)
    for _ in range(40):
        whole_activity, whole_history = _random_user(rng)
        whole = SegmentChanges()
        whole.change_user(
            "p", "plan", UserActivity(), HeldValues([], NEW_YORK), whole_activity, HeldValues(whole_history, NEW_YORK)
        )
        # Replay: days of use and trait changes arrive one at a time, in a random order.
        steps: list[tuple[str, Any]] = [("day", d) for d in whole_activity.days] + [("trait", h) for h in whole_history]
        rng.shuffle(steps)
        stepwise = SegmentChanges()
        activity, history = UserActivity(), []
        for kind, step in steps:
            after = UserActivity(
                list(activity.days), {f: list(u) for f, u in activity.uses.items()}, dict(activity.events)
            )
            new_history = list(history)
            if kind == "day":
                after.days = sorted([*after.days, step])
                for feature, used in whole_activity.uses.items():
                    if step in used:
                        after.uses[feature] = sorted([*after.uses.get(feature, []), step])
                        after.events[(feature, step)] = whole_activity.events[(feature, step)]
            else:
                new_history = sorted([*new_history, step])
            stepwise.change_user(
                "p", "plan", activity, HeldValues(history, NEW_YORK), after, HeldValues(new_history, NEW_YORK)
            )
            activity, history = after, new_history
        assert _segment_counters(stepwise) == _segment_counters(whole)
        held = HeldValues(history, NEW_YORK)
        stepwise.change_user("p", "plan", activity, held, UserActivity(), held)
        assert _segment_counters(stepwise) == {}


def test_a_segment_every_user_holds_from_the_start_counts_as_every_user() -> None:
    rng = random.Random(9)
    everyone, segment = RollupChanges(), SegmentChanges()
    always = [(datetime(2026, 1, 1, tzinfo=UTC), "all")]
    for _ in range(30):
        activity, _ = _random_user(rng)
        everyone.change_active_days("p", [], activity.days)
        for feature, used in activity.uses.items():
            everyone.change_feature_days("p", feature, [], used)
        segment.change_user("p", "t", UserActivity(), HeldValues(always, UTC), activity, HeldValues(always, UTC))
    rollups = segment.of("t", "all")
    assert nonzero(rollups.activity_links) == nonzero(everyone.activity_links)
    assert nonzero(rollups.cohort_active) == nonzero(everyone.cohort_active)
    assert nonzero(rollups.feature_links) == nonzero(everyone.feature_links)


def test_an_identify_repeating_the_value_held_rewrites_nothing() -> None:
    t1, t2, t3 = (datetime(2026, 3, d, tzinfo=UTC) for d in (1, 2, 3))
    before = {("p", "u", "plan"): [(t1, "pro")], ("p", "v", "plan"): [(t1, "pro")]}
    after = {("p", "u", "plan"): [(t1, "pro"), (t2, "pro")], ("p", "v", "plan"): [(t1, "pro"), (t3, "free")]}
    assert value_changes(after[("p", "u", "plan")]) == [(t1, "pro")]
    assert rewritten_users([("p", "u"), ("p", "v")], {"p": ["plan"]}, before, after) == {("p", "v")}
    # A value set earlier than the one held: the days between change value.
    earlier = {("p", "u", "plan"): [(t1, "pro"), (t2, "free")]}
    assert rewritten_users([("p", "u")], {"p": ["plan"]}, {("p", "u", "plan"): [(t2, "free")]}, earlier) == {("p", "u")}


def test_the_activity_before_a_batch_is_the_one_after_less_what_it_added() -> None:
    after = UserActivity(
        days=[D(2026, 3, 1), D(2026, 3, 2)],
        uses={"export": [D(2026, 3, 1), D(2026, 3, 2)], "search": [D(2026, 3, 2)]},
        events={("export", D(2026, 3, 1)): 3, ("export", D(2026, 3, 2)): 1, ("search", D(2026, 3, 2)): 1},
    )
    before = activity_before(
        after,
        ([D(2026, 3, 1)], after.days),
        {"export": ([D(2026, 3, 1)], after.uses["export"]), "search": ([], after.uses["search"])},
        {("export", D(2026, 3, 1)): 2, ("export", D(2026, 3, 2)): 1, ("search", D(2026, 3, 2)): 1},
    )
    assert before == UserActivity(
        days=[D(2026, 3, 1)], uses={"export": [D(2026, 3, 1)]}, events={("export", D(2026, 3, 1)): 1}
    )
    assert activity_before(after, None, {}, {}) == after
