"""An HTTP(S) base URL as the origin (a bucket endpoint, MinIO, nginx, a CDN), over one pooled client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import TypeVar
from urllib.parse import quote

import httpx
from cachetools import LRUCache

from imgproxy import __version__
from imgproxy.capped import read_capped
from imgproxy.config import Settings
from imgproxy.errors import BadGateway, GatewayTimeout, NotFound, TooLarge
from imgproxy.origin import ObjectInfo, Original, Streamed

T = TypeVar("T")

# Request headers a passthrough forwards, so the origin answers 304s and ranges itself.
FORWARDED_REQUEST_HEADERS = ("if-none-match", "if-modified-since", "range", "if-range")
# Response headers a passthrough carries back to the client.
FORWARDED_RESPONSE_HEADERS = (
    "content-type",
    "content-length",
    "content-encoding",
    "content-range",
    "accept-ranges",
    "etag",
    "last-modified",
    "cache-control",
    "expires",
)


class HTTPOrigin:
    def __init__(self, settings: Settings) -> None:
        self.base = settings.origin.rstrip("/")
        self.max_bytes = settings.max_source_bytes
        self.deadline = settings.origin_timeout
        self.ttl = settings.origin_ttl
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.origin_timeout, connect=settings.origin_connect_timeout),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            # A redirect could point anywhere, the proxy's own network included (SSRF): an origin is
            # a bucket endpoint that answers for its own objects.
            follow_redirects=False,
            headers={"User-Agent": f"imgproxy/{__version__}"},
        )
        # key -> (identity, when the origin last confirmed it): lets cache hits skip the origin
        # for `ttl` seconds, then revalidate with If-None-Match instead of downloading again.
        self.known: LRUCache[str, tuple[ObjectInfo, float]] = LRUCache(maxsize=100_000)

    def url_of(self, key: str) -> str:
        return f"{self.base}/{quote(key, safe='/')}"

    async def stat(self, key: str) -> ObjectInfo | None:
        entry = self.known.get(key)
        if entry is None:
            return None
        info, checked_at = entry
        if time.monotonic() - checked_at < self.ttl:
            return info
        headers = {"If-None-Match": info.etag} if info.etag else {}
        response = await self._call(self.client.head(self.url_of(key), headers=headers))
        if response.status_code == 304:
            self.known[key] = (info, time.monotonic())
            return info
        check_status(response)
        fresh = info_from_headers(response.headers)
        self._remember(key, fresh)
        return fresh if fresh.etag else None

    async def fetch(self, key: str) -> Original:
        async def download() -> Original:
            async with self.client.stream("GET", self.url_of(key)) as response:
                check_status(response)
                declared = response.headers.get("content-length")
                data = await read_capped(response.aiter_bytes(), declared, self.max_bytes, "original", TooLarge)
                info = info_from_headers(response.headers)
                self._remember(key, info)
                return Original(info, data)

        return await self._call(download())

    async def passthrough(self, key: str, method: str, headers: Mapping[str, str]) -> Streamed:
        forwarded_request = {name: headers[name] for name in FORWARDED_REQUEST_HEADERS if name in headers}
        outgoing = self.client.build_request(method, self.url_of(key), headers=forwarded_request)
        deadline = asyncio.get_running_loop().time() + self.deadline
        response = await self._call(self.client.send(outgoing, stream=True))
        try:
            check_status(response)
        except BaseException:
            await response.aclose()
            raise
        forwarded = {name: response.headers[name] for name in FORWARDED_RESPONSE_HEADERS if name in response.headers}
        return Streamed(response.status_code, forwarded, within(response.aiter_raw(), deadline), response.aclose)

    async def aclose(self) -> None:
        await self.client.aclose()

    def _remember(self, key: str, info: ObjectInfo) -> None:
        if info.etag is None:
            self.known.pop(key, None)
        else:
            self.known[key] = (info, time.monotonic())

    async def _call(self, work: Awaitable[T]) -> T:
        """Await origin I/O under the whole-fetch deadline, turning transport failures into 502/504."""
        try:
            async with asyncio.timeout(self.deadline):
                return await work
        except (TimeoutError, httpx.TimeoutException):
            raise GatewayTimeout(f"origin timed out after {self.deadline:g} s") from None
        except httpx.HTTPError as exc:
            raise BadGateway(f"origin unreachable: {type(exc).__name__}") from None


async def within(chunks: AsyncIterator[bytes], deadline: float) -> AsyncIterator[bytes]:
    """`chunks` until the loop time `deadline`: a trickling origin is cut off after the whole-fetch
    timeout. The answer has started by then, so the client sees the connection close early."""
    async with asyncio.timeout_at(deadline):
        async for chunk in chunks:
            yield chunk


def check_status(response: httpx.Response) -> None:
    status = response.status_code
    if status in (404, 410):
        raise NotFound()
    if status >= 400:
        raise BadGateway(f"origin answered {status}")
    if 300 <= status < 400 and status != 304:  # 304: the answer to a conditional request
        raise BadGateway(f"origin answered {status} (a redirect, which the proxy does not follow)")


def info_from_headers(headers: httpx.Headers) -> ObjectInfo:
    etag = headers.get("etag")
    if etag and etag.startswith("W/"):
        etag = None  # a weak validator cannot identify the exact bytes a result was made from
    return ObjectInfo(
        etag=etag,
        last_modified=headers.get("last-modified"),
        content_type=headers.get("content-type", "application/octet-stream"),
    )
