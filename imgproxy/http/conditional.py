"""Conditional requests (RFC 9110 section 13): does the client already hold this version?"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from starlette.datastructures import Headers


def is_not_modified(headers: Headers, etag: str | None, last_modified: str | None) -> bool:
    """True when the request's validators match, so a 304 answers it.

    If-None-Match wins over If-Modified-Since and compares weakly, as the RFC says for GET and HEAD.
    """
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if etag is None:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since and last_modified:
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False
