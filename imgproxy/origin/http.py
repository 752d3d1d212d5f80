"""An HTTP(S) base URL as the origin (a bucket endpoint, MinIO, nginx, a CDN), over one pooled client."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypeVar
from urllib.parse import quote

import httpx
from cachetools import LRUCache
from httpx_retries import Retry, RetryTransport

from imgproxy import __version__
from imgproxy.capped import read_capped
from imgproxy.config import Settings
from imgproxy.errors import GatewayTimeout, NotFound, TooLarge
from imgproxy.metrics import ORIGIN_RETRIES
from imgproxy.origin import ObjectInfo, Original, OriginFailed, OriginRefused, OriginUnreachable, Streamed

T = TypeVar("T")
log = logging.getLogger("imgproxy")
# Per origin: enough connections for a busy worker, and idle ones kept to skip the TLS handshake.
ORIGIN_POOL = httpx.Limits(max_connections=256, max_keepalive_connections=64)

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


# Signs an origin request in place (S3's Signature V4, Qiniu's private-download token).
Signer = Callable[[httpx.Request], Awaitable[None]]
# Answers worth another try: the origin or something before it failed, or throttles (S3's SlowDown).
RETRIED_STATUSES = (500, 502, 503, 504)
TRIED = "imgproxy.tried"  # marks a request the pool has sent once already
# S3's codes for credentials it refuses with a 400 rather than a 403: a session token gone stale.
CREDENTIAL_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "TokenRefreshRequired"})


class CountedTransport(httpx.AsyncHTTPTransport):
    """The pool under the retries, counting each request's tries after its first as retries."""

    def __init__(self, origin: str) -> None:
        super().__init__(limits=ORIGIN_POOL)
        self.origin = origin

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.extensions.get(TRIED):
            ORIGIN_RETRIES.labels(self.origin).inc()
        request.extensions[TRIED] = True
        return await super().handle_async_request(request)


class HTTPOrigin:
    """Objects under `base`, fetched over one pooled client; `sign` signs every request; `name`
    labels its metrics."""

    def __init__(self, settings: Settings, base: str, name: str, sign: Signer | None = None) -> None:
        self.base = base.rstrip("/")
        self.sign = sign
        self.max_bytes = settings.max_source_bytes
        self.deadline = settings.origin_timeout
        self.ttl = settings.origin_ttl
        # Idempotent requests only, and all of them within the whole-fetch deadline (`_call`).
        retry = Retry(
            total=settings.origin_retries,
            allowed_methods=("GET", "HEAD"),
            status_forcelist=RETRIED_STATUSES,
            retry_on_exceptions=(httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError),
            backoff_factor=0.2,
            backoff_jitter=1.0,
        )
        self.client = httpx.AsyncClient(
            transport=RetryTransport(CountedTransport(name), retry=retry),
            timeout=httpx.Timeout(settings.origin_timeout, connect=settings.origin_connect_timeout),
            # A redirect could point anywhere, the proxy's own network included (SSRF): an origin is
            # a bucket endpoint that answers for its own objects.
            follow_redirects=False,
            headers={"User-Agent": f"imgproxy/{__version__}"},
        )
        # key -> (identity, when the origin last confirmed it): lets cache hits skip the origin
        # for `ttl` seconds, then revalidate with If-None-Match instead of downloading again.
        self.known: LRUCache[str, tuple[ObjectInfo, float]] = LRUCache(maxsize=100_000)

    def url_of(self, key: str) -> str:
        return f"{self.base}/{quote(key, safe='/~')}"

    async def stat(self, key: str) -> ObjectInfo | None:
        entry = self.known.get(key)
        if entry is None:
            return None
        info, checked_at = entry
        if time.monotonic() - checked_at < self.ttl:
            return info
        headers = {"If-None-Match": info.etag} if info.etag else {}
        response = await self._call(self._send("HEAD", key, headers))
        if response.status_code == 304:
            self.known[key] = (info, time.monotonic())
            return info
        await check_status(response)
        fresh = info_from_headers(response.headers)
        self._remember(key, fresh)
        return fresh if fresh.etag else None

    async def fetch(self, key: str) -> Original:
        async def download() -> Original:
            response = await self._send("GET", key, {}, stream=True)
            try:
                await check_status(response)
                declared = response.headers.get("content-length")
                data = await read_capped(response.aiter_bytes(), declared, self.max_bytes, "original", TooLarge)
            finally:
                await response.aclose()
            info = info_from_headers(response.headers)
            self._remember(key, info)
            return Original(info, data)

        return await self._call(download())

    async def passthrough(self, key: str, method: str, headers: Mapping[str, str]) -> Streamed:
        forwarded_request = {name: headers[name] for name in FORWARDED_REQUEST_HEADERS if name in headers}
        deadline = asyncio.get_running_loop().time() + self.deadline
        response = await self._call(self._send(method, key, forwarded_request, stream=True))
        try:
            await check_status(response)
        except BaseException:
            await response.aclose()
            raise
        forwarded = {name: response.headers[name] for name in FORWARDED_RESPONSE_HEADERS if name in response.headers}
        return Streamed(response.status_code, forwarded, within(response.aiter_raw(), deadline), response.aclose)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _send(self, method: str, key: str, headers: Mapping[str, str], stream: bool = False) -> httpx.Response:
        request = self.client.build_request(method, self.url_of(key), headers=headers)
        if self.sign is not None:
            await self.sign(request)
        return await self.client.send(request, stream=stream)

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
            raise OriginUnreachable(f"origin unreachable: {type(exc).__name__}") from None


async def within(chunks: AsyncIterator[bytes], deadline: float) -> AsyncIterator[bytes]:
    """`chunks` until the loop time `deadline`: a trickling origin is cut off after the whole-fetch
    timeout. The answer has started by then, so the client sees the connection close early."""
    async with asyncio.timeout_at(deadline):
        async for chunk in chunks:
            yield chunk


async def check_status(response: httpx.Response) -> None:
    status = response.status_code
    if status in (404, 410):
        raise NotFound()
    code = error_code(await response.aread()) if status in (400, 401, 403) else "-"
    if status in (401, 403) or code in CREDENTIAL_ERRORS:
        # S3 says why in its XML body (AccessDenied, SignatureDoesNotMatch, ExpiredToken...): the
        # operator's log gets the code, never a secret; the client only that access was refused.
        log.warning("origin refused %s %s: %s %s", response.request.method, response.url.path, status, code)
        raise OriginRefused(f"origin refused the proxy's credentials ({status})")
    if status >= 400:
        raise OriginFailed(f"origin answered {status}")
    if 300 <= status < 400 and status != 304:  # 304: the answer to a conditional request
        raise OriginFailed(f"origin answered {status} (a redirect, which the proxy does not follow)")


def error_code(body: bytes) -> str:
    """The <Code> of an S3 error document, or "-"."""
    start, end = body.find(b"<Code>"), body.find(b"</Code>")
    return body[start + 6 : end].decode("ascii", "replace")[:64] if 0 <= start < end else "-"


def info_from_headers(headers: httpx.Headers) -> ObjectInfo:
    etag = headers.get("etag")
    if etag and etag.startswith("W/"):
        etag = None  # a weak validator cannot identify the exact bytes a result was made from
    return ObjectInfo(
        etag=etag,
        last_modified=headers.get("last-modified"),
        content_type=headers.get("content-type", "application/octet-stream"),
    )
