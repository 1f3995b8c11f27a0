"""``DELETE /v1/projects/{project}/users/{distinct_id}`` (admin key): erase a person. Their further events are
refused at once (suppression), and a ``user_deleted`` event on every event topic makes each projection remove what
they contributed; a projection rebuilt from the log meets the same event and erases them again."""

from datetime import UTC, datetime
from uuid import uuid4

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from pulse_common import codec, topics
from pulse_common.events import UserDeleted
from pulse_common.http.auth import require_admin_access
from pulse_common.http.errors import ApiError
from pulse_common.suppression import SuppressedUsers, suppress
from pulse_ingest.publisher import BrokerUnavailable, Publisher
from pulse_ingest.routes.intake import settings_of

DEFINITION = (
    "erasure.v1: the user's events are refused from now on, and every projection removes their contributions "
    "(counts fall as if they had never been there; their responses and verbatims are gone) once it applies the "
    "user_deleted event, usually within seconds"
)


async def delete_user(
    request: Request,
    project: str,
    distinct_id: str = Path(min_length=1, max_length=512),
) -> JSONResponse:
    await require_admin_access(request, project)
    received_at = datetime.now(UTC)
    async with request.app.state.pool.acquire() as conn:
        await suppress(conn, project, distinct_id)
    suppressed: SuppressedUsers = request.app.state.suppressed
    suppressed.forget(project)
    erased = codec.encode(
        UserDeleted(event_id=uuid4(), project=project, received_at=received_at, distinct_id=distinct_id)
    )
    key = topics.message_key(project, distinct_id)
    publisher: Publisher = request.app.state.publisher
    try:
        await publisher.publish_all(
            {topic: [(key, erased)] for topic in (topics.USAGE, topics.SESSIONS, topics.FEEDBACK)}
        )
    except BrokerUnavailable as exc:
        # The suppression holds already; retrying publishes the erasure again, which projections apply once.
        raise ApiError(
            503,
            "broker_unavailable",
            "the erasure could not be published; the user's events are refused meanwhile; retry",
            {"Retry-After": str(settings_of(request).retry_after_s)},
        ) from exc
    payload = {
        "project": project,
        "distinct_id": distinct_id,
        "erased_at": received_at.isoformat(),
        "suppressed": True,
        "definition": DEFINITION,
    }
    return JSONResponse(payload, status_code=202)


def users_router() -> APIRouter:
    router = APIRouter(tags=["users"])
    router.add_api_route("/v1/projects/{project}/users/{distinct_id}", delete_user, methods=["DELETE"], status_code=202)
    return router
