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


def caching(settings: Settings, token_deadline: int | None, now: float) -> dict[str, str]:
    """What a cacheable download answer allows caches to do. An answer a download token authorized
    is never kept past the token's deadline, and by default only by the client's own cache: a
    shared cache (nginx, a CDN) would hand it to anyone who asks for the same URL, expired or not."""
    if token_deadline is None:
        return {"Cache-Control": f"public, max-age={settings.max_age}"}
    left = max(0, min(settings.max_age, token_deadline - int(now)))
    return {"Cache-Control": f"{'public' if settings.cache_until_token_expires else 'private'}, max-age={left}"}


def validators(version: Version) -> dict[str, str]:
    headers = {}
    if version.etag:
        headers["ETag"] = version.etag
    if version.last_modified:
        headers["Last-Modified"] = version.last_modified
    return headers


def answer(result: Result, cache_control: dict[str, str], version: Version) -> Response:
    if not result.cacheable:  # JSON documents describe one request's view
        return Response(result.body, media_type=result.content_type, headers={**result.headers, "Cache-Control": "no-store"})
    headers = {**result.headers, **cache_control, **validators(version)}
    return Response(result.body, media_type=result.content_type, headers=headers)


def not_modified(cache_control: dict[str, str], version: Version) -> Response:
    return Response(status_code=304, headers={**cache_control, **validators(version)})
