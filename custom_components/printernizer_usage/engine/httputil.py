"""Reading HTTP answers without trusting their size."""

import aiohttp


async def read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """At most `limit` + 1 bytes of the body (one more than allowed tells that it was longer)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65_536):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)[: limit + 1]
