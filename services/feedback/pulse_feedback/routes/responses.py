"""Verbatims (product.md §6): responses newest first with score, comment, user, traits, feature and release;
filters, full-text search over comments and opaque cursor pagination."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from pulse_common.http.errors import ApiError
from pulse_common.http.reads import Format, FromDate, ReadableProject, ToDate, pool_of
from pulse_common.http.representation import represent
from pulse_common.periods import local_midnight
from pulse_feedback.projections.satisfaction import SatisfactionProjection
from pulse_feedback.projections.usage_context import UsageContextProjection
from pulse_feedback.queries.verbatims import InvalidCursor, Position, VerbatimQuery, verbatims
from pulse_feedback.routes.common import feedback_read
from pulse_feedback.scores import Kind

Name = Annotated[str | None, Query(min_length=1, max_length=200)]
Score = Annotated[int | None, Query(ge=0, le=10)]
COLUMNS = (
    "timestamp",
    "kind",
    "score",
    "comment",
    "distinct_id",
    "feature",
    "release",
    "channel",
    "survey",
    "response_id",
)
DEFINITION = (
    "verbatims.v1: responses in the window (local days, by response time), newest first; traits are the user's at "
    'the end of the response\'s local day; q is a web-search style query (words, "phrases", or, -not) over comments '
    "in the project's text-search language"
)


async def get_responses(
    request: Request,
    project: ReadableProject,
    kind: Kind | None = None,
    min_score: Score = None,
    max_score: Score = None,
    q: Annotated[str | None, Query(min_length=1, max_length=500, description="full-text search")] = None,
    feature: Name = None,
    release: Name = None,
    channel: Name = None,
    start: FromDate = None,
    end: ToDate = None,
    with_comment: Annotated[bool, Query(description="only responses with a comment (default)")] = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page")] = None,
    format: Format = None,
) -> Response:
    """Verbatims newest first (default: the last 30 local days), one page per call; ``next_cursor`` continues."""
    if min_score is not None and max_score is not None and max_score < min_score:
        raise ApiError(400, "invalid_parameter", f"max_score: {max_score} is below min_score: {min_score}")
    try:
        after = Position.decode(cursor) if cursor else None
    except InvalidCursor:
        raise ApiError(400, "invalid_parameter", "cursor: not a cursor this API gave (use next_cursor)") from None
    read = await feedback_read(request, project, start, end, (SatisfactionProjection.name, UsageContextProjection.name))
    view = read.view
    query = VerbatimQuery(
        project=project,
        start=local_midnight(view.start, view.zone),
        end=local_midnight(view.end + timedelta(days=1), view.zone),
        kind=kind,
        min_score=min_score,
        max_score=max_score,
        text=q,
        feature=feature,
        release=release,
        channel=channel,
        with_comment=with_comment,
        after=after,
        limit=limit,
    )
    page, next_position = await verbatims(pool_of(request), query)
    next_cursor = next_position.encode() if next_position else None
    payload = {
        **read.context(),
        "definitions": {"responses": DEFINITION},
        "responses": page,
        "next_cursor": next_cursor,
    }
    response = represent(request, payload, page, COLUMNS)
    if next_cursor:
        response.headers["X-Pulse-Next-Cursor"] = next_cursor
    return response


def responses_router() -> APIRouter:
    router = APIRouter(tags=["verbatims"])
    router.add_api_route("/v1/projects/{project}/responses", get_responses, methods=["GET"])
    return router
