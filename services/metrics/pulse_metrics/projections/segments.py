"""Segment rollups (product.md §4, segments): the adoption rollups of each value of a declared trait, kept by the
projection as the unsegmented ones are, so a segmented read sums a few thousand rows whatever the project's size.

A user's days count under the value they held at the end of each local day (the latest identify of the trait with
an event time before the next local midnight; JSON null: no value), as ``queries.scope`` counts from the per-user
rows. A value's share of a user's days is a set of days like any other, so ``RollupChanges`` applies to it with one
difference: its first day is new only when it is the user's first-ever day (``ELSEWHERE`` otherwise).

Everything here is pure: a change is the contribution after (days and trait history after) minus the one before.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pulse_metrics.projections.rollups import AdopterChange, RollupChanges, days_between

# A user's values of one trait: (valid from, value as text, None for JSON null), sorted by time.
TraitHistory = Sequence[tuple[datetime, str | None]]
Segment = tuple[str, str]  # (trait, value)


class HeldValues:
    """A user's values of one trait by local day. An entry set before a day's end is one whose local date is that
    day or earlier, so the value held on a day is that of the last entry dated up to it."""

    def __init__(self, history: TraitHistory, zone: ZoneInfo) -> None:
        self._dates: list[date] = []
        self._values: list[str | None] = []
        for valid_from, value in history:
            local = valid_from.astimezone(zone).date()
            if self._dates and self._dates[-1] == local:
                self._values[-1] = value  # later the same day: held at its end
            else:
                self._dates.append(local)
                self._values.append(value)

    def on(self, day: date) -> str | None:
        position = bisect.bisect_right(self._dates, day)
        return self._values[position - 1] if position else None


def split_by_value(days: Sequence[date], held: HeldValues) -> dict[str, tuple[list[date], bool]]:
    """Each value's share of ``days`` (sorted), and whether its first day is the first of all ``days``."""
    ordered = sorted(set(days))
    shares: dict[str, list[date]] = {}
    for day in ordered:
        value = held.on(day)
        if value is not None:
            shares.setdefault(value, []).append(day)
    return {value: (share, share[0] == ordered[0]) for value, share in shares.items()}


@dataclass
class UserActivity:
    """One user's whole adoption history: active days, days of use per feature, events per (feature, day)."""

    days: list[date] = field(default_factory=list)
    uses: dict[str, list[date]] = field(default_factory=dict)
    events: dict[tuple[str, date], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Side:
    """A user's days (or days of use) and values of a trait, before or after a change."""

    days: Sequence[date]
    held: HeldValues


def value_shares(before: Side, after: Side) -> Iterator[tuple[str, list[date], bool, list[date], bool]]:
    """Per value held before or after: its share of the days and whether its first is new, before and after."""
    shares_before = split_by_value(before.days, before.held)
    shares_after = split_by_value(after.days, after.held)
    for value in sorted(shares_before.keys() | shares_after.keys()):
        days_before, new_before = shares_before.get(value, ([], True))
        days_after, new_after = shares_after.get(value, ([], True))
        yield value, days_before, new_before, days_after, new_after


class SegmentChanges:
    """``RollupChanges`` per segment (trait, value); keys within each are as in the unsegmented rollups."""

    def __init__(self) -> None:
        self.by_segment: dict[Segment, RollupChanges] = {}

    def of(self, trait: str, value: str) -> RollupChanges:
        changes = self.by_segment.get((trait, value))
        if changes is None:
            changes = self.by_segment[(trait, value)] = RollupChanges()
        return changes

    def change_active_days(self, project: str, trait: str, before: Side, after: Side) -> None:
        for value, days_before, new_before, days_after, new_after in value_shares(before, after):
            self.of(trait, value).change_active_days(
                project, days_before, days_after, before_new=new_before, after_new=new_after
            )

    def change_feature_days(self, project: str, trait: str, feature: str, before: Side, after: Side) -> None:
        for value, days_before, new_before, days_after, new_after in value_shares(before, after):
            self.of(trait, value).change_feature_days(
                project, feature, days_before, days_after, before_new=new_before, after_new=new_after
            )

    def add_adopter(
        self,
        project: str,
        trait: str,
        feature: str,
        first_day: date | None,
        first_use: date | None,
        held: HeldValues,
        sign: int,
    ) -> None:
        """Count (+1) or uncount (-1) an adopter's days to adopt under the value held on their first use."""
        delay = days_between(first_day, first_use)
        if delay is None or first_use is None:
            return
        value = held.on(first_use)
        if value is not None:
            self.of(trait, value).adoption_delays[(project, feature, delay)] += sign

    def add_feature_events(
        self,
        project: str,
        trait: str,
        events: Mapping[tuple[str, date], int],
        held: HeldValues,
        sign: int,
    ) -> None:
        """Add (or take away) events per (feature, day) under the value held on each day."""
        for (feature, day), n in events.items():
            value = held.on(day)
            if value is not None:
                self.of(trait, value).feature_events[(project, feature, day)] += sign * n

    def change_user(
        self,
        project: str,
        trait: str,
        before: UserActivity,
        held_before: HeldValues,
        after: UserActivity,
        held_after: HeldValues,
    ) -> None:
        """A user's whole contribution under ``trait``: after minus before (a trait history that changed, a
        deletion: ``after`` empty)."""
        self.change_active_days(project, trait, Side(before.days, held_before), Side(after.days, held_after))
        first_before = before.days[0] if before.days else None
        first_after = after.days[0] if after.days else None
        for feature in sorted(before.uses.keys() | after.uses.keys()):
            uses_before, uses_after = before.uses.get(feature, []), after.uses.get(feature, [])
            self.change_feature_days(
                project, trait, feature, Side(uses_before, held_before), Side(uses_after, held_after)
            )
            self.add_adopter(project, trait, feature, first_before, min(uses_before, default=None), held_before, -1)
            self.add_adopter(project, trait, feature, first_after, min(uses_after, default=None), held_after, 1)
        self.add_feature_events(project, trait, before.events, held_before, -1)
        self.add_feature_events(project, trait, after.events, held_after, 1)


def value_changes(history: TraitHistory) -> list[tuple[datetime, str | None]]:
    """The history without entries that set the value already held: two histories with the same value changes
    count every day alike (an app calling identify with the same traits at every start changes nothing)."""
    changes: list[tuple[datetime, str | None]] = []
    for valid_from, value in history:
        if not changes or changes[-1][1] != value:
            changes.append((valid_from, value))
    return changes


def activity_before(
    after: UserActivity,
    days: tuple[list[date], list[date]] | None,
    uses: Mapping[str, tuple[list[date], list[date]]],
    events_added: Mapping[tuple[str, date], int],
) -> UserActivity:
    """A user's activity before a batch, from the activity after it and what the batch added: the days and days of
    use before (when the batch added some) and the events it added per (feature, day)."""
    before_uses = {feature: list(used) for feature, used in after.uses.items()}
    for feature, (used_before, _) in uses.items():
        if used_before:
            before_uses[feature] = list(used_before)
        else:
            before_uses.pop(feature, None)
    before_events = dict(after.events)
    for key, added in events_added.items():
        left = before_events.get(key, 0) - added
        if left > 0:
            before_events[key] = left
        else:
            before_events.pop(key, None)
    return UserActivity(list(days[0]) if days is not None else list(after.days), before_uses, before_events)


@dataclass(frozen=True)
class BatchChanges:
    """What a batch changed, as the unsegmented rollups see it (keys lead with the project), and what the segment
    rollups need besides: trait histories after the batch, and for users whose trait values changed
    (``rewritten_users``) their histories before and their whole activity after (before: ``activity_before``)."""

    day_changes: Mapping[tuple[str, str], tuple[list[date], list[date]]]  # (project, user) -> days before, after
    use_changes: Mapping[tuple[str, str, str], tuple[list[date], list[date]]]  # (project, feature, user) -> ...
    feature_events: Mapping[tuple[str, str, date, str], int]  # (project, feature, day, user) -> events added
    adopters: Sequence[AdopterChange]
    histories: Mapping[tuple[str, str, str], TraitHistory]  # (project, user, trait) -> history after
    histories_before: Mapping[tuple[str, str, str], TraitHistory]  # of users an identify of the batch touched
    activities_after: Mapping[tuple[str, str], UserActivity]  # rewritten users


def rewritten_users(
    candidates: Iterable[tuple[str, str]],
    declared: Mapping[str, Sequence[str]],
    before: Mapping[tuple[str, str, str], TraitHistory],
    after: Mapping[tuple[str, str, str], TraitHistory],
) -> set[tuple[str, str]]:
    """Users an identify gave a different history of a declared trait (not only the same value again)."""
    return {
        (project, user)
        for project, user in candidates
        if any(
            value_changes(before.get((project, user, t), ())) != value_changes(after.get((project, user, t), ()))
            for t in declared.get(project, ())
        )
    }


def segment_changes(
    batch: BatchChanges, declared: Mapping[str, Sequence[str]], zones: Mapping[str, ZoneInfo]
) -> SegmentChanges:
    """The segment rollups' changes of one batch: a rewritten user's whole contribution before and after, every
    other user's changed days, uses, adoption and events under their (unchanged) values."""
    changes = SegmentChanges()
    rewritten = batch.activities_after
    held_values: dict[tuple[str, str, str], HeldValues] = {}

    def held(project: str, user: str, trait: str) -> HeldValues:
        found = held_values.get((project, user, trait))
        if found is None:
            history = batch.histories.get((project, user, trait), ())
            found = held_values[(project, user, trait)] = HeldValues(history, zones[project])
        return found

    uses_by_user: dict[tuple[str, str], dict[str, tuple[list[date], list[date]]]] = {}
    for (project, feature, user), change in batch.use_changes.items():
        if (project, user) in rewritten:
            uses_by_user.setdefault((project, user), {})[feature] = change
    events_by_user: dict[tuple[str, str], dict[tuple[str, date], int]] = {}
    for (project, feature, day, user), n in batch.feature_events.items():
        if (project, user) in rewritten:
            events_by_user.setdefault((project, user), {})[(feature, day)] = n
    for (project, user), after in sorted(rewritten.items()):
        before = activity_before(
            after,
            batch.day_changes.get((project, user)),
            uses_by_user.get((project, user), {}),
            events_by_user.get((project, user), {}),
        )
        for trait in declared.get(project, ()):
            history_before = batch.histories_before.get((project, user, trait), ())
            changes.change_user(
                project, trait, before, HeldValues(history_before, zones[project]), after, held(project, user, trait)
            )
    for (project, user), (days_before, days_after) in batch.day_changes.items():
        if (project, user) in rewritten:
            continue
        for trait in declared.get(project, ()):
            values = held(project, user, trait)
            changes.change_active_days(project, trait, Side(days_before, values), Side(days_after, values))
    for (project, feature, user), (uses_before, uses_after) in batch.use_changes.items():
        if (project, user) in rewritten:
            continue
        for trait in declared.get(project, ()):
            values = held(project, user, trait)
            changes.change_feature_days(project, trait, feature, Side(uses_before, values), Side(uses_after, values))
    for a in batch.adopters:
        if (a.project, a.distinct_id) in rewritten:
            continue
        for trait in declared.get(a.project, ()):
            values = held(a.project, a.distinct_id, trait)
            changes.add_adopter(a.project, trait, a.feature, a.first_day_before, a.first_use_before, values, -1)
            changes.add_adopter(a.project, trait, a.feature, a.first_day_after, a.first_use_after, values, 1)
    for (project, feature, day, user), n in batch.feature_events.items():
        if (project, user) in rewritten:
            continue
        for trait in declared.get(project, ()):
            changes.add_feature_events(project, trait, {(feature, day): n}, held(project, user, trait), 1)
    return changes
