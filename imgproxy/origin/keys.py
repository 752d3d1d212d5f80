"""Object keys from request paths, refusing every form that could escape the origin's root."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from imgproxy.errors import NotFound


def key_from_raw_path(raw_path: bytes) -> str:
    """The object key of a request path such as b"/avatars/u%201.jpg" -> "avatars/u 1.jpg".

    Each segment is percent-decoded on its own, so an encoded slash cannot join two segments;
    empty, "." and ".." segments, NUL bytes, backslashes and invalid UTF-8 are all "not found".
    """
    if not raw_path.startswith(b"/"):
        raise NotFound()
    segments = []
    for raw in raw_path[1:].split(b"/"):
        decoded = unquote_to_bytes(raw)
        if decoded in (b"", b".", b"..") or any(c in decoded for c in b"/\\\x00"):
            raise NotFound()
        try:
            segments.append(decoded.decode("utf-8"))
        except UnicodeDecodeError:
            raise NotFound() from None
    return "/".join(segments)
