"""Where originals come from: a local folder or an HTTP(S) base URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

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


class Origin(Protocol):
    async def stat(self, key: str) -> ObjectInfo | None:
        """The current identity of `key` without reading it, or None when only a fetch can tell.

        Raises NotFound when the origin knows the key is missing.
        """

    async def fetch(self, key: str) -> Original:
        """The whole original, at most `max_source_bytes` long (TooLarge beyond)."""

    async def passthrough(self, key: str, request: Request) -> Response:
        """The original as the origin serves it, streamed, for requests without a pipeline."""

    async def aclose(self) -> None: ...


def open_origin(settings: Settings) -> Origin:
    from imgproxy.origin.folder import FolderOrigin
    from imgproxy.origin.http import HTTPOrigin

    if settings.origin.startswith(("http://", "https://")):
        return HTTPOrigin(settings)
    if "://" in settings.origin:
        raise ConfigError(f"IMGPROXY_ORIGIN: only folders and http(s):// URLs are supported, got {settings.origin!r}")
    return FolderOrigin(settings)
