"""When the proxy may answer from what the client or a cache already holds: the strong ETag of a
result, conditional requests (RFC 9110 section 13), and the caching headers of download answers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from starlette.datastructures import Headers
from starlette.responses import Response

from imgproxy import PROCESSING_VERSION
from imgproxy.config import Settings
from imgproxy.pipeline.run import Result


@dataclass(frozen=True)
class Version:
    """What identifies one version of an answer to a client's cache."""

    etag: str | None  # strong, quoted
    last_modified: str | None  # HTTP date


def result_version(identity: str, canonical_pipeline: str, last_modified: str | None) -> Version:
    """The version of one pipeline's result on one version of one original (`identity`: the
    origin's ETag, or the hash of the original's bytes), carrying the original's Last-Modified."""
    text = f"{identity}|{canonical_pipeline}|{PROCESSING_VERSION}"
    return Version('"' + hashlib.blake2b(text.encode(), digest_size=16).hexdigest() + '"', last_modified)


def is_not_modified(headers: Headers, version: Version) -> bool:
    """True when the request's validators match, so a 304 answers it.

    If-None-Match wins over If-Modified-Since and compares weakly, as the RFC says for GET and HEAD.
    """
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if version.etag is None:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or version.etag.removeprefix("W/") in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since and version.last_modified:
        try:
            return parsedate_to_datetime(version.last_modified) <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


def caching(settings: Settings) -> dict[str, str]:
    """What every cacheable download answer allows shared caches (nginx, a CDN) to do."""
    return {"Cache-Control": f"public, max-age={settings.max_age}"}


def validators(version: Version) -> dict[str, str]:
    headers = {}
    if version.etag:
        headers["ETag"] = version.etag
    if version.last_modified:
        headers["Last-Modified"] = version.last_modified
    return headers


def answer(result: Result, settings: Settings, version: Version) -> Response:
    if not result.cacheable:  # JSON documents describe one request's view
        return Response(result.body, media_type=result.content_type, headers={**result.headers, "Cache-Control": "no-store"})
    headers = {**result.headers, **caching(settings), **validators(version)}
    return Response(result.body, media_type=result.content_type, headers=headers)


def not_modified(settings: Settings, version: Version) -> Response:
    return Response(status_code=304, headers={**caching(settings), **validators(version)})
