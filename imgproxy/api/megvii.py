"""What Megvii's two detect APIs, Face++ Detect v3 (`facepp`) and FaceID detect v1 (`faceid`), share.

Both read form fields with `api_key` and `api_secret`, answer JSON carrying `request_id` and
`time_used`, and spell their errors as one family of codes (`BAD_ARGUMENTS:<key>`, a plain-text 413
"Request Entity Too Large", ...). Each module is a thin adapter: it parses its fields, runs
`vendor.measure` (decode, detect, analyse) as one job of the worker pool, and writes its vendor's JSON.
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from imgproxy.api.access import authorize, key_matches
from imgproxy.api.fetch import URLRefused, URLTimeout, URLTooLarge, URLUnreachable
from imgproxy.api.inputs import (
    FORM_TYPES,
    BadBase64,
    BodyTimeout,
    BodyTooLarge,
    EmptyImage,
    Fields,
    ImageTooLarge,
    MalformedBody,
    NotAFile,
    read_body,
    read_fields,
)
from imgproxy.api.vendor import InvalidImageSize, code_of
from imgproxy.config import Settings
from imgproxy.errors import Overloaded, TooLarge, Unsupported, VendorError
from imgproxy.faces.mesh import FaceAnalysis
from imgproxy.logs import REQUEST_ID
from imgproxy.service import Service

# The whole body of the 413 answer, which both seeds say is plain text and not JSON.
REQUEST_TOO_LARGE = "Request Entity Too Large"


@dataclass(frozen=True)
class Failure:
    status: int
    code: str  # the error text, e.g. "BAD_ARGUMENTS:return_landmark"


class MegviiError(VendorError):
    """A failure already spelled as a Megvii error code."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.code)
        self.status = failure.status
        self.failure = failure


def bad_argument(name: str) -> MegviiError:
    return MegviiError(Failure(400, f"BAD_ARGUMENTS:{name}"))


# The errors of the shared input code (api/inputs.py, api/fetch.py, the decoder, the worker pool) as
# Megvii codes; "{image}" is the field the image came in. Looked up by `code_of`, so the decoder's
# plain Unsupported and TooLarge only catch what no subclass entry does.
INPUT_FAILURES: dict[type[Exception], Failure] = {
    BodyTooLarge: Failure(413, REQUEST_TOO_LARGE),
    BodyTimeout: Failure(400, "BAD_ARGUMENTS:request_body"),  # the family has no timeout code for a request
    # A duplicated field or a multipart body that does not parse (Starlette's HTTPException 400):
    # no one field is to blame.
    MalformedBody: Failure(400, "BAD_ARGUMENTS:request_body"),
    HTTPException: Failure(400, "BAD_ARGUMENTS:request_body"),
    NotAFile: Failure(400, "BAD_ARGUMENTS:{image}"),
    BadBase64: Failure(400, "BAD_ARGUMENTS:{image}"),
    EmptyImage: Failure(400, "IMAGE_ERROR_UNSUPPORTED_FORMAT:{image}"),
    ImageTooLarge: Failure(400, "IMAGE_FILE_TOO_LARGE:{image}"),
    URLTooLarge: Failure(400, "IMAGE_FILE_TOO_LARGE:{image}"),
    URLRefused: Failure(400, "INVALID_IMAGE_URL"),
    URLUnreachable: Failure(400, "INVALID_IMAGE_URL"),
    URLTimeout: Failure(412, "IMAGE_DOWNLOAD_TIMEOUT"),
    Unsupported: Failure(400, "IMAGE_ERROR_UNSUPPORTED_FORMAT:{image}"),  # not an image, or a format refused
    TooLarge: Failure(400, "INVALID_IMAGE_SIZE:{image}"),  # over the pixel limit, read from the header
    InvalidImageSize: Failure(400, "INVALID_IMAGE_SIZE:{image}"),
    Overloaded: Failure(403, "CONCURRENCY_LIMIT_EXCEEDED"),
}
INTERNAL_ERROR = Failure(500, "INTERNAL_ERROR")


@dataclass(frozen=True)
class MegviiSpelling:
    """How one of the two APIs spells its answers within the family."""

    path: str  # where its API answers POST
    op: str  # the metrics label of its requests
    error_key: str  # "error_message" (Face++) or "error" (FaceID)
    missing_prefix: str  # Face++ writes "MISSING_ARGUMENTS: api_key", FaceID "MISSING_ARGUMENTS:api_key"
    refused: Failure  # a key pair that does not match, or an API closed for want of keys
    float_time: bool  # FaceID's time_used is a Float, Face++'s an Int
    # Codes of the family (the part before ":") that this dialect's seed spells its own way.
    respelled: Mapping[str, Failure] = field(default_factory=dict)

    def missing(self, *keys: str) -> Failure:
        return Failure(400, self.missing_prefix + ", ".join(keys))

    def failure_of(self, exc: Exception, image: str | None) -> Failure | None:
        """`exc` as this dialect's failure; None when it is not one of the family's (a bug)."""
        if isinstance(exc, MegviiError):
            return exc.failure
        failure = code_of(INPUT_FAILURES, exc)
        if failure is None:
            return None
        failure = Failure(failure.status, failure.code.format(image=image))
        return self.respelled.get(failure.code.split(":", 1)[0], failure)


@dataclass
class Call:
    """One request: its id and when it started, for `request_id` and `time_used`, and the field its
    image came in once that is known, which the image errors name."""

    request_id: str
    started: float
    image: str | None = None

    @classmethod
    def start(cls, image: str | None = None) -> Call:
        # Megvii's ids read "<unix seconds>,<uuid>": the uuid is the request's own id (X-Request-Id).
        return cls(f"{int(time.time())},{REQUEST_ID.get() or uuid.uuid4()}", time.perf_counter(), image)

    def time_used(self, dialect: MegviiSpelling) -> int | float:
        """Milliseconds since the request started, in the dialect's type."""
        elapsed = (time.perf_counter() - self.started) * 1000
        return round(elapsed, 3) if dialect.float_time else round(elapsed)


def answer(dialect: MegviiSpelling, call: Call, body: dict[str, Any]) -> JSONResponse:
    stamped = {"request_id": call.request_id, "time_used": call.time_used(dialect), **body}
    return JSONResponse(stamped, headers={"Cache-Control": "no-store"})


def refusal(dialect: MegviiSpelling, call: Call, failure: Failure) -> Response:
    if failure.code == REQUEST_TOO_LARGE:
        return PlainTextResponse(REQUEST_TOO_LARGE, status_code=413, headers={"Cache-Control": "no-store"})
    headers = {"Cache-Control": "no-store"}
    if failure.code == "CONCURRENCY_LIMIT_EXCEEDED":
        headers["Retry-After"] = "1"  # load shedding: a retry soon is likely to be served
    body = {dialect.error_key: failure.code, "request_id": call.request_id, "time_used": call.time_used(dialect)}
    return JSONResponse(body, status_code=failure.status, headers=headers)


# What one Megvii API does with a request: the body of its success answer.
Work = Callable[[Request, Service, Call], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class MegviiDialect:
    """One Megvii API as an `api.dialect.Dialect`: its spelling and its work."""

    spelling: MegviiSpelling
    run: Work
    image: str | None = None  # the image's field when the API has one only (FaceID)

    @property
    def path(self) -> str:
        return self.spelling.path

    def start(self) -> Call:
        return Call.start(self.image)

    async def work(self, request: Request, service: Service, call: Call) -> Response:
        return answer(self.spelling, call, await self.run(request, service, call))

    def failure(self, call: Call, error: Exception) -> Response | None:
        failure = self.spelling.failure_of(error, call.image)
        return None if failure is None else refusal(self.spelling, call, failure)

    def internal_error(self, call: Call) -> Response:
        return refusal(self.spelling, call, INTERNAL_ERROR)


@dataclass(frozen=True)
class UnknownEndpoint:
    """The ASGI app of every other request under a dialect's prefix: API_NOT_FOUND, as the vendor
    answers; on the API's own path with another method than POST, with status 405 and Allow.

    An ASGI app rather than an endpoint function, so that its route matches every method.
    """

    dialect: MegviiSpelling

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != self.dialect.path:
            response = refusal(self.dialect, Call.start(), Failure(404, "API_NOT_FOUND"))
        else:
            response = refusal(self.dialect, Call.start(), Failure(405, "API_NOT_FOUND"))
            response.headers["Allow"] = "POST"
        await response(scope, receive, send)


async def read_form(request: Request, limit: int, timeout: float) -> Fields:
    """The fields of a multipart or url-encoded body; any other body has none (but is still capped
    and timed)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in FORM_TYPES:
        await read_body(request, limit, timeout)
        return {}
    return await read_fields(request, limit, timeout)


def text_field(fields: Fields, name: str) -> str | None:
    """The text of field `name`, None when absent; a file in its place is a bad argument."""
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_argument(name)
    return value


def check_keys(dialect: MegviiSpelling, settings: Settings, fields: Fields) -> None:
    """The access rule of every detect API: with keys configured, `api_key` and `api_secret` must be
    one of the pairs; without keys the API is open only when IMGPROXY_API_OPEN says so."""

    def verify(pairs: Mapping[str, str]) -> None:
        key, secret = text_field(fields, "api_key"), text_field(fields, "api_secret")
        if not key:
            raise MegviiError(dialect.missing("api_key"))
        if not secret:
            raise MegviiError(dialect.missing("api_secret"))
        if not key_matches(pairs, key, secret):
            raise MegviiError(dialect.refused)

    authorize(settings, verify, lambda: MegviiError(dialect.refused))


def error_responses(dialect: MegviiSpelling, described: Mapping[int, str]) -> dict[str, Any]:
    """The OpenAPI responses of the dialect's errors: JSON for each status in `described`, plus the
    plain-text 413."""
    time_type = "number" if dialect.float_time else "integer"
    schema = {
        "type": "object",
        "required": [dialect.error_key, "request_id", "time_used"],
        "properties": {
            dialect.error_key: {"type": "string", "description": "The error code, e.g. BAD_ARGUMENTS:<key>."},
            "request_id": {"type": "string"},
            "time_used": {"type": time_type, "description": "Milliseconds spent on the request."},
        },
    }
    responses: dict[str, Any] = {
        str(status): {"description": description, "content": {"application/json": {"schema": schema}}}
        for status, description in described.items()
    }
    responses["413"] = {
        "description": f"The request body is over the limit: the plain text {REQUEST_TOO_LARGE!r}, not JSON.",
        "content": {"text/plain": {"schema": {"type": "string", "enum": [REQUEST_TOO_LARGE]}}},
    }
    return responses


def token_digest(digest: str, *parts: object) -> bytes:
    """A stable digest of one face: the image's content hash and where the face is."""
    return hashlib.sha256("|".join([digest, *map(str, parts)]).encode()).digest()


# Facial quality, 0-100, shared by Face++'s facequality and FaceID's quality.
# Mean skin luma (0-255) in this range is lit well enough; quality falls to 0 over LIGHT_RAMP beyond.
# The range is wide on purpose: dark skin in good light must not read as badly lit.
WELL_LIT = (50.0, 210.0)
LIGHT_RAMP = 40.0


def lighting(luma: float) -> float:
    """1 for a face lit within WELL_LIT, falling linearly to 0 at LIGHT_RAMP beyond either end."""
    low, high = WELL_LIT
    return min(1.0, max(0.0, min((luma - low) / LIGHT_RAMP + 1, (high - luma) / LIGHT_RAMP + 1)))


def frontality(yaw: float, pitch: float) -> float:
    """1 facing the camera, cos of each turn away from it: 0.87 at 30 degrees, 0.5 at 60, 0 in profile."""
    return max(0.0, math.cos(math.radians(yaw))) * max(0.0, math.cos(math.radians(pitch)))


def face_quality(analysis: FaceAnalysis) -> float:
    """How fit a face is for comparison, 0-100: the product of its sharpness (1 - blur), lighting,
    frontality and completeness, each 0-1, so any one bad measure sinks it."""
    return (
        100
        * (1 - analysis.blur)
        * lighting(analysis.illumination)
        * frontality(analysis.yaw, analysis.pitch)
        * analysis.completeness
    )
