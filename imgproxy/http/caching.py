"""When the proxy may answer from what the client or a cache already holds: the strong ETag of a
result, conditional requests (RFC 9110 section 13), the caching headers of download answers, and
the format the client's Accept chooses (section 12.5.1), which varies them."""

from __future__ import annotations

import hashlib
import re
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


# A weight as RFC 9110 spells it: 0 to 1 with at most three decimals.
QVALUE = re.compile(r"0(\.\d{0,3})?|1(\.0{0,3})?")


def negotiate(accept: str | None, offered: tuple[str, ...]) -> str | None:
    """The format of `offered` (Pillow's names, the preferred first) that `accept` lists by its
    media type with the highest weight above 0, the earlier on a tie; None when it lists none.

    Wildcards choose nothing: curl sends `*/*` and browsers end with `image/*,*/*` whatever they
    decode, so only a named type shows the client can read it (`image/webp;q=0` refuses it).
    """
    weights: dict[str, float] = {}
    for item in (accept or "").split(","):
        media, *parameters = item.split(";")
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                weight = float(value) if QVALUE.fullmatch(value) else 0.0  # a weight we cannot read accepts nothing
        media = media.strip().lower()
        weights[media] = max(weight, weights.get(media, 0.0))
    best = max(offered, key=lambda format: weights.get(media_type(format), 0.0), default=None)
    return best if best is not None and weights.get(media_type(best), 0.0) > 0 else None


def media_type(format: str) -> str:
    return f"image/{format.lower()}"


def result_version(identity: str, canonical_pipeline: str, last_modified: str | None, auto_format: str | None = None) -> Version:
    """The version of one pipeline's result on one version of one original (`identity`: the
    origin's ETag, or the hash of the original's bytes), carrying the original's Last-Modified;
    written as the `auto_format` the client's Accept chose, when it chose one."""
    written_as = f"|as {auto_format}" if auto_format else ""  # the ETags of unnegotiated answers stay as they were
    text = f"{identity}|{canonical_pipeline}{written_as}|{PROCESSING_VERSION}"
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


# What answers of a pipeline whose format the client's Accept may choose carry, 304s included, so
# that caches keep one answer per Accept rather than hand a WebP to a client that never asked.
VARY = {"Vary": "Accept"}


def answer(result: Result, cache_control: dict[str, str], version: Version, varies: bool = False) -> Response:
    if not result.cacheable:  # JSON documents describe one request's view, whatever its Accept
        return Response(result.body, media_type=result.content_type, headers={**result.headers, "Cache-Control": "no-store"})
    headers = {**result.headers, **cache_control, **validators(version), **(VARY if varies else {})}
    return Response(result.body, media_type=result.content_type, headers=headers)


def not_modified(cache_control: dict[str, str], version: Version, varies: bool = False) -> Response:
    return Response(status_code=304, headers={**cache_control, **validators(version), **(VARY if varies else {})})
