"""The fields of a detect-API request and the image in them: a multipart file, base64 text or a URL.

Every detect dialect reads its requests through here: `read_fields` once, then the function of
the source the client chose. Each failure is a ProxyError subclass of its own, so the native API
answers its status and a vendor dialect can map it to the vendor's error code.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from imgproxy.api.fetch import FetchPolicy, Resolver, fetch, resolve_host
from imgproxy.capped import read_capped
from imgproxy.config import Settings
from imgproxy.errors import BadRequest, RequestTimeout, TooLarge, Unsupported

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
JSON_TYPE = "application/json"
# A data URL's head ("data:image/jpeg;base64,"), which browsers' FileReader puts before the data.
DATA_URL = re.compile(r"^data:[\w.+/-]*(;[\w.+-]+=[\w.+-]+)*;base64,", re.IGNORECASE)
WHITESPACE = re.compile(rb"\s+")

Fields = dict[str, Any]  # name -> a JSON value, a form field's text, or a FilePart


@dataclass(frozen=True)
class FilePart:
    """A file of a multipart body, read whole: the body is already within its limit."""

    filename: str | None
    content_type: str | None
    data: bytes


class BodyTooLarge(TooLarge):
    pass


class BodyTimeout(RequestTimeout):
    """The client sent its headers but not its whole body in time."""


class MalformedBody(BadRequest):
    """The body does not parse as its Content-Type says."""


class UnsupportedBody(Unsupported):
    """The body's Content-Type is none of the ones the APIs read."""


class MissingImage(BadRequest):
    pass


class EmptyImage(BadRequest):
    pass


class NotAFile(BadRequest):
    """A field that must be a file upload came as text, or the other way round."""


class BadBase64(BadRequest):
    pass


class ImageTooLarge(TooLarge):
    pass


async def read_body(request: Request, limit: int, timeout: float | None) -> bytes:
    """The whole body, refused (413) as soon as it is known to be over `limit` bytes, and (408) when
    it has not all come within `timeout` seconds (None: no deadline, for a body already in memory).

    The deadline frees what a client that withholds its last bytes would otherwise hold forever.
    """
    try:
        async with asyncio.timeout(timeout):
            return await read_capped(request.stream(), request.headers.get("content-length"), limit, "request body", BodyTooLarge)
    except TimeoutError:
        raise BodyTimeout(f"request body not received within {timeout:g} s") from None


async def read_fields(request: Request, limit: int, timeout: float | None) -> Fields:
    """The fields of a multipart, url-encoded or JSON (object) body of at most `limit` bytes, read
    within `timeout` seconds (see `read_body`).

    An empty body has no fields, whatever its Content-Type. A field given twice is refused: which
    one counts would be a guess.
    """
    body = await read_body(request, limit, timeout)
    if not body:
        return {}
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == JSON_TYPE:
        try:
            value = json.loads(body)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, and an integer over 4,300 digits
            raise MalformedBody(f"the body is not valid JSON: {exc}") from None
        except RecursionError:
            raise MalformedBody("the JSON body is nested too deeply") from None
        if not isinstance(value, dict):
            raise MalformedBody("the JSON body must be an object")
        return value
    if media_type in FORM_TYPES:
        return await form_fields(request, body, limit)
    raise UnsupportedBody(
        "Content-Type must be multipart/form-data, application/x-www-form-urlencoded or "
        f"{JSON_TYPE}, got {media_type or 'none'!r}"
    )


async def form_fields(request: Request, body: bytes, limit: int) -> Fields:
    async def replay() -> Message:  # the body was already read, within the limit
        return {"type": "http.request", "body": body, "more_body": False}

    # Starlette answers a malformed form with a 400 of its own; base64 images are large text fields.
    form = await Request(request.scope, replay).form(max_part_size=limit)
    fields: Fields = {}
    try:
        for name, value in form.multi_items():
            if name in fields:
                raise MalformedBody(f"field {name!r} is given twice")
            fields[name] = (
                FilePart(value.filename, value.content_type, await value.read()) if isinstance(value, UploadFile) else value
            )
    finally:
        await form.close()  # large parts spool to temporary files
    return fields


def file_bytes(value: object, name: str, limit: int) -> bytes:
    """The bytes of the multipart file field `name`."""
    if not isinstance(value, FilePart):
        raise NotAFile(f"{name} must be a file upload (multipart/form-data, e.g. curl -F {name}=@photo.jpg)")
    return checked_image(value.data, name, limit)


def base64_bytes(value: object, name: str, limit: int) -> bytes:
    """The bytes of base64 text (standard or URL-safe alphabet, padding optional, line breaks and a
    data-URL head allowed)."""
    if not isinstance(value, str):
        raise NotAFile(f"{name} must be base64 text")
    text = WHITESPACE.sub(b"", DATA_URL.sub("", value, count=1).encode("ascii", "replace"))
    if len(text) * 3 // 4 > limit + 2:  # before decoding: the padding may be missing
        raise ImageTooLarge(f"{name} decodes to over the limit of {limit} bytes")
    alphabet = b"-_" if b"-" in text or b"_" in text else b"+/"
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), altchars=alphabet, validate=True)
    except (binascii.Error, ValueError):
        raise BadBase64(f"{name} is not valid base64") from None
    return checked_image(data, name, limit)


class Carrier(Enum):
    """How a detect request carries its image."""

    FILE = "file"  # a multipart file part
    BASE64 = "base64"  # base64 text
    URL = "url"  # an http(s) URL the proxy downloads


async def image_bytes(carrier: Carrier, value: object, name: str, settings: Settings, limit: int | None = None) -> bytes:
    """The image in field `name`, carried as `carrier`, at most `limit` bytes (by default
    IMGPROXY_MAX_SOURCE_BYTES): every dialect reads its image through here."""
    limit = settings.max_source_bytes if limit is None else limit
    if carrier is Carrier.FILE:
        return file_bytes(value, name, limit)
    if carrier is Carrier.BASE64:
        return base64_bytes(value, name, limit)
    return await url_bytes(value, name, replace(FetchPolicy.of(settings), max_bytes=limit))


async def url_bytes(value: object, name: str, policy: FetchPolicy, resolve: Resolver = resolve_host) -> bytes:
    """The bytes behind the http(s) URL in field `name`, fetched under `policy` (see `fetch`)."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} must be an http or https URL")
    data = await fetch(value.strip(), policy, resolve)
    return checked_image(data, name, policy.max_bytes)


def checked_image(data: bytes, name: str, limit: int) -> bytes:
    if not data:
        raise EmptyImage(f"{name} is empty (0 bytes)")
    if len(data) > limit:
        raise ImageTooLarge(f"{name} is over the limit of {limit} bytes")
    return data
