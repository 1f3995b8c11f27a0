"""Reading a request body within the size limit, inflating gzip without ever holding more than the limit."""

import zlib

from fastapi import Request

from pulse_common.http.errors import ApiError


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "request_too_large", f"the request body exceeds {limit} bytes (after decompression)")


async def read_body(request: Request, limit: int) -> bytes:
    """The request's bytes, decompressed; 413 as soon as more than ``limit`` would be read."""
    declared = request.headers.get("content-length")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise ApiError(415, "unsupported_encoding", f"Content-Encoding {encoding!r} is not supported; use gzip")
    if encoding == "identity" and declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    inflater = zlib.decompressobj(wbits=47) if encoding == "gzip" else None  # 47: gzip or zlib header
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        if inflater is not None:
            try:
                chunk = inflater.decompress(chunk, limit + 1 - size)
            except zlib.error as exc:
                raise ApiError(400, "invalid_gzip", f"the gzip body cannot be inflated: {exc}") from exc
            if inflater.unconsumed_tail:
                raise _too_large(limit)
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    if inflater is not None and not inflater.eof:
        raise ApiError(400, "invalid_gzip", "the gzip body is truncated")
    return b"".join(chunks)
