"""Finding the write key: in the body (``writeKey``), as the HTTP Basic user (empty password), or as a Bearer token."""

import base64
import binascii

from fastapi import Request

from pulse_common.http.errors import ApiError
from pulse_common.http.keys import KeyResolver


def presented_write_key(request: Request, body_key: str | None) -> str | None:
    if body_key:
        return body_key
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and credentials.strip():
        return credentials.strip()
    if scheme == "basic" and credentials.strip():
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, _password = decoded.partition(":")
        return user or None
    return None


async def project_of_write_key(request: Request, key: str | None) -> str:
    if key is None:
        raise ApiError(
            401,
            "unauthorized",
            "send the write key as writeKey in the body, as the HTTP Basic user or as a Bearer token",
        )
    resolver: KeyResolver = request.app.state.keys
    owner = await resolver.resolve(key)
    if owner is None or owner.kind != "write":
        raise ApiError(401, "unauthorized", "the write key is unknown or revoked")
    return owner.project
