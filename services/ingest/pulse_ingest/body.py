"""Reading a request body within a size limit, inflating gzip or brotli without ever holding more than the limit
(so a decompression bomb costs at most ``limit`` bytes)."""

import zlib
from collections.abc import Collection
from typing import Protocol

import brotli
from fastapi import Request

from pulse_common.http.errors import ApiError


class _Inflater(Protocol):
    def feed(self, chunk: bytes, budget: int) -> bytes: ...

    def has_more(self) -> bool: ...

    def finished(self) -> bool: ...


class _Identity:
    def feed(self, chunk: bytes, budget: int) -> bytes:
        return chunk

    def has_more(self) -> bool:
        return False

    def finished(self) -> bool:
        return True


class _Gzip:
    def __init__(self) -> None:
        self._inflater = zlib.decompressobj(wbits=47)  # 47: a gzip or a zlib header

    def feed(self, chunk: bytes, budget: int) -> bytes:
        return self._inflater.decompress(chunk, budget)

    def has_more(self) -> bool:
        return bool(self._inflater.unconsumed_tail)

    def finished(self) -> bool:
        return self._inflater.eof


class _Brotli:
    def __init__(self) -> None:
        self._inflater = brotli.Decompressor()

    def feed(self, chunk: bytes, budget: int) -> bytes:
        return bytes(self._inflater.process(chunk, output_buffer_limit=budget))

    def has_more(self) -> bool:
        return not self._inflater.can_accept_more_data()

    def finished(self) -> bool:
        return bool(self._inflater.is_finished())


_INFLATERS: dict[str, type[_Identity] | type[_Gzip] | type[_Brotli]] = {
    "identity": _Identity,
    "gzip": _Gzip,
    "x-gzip": _Gzip,
    "br": _Brotli,
}
_DECODE_ERRORS = (zlib.error, brotli.error)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "request_too_large", f"the request body exceeds {limit} bytes (after decompression)")


def check_media_type(request: Request, accepted: Collection[str]) -> None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type and media_type not in accepted:
        raise ApiError(
            415, "unsupported_media_type", f"Content-Type {media_type!r} is not one of {', '.join(accepted)}"
        )


async def read_body(request: Request, limit: int) -> bytes:
    """The request's bytes, decompressed; 413 as soon as more than ``limit`` would be read."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower() or "identity"
    inflater_type = _INFLATERS.get(encoding)
    if inflater_type is None:
        raise ApiError(415, "unsupported_encoding", f"Content-Encoding {encoding!r} is not supported; use gzip or br")
    declared = request.headers.get("content-length", "")
    if encoding == "identity" and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    inflater: _Inflater = inflater_type()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        try:
            out = inflater.feed(chunk, limit + 1 - size)
        except _DECODE_ERRORS as exc:
            raise ApiError(400, "invalid_encoding", f"the {encoding} body cannot be decompressed: {exc}") from exc
        size += len(out)
        if size > limit or inflater.has_more():
            raise _too_large(limit)
        chunks.append(out)
    if not inflater.finished():
        raise ApiError(400, "invalid_encoding", f"the {encoding} body is truncated")
    request.state.body_bytes = size  # for the request-size histogram, observed with the request's stream
    return b"".join(chunks)
