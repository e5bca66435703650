"""Read a request body with a hard size cap, before and after gzip decompression."""

import zlib
from collections.abc import AsyncIterator

from receiver.errors import ApiError

JSON_MEDIA_TYPE = "application/json"


def check_content_type(content_type: str | None) -> None:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type must be {JSON_MEDIA_TYPE}, got {media_type or 'none'!r}",
        )


def too_large(limit: int) -> ApiError:
    return ApiError(
        413, "body_too_large", f"The body is larger than {limit} bytes (also checked after gzip)."
    )


def check_content_length(value: str | None, limit: int) -> None:
    if value is not None and value.isdigit() and int(value) > limit:
        raise too_large(limit)


async def read_capped(stream: AsyncIterator[bytes], limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def decode_content(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo `Content-Encoding`; gzip output is bounded so a zip bomb stops at `limit` + 1 bytes."""
    coding = (encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding not in ("gzip", "x-gzip"):
        raise ApiError(
            415,
            "unsupported_content_encoding",
            f"Content-Encoding {coding!r} is not supported; use gzip or none",
        )
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise ApiError(400, "malformed_gzip", "The body is not valid gzip data.") from None
    if len(data) > limit:
        raise too_large(limit)
    if not inflater.eof:
        raise ApiError(400, "malformed_gzip", "The gzip data is truncated.")
    return data
