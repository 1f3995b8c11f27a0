"""Verbatims: responses newest first, filtered, with full-text search over comments in the project's language, one
page at a time. A cursor is the (time, id) of the last response of a page, so pages never repeat or skip a
response however many arrive meanwhile (new ones are newer than any cursor)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from pulse_feedback.projections.user_locks import DEFAULT_LANGUAGE


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Position:
    responded_at: datetime
    response_id: UUID

    def encode(self) -> str:
        raw = json.dumps([self.responded_at.isoformat(), str(self.response_id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> Position:
        try:
            at, response_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            if not isinstance(at, str) or not isinstance(response_id, str):
                raise InvalidCursor(cursor)
            position = cls(datetime.fromisoformat(at), UUID(response_id))
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
            raise InvalidCursor(cursor) from exc
        if position.responded_at.tzinfo is None:
            raise InvalidCursor(cursor)
        return position


@dataclass(frozen=True)
class VerbatimQuery:
    project: str
    start: datetime  # the first local day's midnight
    end: datetime  # the midnight after the last local day
    kind: str | None = None
    min_score: int | None = None
    max_score: int | None = None
    text: str | None = None
    feature: str | None = None
    release: str | None = None
    channel: str | None = None
    with_comment: bool = True
    after: Position | None = None
    limit: int = 50


async def verbatims(pool: asyncpg.Pool, query: VerbatimQuery) -> tuple[list[dict[str, Any]], Position | None]:
    """One page, and the position to continue from (None on the last page)."""
    conditions = ["r.project = $1", "r.responded_at >= $2", "r.responded_at < $3"]
    values: list[object] = [query.project, query.start, query.end]

    def where(condition: str, value: object) -> None:
        values.append(value)
        conditions.append(condition.replace("?", f"${len(values)}"))

    for column, value in (
        ("kind", query.kind),
        ("feature", query.feature),
        ("release", query.release),
        ("channel", query.channel),
    ):
        if value is not None:
            where(f"r.{column} = ?", value)
    if query.min_score is not None:
        where("r.score >= ?", query.min_score)
    if query.max_score is not None:
        where("r.score <= ?", query.max_score)
    if query.with_comment:
        conditions.append("r.comment IS NOT NULL")
    if query.text is not None:
        where(
            "r.comment_search @@ websearch_to_tsquery(coalesce((SELECT language FROM feedback.text_settings "
            f"WHERE project = $1), '{DEFAULT_LANGUAGE}'::regconfig), ?::text)",
            query.text,
        )
    if query.after is not None:
        values += [query.after.responded_at, query.after.response_id]
        conditions.append(f"(r.responded_at, r.response_id) < (${len(values) - 1}, ${len(values)})")
    values.append(query.limit + 1)
    rows = await pool.fetch(
        f"""
        SELECT r.response_id, r.kind, r.score, r.comment, r.distinct_id, r.user_id, r.anonymous_id, r.traits::text,
               r.feature, r.release, r.channel, r.survey, r.properties::text, r.responded_at
        FROM feedback.responses r WHERE {" AND ".join(conditions)}
        ORDER BY r.responded_at DESC, r.response_id DESC LIMIT ${len(values)}
        """,
        *values,
    )
    page = [
        {
            "response_id": str(r["response_id"]),
            "kind": r["kind"],
            "score": r["score"],
            "comment": r["comment"],
            "distinct_id": r["distinct_id"],
            "user_id": r["user_id"],
            "anonymous_id": r["anonymous_id"],
            "traits": json.loads(r["traits"]),
            "feature": r["feature"],
            "release": r["release"],
            "channel": r["channel"],
            "survey": r["survey"],
            "properties": json.loads(r["properties"]),
            "timestamp": r["responded_at"].isoformat(),
        }
        for r in rows[: query.limit]
    ]
    more = len(rows) > query.limit
    last = rows[query.limit - 1] if more else None
    return page, Position(last["responded_at"], last["response_id"]) if last is not None else None
