"""Which responses a satisfaction read counts: the kind, the local days, optional feature / release / channel /
survey, and a segment (the trait value the user had at the end of the response's local day)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pulse_common.http.reads import Segment
from pulse_feedback.projections.response_rows import MAX_GROUP_VALUE, TOTAL
from pulse_feedback.scores import Kind


@dataclass(frozen=True)
class ResponseFilter:
    project: str
    kind: Kind
    first: date
    last: date
    feature: str | None = None
    release: str | None = None
    channel: str | None = None
    survey: str | None = None
    segment: Segment | None = None

    def rollup_group(self) -> tuple[str, str] | None:
        """The score-day rollup group that holds exactly these responses, if one does: the total, one of feature /
        release / channel / survey, or a segment alone; None when filters combine."""
        given = [
            (dimension, value)
            for dimension, value in (
                ("feature", self.feature),
                ("release", self.release),
                ("channel", self.channel),
                ("survey", self.survey),
            )
            if value is not None
        ]
        if self.segment is not None:
            if given or len(self.segment.value) > MAX_GROUP_VALUE:
                return None
            return (f"trait:{self.segment.trait}", self.segment.value)
        if len(given) > 1:
            return None
        return given[0] if given else (TOTAL, TOTAL)

    def row_conditions(self, first_parameter: int) -> tuple[str, list[object]]:
        """SQL conditions on ``feedback.responses r`` beyond project, kind and days, numbering parameters from
        ``first_parameter``; and their values."""
        conditions: list[str] = []
        values: list[object] = []
        for column, value in (
            ("feature", self.feature),
            ("release", self.release),
            ("channel", self.channel),
            ("survey", self.survey),
        ):
            if value is not None:
                values.append(value)
                conditions.append(f"r.{column} = ${first_parameter + len(values) - 1}")
        if self.segment is not None:
            values += [self.segment.trait, self.segment.value]
            trait, value_at = first_parameter + len(values) - 2, first_parameter + len(values) - 1
            conditions.append(f"r.traits ->> ${trait}::text = ${value_at}::text")
        return "".join(f" AND {c}" for c in conditions), values
