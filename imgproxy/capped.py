"""Reading a body of unknown honesty under a byte limit: origins, image_url downloads, API requests."""

from __future__ import annotations

from collections.abc import AsyncIterable

from imgproxy.errors import ProxyError


async def read_capped(
    chunks: AsyncIterable[bytes], declared_length: str | None, limit: int, what: str, error: type[ProxyError]
) -> bytes:
    """All of `chunks`, refused with `error` as soon as they are known to be over `limit` bytes:
    from the declared Content-Length before reading, and again while streaming (it may lie)."""
    if declared_length and declared_length.isdigit() and int(declared_length) > limit:
        raise error(f"{what} is {declared_length} bytes, over the limit of {limit}")
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise error(f"{what} is over the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)
