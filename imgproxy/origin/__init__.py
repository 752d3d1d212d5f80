"""Where originals come from: a local folder or an HTTP(S) base URL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from imgproxy.config import ConfigError, Settings


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


def open_origin(settings: Settings) -> Origin:
    from imgproxy.origin.folder import FolderOrigin
    from imgproxy.origin.http import HTTPOrigin
    from imgproxy.origin.kodo import PrivateDownloadSigner
    from imgproxy.origin.s3 import SigV4Signer, bucket_url, s3_location

    if settings.origin.startswith(("http://", "https://")):
        sign = PrivateDownloadSigner(settings.origin_qiniu_key) if settings.origin_qiniu_key else None
        return HTTPOrigin(settings, settings.origin, sign)
    if settings.origin.startswith("s3://"):
        return HTTPOrigin(settings, bucket_url(s3_location(settings.origin), settings), SigV4Signer(settings.s3_region))
    if "://" in settings.origin:
        raise ConfigError(
            f"IMGPROXY_ORIGIN: only folders, http(s):// URLs and s3:// buckets are supported, got {settings.origin!r}"
        )
    return FolderOrigin(settings)
