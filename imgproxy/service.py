"""The long-lived parts of one proxy process and the path from an original to a processed result."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from cachetools import LRUCache
from PIL import Image

from imgproxy.config import Settings
from imgproxy.errors import GatewayTimeout, NotFound, ProxyError
from imgproxy.faces.detect import DetectOptions, detect
from imgproxy.faces.finder import FaceFinder
from imgproxy.metrics import CACHE_LOOKUPS, ORIGIN_BYTES, ORIGIN_ERRORS, ORIGIN_FETCH
from imgproxy.origin import ObjectInfo, Original, OriginFailed, OriginRefused, Origins, OriginUnreachable, Source
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.parse import Pipeline
from imgproxy.pipeline.run import Result, run
from imgproxy.pipeline.values import Encoded
from imgproxy.singleflight import SingleFlight
from imgproxy.workers import WorkerPool

T = TypeVar("T")

# One cached detection costs a few hundred bytes; give detections this share of the cache budget.
BYTES_PER_DETECTION = 2048


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.origins = Origins(settings)
        self.pool = WorkerPool(settings.thread_count, settings.queue_limit)
        self.faces = FaceFinder(settings.cache_bytes // BYTES_PER_DETECTION // 16)
        self.results: LRUCache[tuple[str, str, str, str, str | None], Result] | None = (
            LRUCache(settings.cache_bytes, getsizeof=lambda r: r.size) if settings.cache_bytes else None
        )
        self.fetches: SingleFlight[Original] = SingleFlight()
        self.requests: SingleFlight[Processed] = SingleFlight()
        self.ready = False

    async def start(self) -> None:
        # Build both detectors' networks before declaring readiness, so /readyz means "models
        # loaded": a blank 320x240 image searched for faces from 16 px runs MediaPipe's pass and
        # YuNet's fine search (their sessions take some 450 and 80 ms to build).
        await self.pool.run(detect, Image.new("RGB", (320, 240)), DetectOptions(min_face_size=16))
        self.ready = True

    async def close(self) -> None:
        self.ready = False
        await self.origins.aclose()
        self.pool.shutdown()

    def cached(self, source: Source, key: str, identity: str, pipeline: Pipeline, auto_format: str | None) -> Result | None:
        """The cached result, counted as a hit; a miss is counted once, where the result is computed.
        `auto_format` is the format the client's Accept chose (None: the pipeline's own)."""
        entry = (source.name, key, identity, pipeline.canonical(), auto_format)
        result = self.results.get(entry) if self.results is not None else None
        if result is not None:
            CACHE_LOOKUPS.labels("result", "hit").inc()
        return result

    async def process(
        self, source: Source, key: str, pipeline: Pipeline, looked_up: str | None = None, auto_format: str | None = None
    ) -> Processed:
        """`pipeline` on the current `key`, its image written as `auto_format` when that is not None:
        fetched and computed once however many ask at the same time, while requests for other
        pipelines (or formats) of the same key share the download. The result cache is not asked
        again under `looked_up`, the identity the caller has just looked up.
        """
        flight = (source.name, key, pipeline.canonical(), auto_format)
        if not self.requests.running(flight):
            self.pool.admit()  # shed before the download; a request joining one in flight costs nothing
        return await self.requests.do(flight, lambda: self._process(source, key, pipeline, looked_up, auto_format))

    async def _process(
        self, source: Source, key: str, pipeline: Pipeline, looked_up: str | None, auto_format: str | None
    ) -> Processed:
        original = await self.fetches.do((source.name, key), lambda: fetch(source, key))
        encoded = Encoded(original.data, original.info.content_type)
        # The origin's ETag, or the content hash, which the detection cache reuses (hashed once, in
        # a thread: 20 MiB take the event loop 40 ms).
        identity = original.info.etag or f'"{await asyncio.to_thread(lambda: encoded.digest)}"'
        result = None if identity == looked_up else self.cached(source, key, identity, pipeline, auto_format)
        if result is not None:
            return Processed(result, identity, original.info.last_modified, "hit")
        CACHE_LOOKUPS.labels("result", "miss").inc()
        result = await self.pool.run(run, pipeline, encoded, Context(self.settings, self.faces, auto_format))
        if self.results is not None and result.size <= self.settings.cache_bytes:
            self.results[(source.name, key, identity, pipeline.canonical(), auto_format)] = result
        return Processed(result, identity, original.info.last_modified, "miss")


# The kinds of failed fetches the metrics count, by the error each ends in.
FETCH_FAILURES: tuple[tuple[type[ProxyError], str], ...] = (
    (NotFound, "not_found"),
    (OriginRefused, "denied"),
    (GatewayTimeout, "timeout"),
    (OriginFailed, "5xx"),
    (OriginUnreachable, "connect"),
)


async def fetch(source: Source, key: str) -> Original:
    """The original `key` from `source`, its time, size and failures counted per origin."""
    started = time.perf_counter()
    original = await counted(source, source.origin.fetch(key))
    ORIGIN_FETCH.labels(source.name).observe(time.perf_counter() - started)
    ORIGIN_BYTES.labels(source.name).inc(len(original.data))
    return original


async def stat(source: Source, key: str) -> ObjectInfo | None:
    """What `source` knows of `key` without a download (`Origin.stat`), its failures counted."""
    return await counted(source, source.origin.stat(key))


async def counted(source: Source, work: Awaitable[T]) -> T:
    try:
        return await work
    except ProxyError as error:
        kind = next((kind for kind_of, kind in FETCH_FAILURES if isinstance(error, kind_of)), None)
        if kind is not None:
            ORIGIN_ERRORS.labels(source.name, kind).inc()
        raise


@dataclass(frozen=True)
class Processed:
    result: Result
    identity: str  # the original's: the origin's ETag, or the hash of its bytes
    last_modified: str | None
    cache: str  # the result cache's answer: hit or miss
