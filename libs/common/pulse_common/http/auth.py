"""Read-API authentication: ``Authorization: Bearer <read or admin key>`` of the project in the path.

A key of another project gets the same 404 as a project that does not exist, so no key reveals other projects.
"""

from fastapi import Request

from pulse_common.http.errors import ApiError
from pulse_common.http.keys import KeyResolver


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def require_admin_access(request: Request, project: str) -> str:
    """The project's admin key only: for what changes or erases data."""
    return await _require_access(request, project, ("admin",), "this needs the project's admin key")


async def require_read_access(request: Request, project: str) -> str:
    return await _require_access(
        request, project, ("read", "admin"), "a write key may only send data; use the project's read key"
    )


async def _require_access(request: Request, project: str, kinds: tuple[str, ...], refusal: str) -> str:
    token = bearer_token(request)
    if token is None:
        raise ApiError(
            401,
            "unauthorized",
            "send a read key as 'Authorization: Bearer <key>'",
            {"WWW-Authenticate": "Bearer"},
        )
    resolver: KeyResolver = request.app.state.keys
    owner = await resolver.resolve(token)
    if owner is None:
        raise ApiError(401, "unauthorized", "the key is unknown or revoked", {"WWW-Authenticate": "Bearer"})
    if owner.project != project:
        raise ApiError(404, "project_not_found", f"no project {project!r} for this key")
    if owner.kind not in kinds:
        raise ApiError(403, "forbidden", refusal)
    return project
