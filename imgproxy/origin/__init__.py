"""Where originals come from: a local folder or an HTTP(S) base URL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from imgproxy.config import ConfigError, Settings, parse_origin_hosts
from imgproxy.errors import BadGateway, NotFound


@dataclass(frozen=True)
class ObjectInfo:
    """What identifies one version of an original, known before (or without) reading its bytes."""

    etag: str | None  # strong validator, quoted as HTTP sends it; None when the origin gave none
    last_modified: str | None  # HTTP date
    content_type: str


@dataclass(frozen=True)
class Original:
    info: ObjectInfo
    data: bytes


class OriginRefused(BadGateway):
    """The origin refused the proxy's credentials (401, 403)."""


class OriginUnreachable(BadGateway):
    """The origin could not be connected to, or broke its answer."""


class OriginFailed(BadGateway):
    """The origin answered an error (5xx after the retries, another 4xx) or a redirect."""


@dataclass(frozen=True)
class LocalFile:
    """An original to send as it is from the local disk (the HTTP layer answers ranges and HEAD)."""

    path: str
    stat: os.stat_result
    info: ObjectInfo


@dataclass(frozen=True)
class Streamed:
    """An original as the origin answers it: its status and headers, and its body to stream."""

    status: int
    headers: dict[str, str]
    chunks: AsyncIterator[bytes]
    close: Callable[[], Awaitable[None]]  # called once the body is sent or abandoned


Passthrough = LocalFile | Streamed
# IMGPROXY_ORIGIN=none: no origin for a Host that IMGPROXY_ORIGIN_BY_HOST does not name (404).
NO_ORIGIN = "none"


class Origin(Protocol):
    async def stat(self, key: str) -> ObjectInfo | None:
        """The current identity of `key` without reading it, or None when only a fetch can tell.

        Raises NotFound when the origin knows the key is missing.
        """

    async def fetch(self, key: str) -> Original:
        """The whole original, at most `max_source_bytes` long (TooLarge beyond)."""

    async def passthrough(self, key: str, method: str, headers: Mapping[str, str]) -> Passthrough:
        """The original as the origin serves it, for requests without a pipeline. `headers` are the
        client's request headers: the conditional and range ones are the origin's to answer."""

    async def aclose(self) -> None: ...


def open_origin(settings: Settings, spec: str) -> Origin:
    """The origin `spec` names: a folder, an http(s):// base URL or an s3:// bucket."""
    from imgproxy.origin.folder import FolderOrigin
    from imgproxy.origin.http import HTTPOrigin
    from imgproxy.origin.kodo import PrivateDownloadSigner
    from imgproxy.origin.s3 import SigV4Signer, bucket_url, s3_location

    if spec.startswith(("http://", "https://")):
        sign = PrivateDownloadSigner(settings.origin_qiniu_key) if settings.origin_qiniu_key else None
        return HTTPOrigin(settings, spec, spec, sign)
    if spec.startswith("s3://"):
        return HTTPOrigin(settings, bucket_url(s3_location(spec), settings), spec, SigV4Signer(settings.s3_region))
    if "://" in spec:
        raise ConfigError(f"IMGPROXY_ORIGIN: only folders, http(s):// URLs and s3:// buckets are supported, got {spec!r}")
    return FolderOrigin(settings, spec)


@dataclass(frozen=True)
class Source:
    """One configured origin and its name (the origin as configured): results, downloads and
    metrics are kept apart by it, so two buckets' objects of the same key never mix."""

    name: str
    origin: Origin


def host_name(host: str | None) -> str:
    """The name in a Host header, lower case, without its port: "Img.Example.com:8080" -> "img.example.com"."""
    host = (host or "").strip().lower()
    if host.startswith("["):  # an IPv6 literal, whose colons are not a port's
        return host.partition("]")[0] + "]"
    return host.partition(":")[0].rstrip(".")


class Origins:
    """The origin of each request, by its Host (IMGPROXY_ORIGIN_BY_HOST), else IMGPROXY_ORIGIN."""

    def __init__(self, settings: Settings) -> None:
        self.default = None if settings.origin == NO_ORIGIN else Source(settings.origin, open_origin(settings, settings.origin))
        self.by_host = {
            host: Source(spec, open_origin(settings, spec)) for host, spec in parse_origin_hosts(settings.origin_by_host).items()
        }

    def for_host(self, host: str | None) -> Source:
        """The source of a request whose Host header is `host` (its port ignored)."""
        source = self.by_host.get(host_name(host), self.default)
        if source is None:
            raise NotFound()
        return source

    async def aclose(self) -> None:
        for source in {id(s): s for s in (self.default, *self.by_host.values()) if s is not None}.values():
            await source.origin.aclose()
