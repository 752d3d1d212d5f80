"""POST /face/detect: Tencent Cloud's legacy face detection (recognition.image.myqcloud.com).

    curl -H "Authorization: $SIGN" -H 'Content-Type: application/json' \\
        -d '{"appid": "1251000000", "mode": 1, "url": "https://example.com/a.jpg"}' .../face/detect
    curl -H "Authorization: $SIGN" -F appid=1251000000 -F image=@photo.jpg .../face/detect

Every answer is HTTP 200 with Tencent's `code` (0 and "OK" on success), as the seed shows: its
error codes live in the body. Only shedding load (code 15, HTTP 429) and an internal error (code
213, HTTP 500) change the status, so that a load balancer sees them.

Each face has its box, `face_id` and, when the face mesh finds the face, its pose. The attributes
the core cannot measure honestly (gender, age, expression, glass, beauty) are left out of every
face: a client reading them finds no value rather than an invented one.

The `Authorization` header is Tencent's reusable signature: base64 of HMAC-SHA1(SecretKey,
original) followed by the original, "a=<appid>&b=<bucket>&k=<SecretId>&e=<expiry>&t=<now>&r=<rand>
[&u=0]&f=" (`verify_signature` says what is checked).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from imgproxy.api.access import authorize
from imgproxy.api.dialect import CodedDialect, CodedError, endpoint
from imgproxy.api.fetch import URLRefused, URLTimeout, URLTooLarge, URLUnreachable
from imgproxy.api.inputs import (
    BodyTimeout,
    BodyTooLarge,
    Carrier,
    EmptyImage,
    Fields,
    ImageTooLarge,
    MalformedBody,
    MissingImage,
    NotAFile,
    UnsupportedBody,
    image_bytes,
    read_fields,
)
from imgproxy.api.vendor import DetectRequest, Measured, every_face, face_digest, measure, vendor_pose
from imgproxy.config import Settings
from imgproxy.errors import BadRequest, Overloaded, TooLarge, Unsupported
from imgproxy.faces.detect import Face
from imgproxy.imaging.resize import Size
from imgproxy.pipeline.context import Context
from imgproxy.service import Service

PATH = "/face/detect"

# The seed's codes that can occur here.
OK = 0
BAD_REQUEST = 3  # the body does not parse
SIGNATURE_EMPTY = 4
SIGNATURE_MALFORMED = 5
TARGET_MISMATCH = 6  # the signature's appid (or file) is not the request's
SIGNATURE_EXPIRED = 9
SECRET_ID_UNKNOWN = 11
SIGNATURE_WRONG = 14
TOO_FREQUENT = 15
INVALID_PARAMETER = 21
BODY_TOO_LARGE = 23
AUTH_UNAVAILABLE = 107  # no keys configured and the APIs not opened
INTERNAL = 213
NO_FACE = -1101
DECODE_FAILED = -1102
IMAGE_EMPTY = -1300
URL_DOWNLOAD_FAILED = -1308
BAD_IMAGE_FORMAT = -1400  # an image over the proxy's byte or pixel limits

# The proxy's errors as Tencent codes (`code_of` takes the entry of the most specific class).
ERRORS: dict[type[Exception], int] = {
    MissingImage: IMAGE_EMPTY,
    EmptyImage: IMAGE_EMPTY,
    NotAFile: INVALID_PARAMETER,
    MalformedBody: BAD_REQUEST,
    UnsupportedBody: BAD_REQUEST,
    HTTPException: BAD_REQUEST,  # Starlette's own refusal of a malformed multipart body
    BodyTooLarge: BODY_TOO_LARGE,
    BodyTimeout: BAD_REQUEST,  # the body never came whole
    URLRefused: URL_DOWNLOAD_FAILED,
    URLUnreachable: URL_DOWNLOAD_FAILED,
    URLTimeout: URL_DOWNLOAD_FAILED,
    URLTooLarge: URL_DOWNLOAD_FAILED,
    ImageTooLarge: BAD_IMAGE_FORMAT,
    TooLarge: BAD_IMAGE_FORMAT,
    Unsupported: DECODE_FAILED,
    Overloaded: TOO_FREQUENT,
    BadRequest: INVALID_PARAMETER,
}
STATUS = {TOO_FREQUENT: 429, INTERNAL: 500}  # every other code answers 200
# The seed's ranges for pitch and yaw; a head turned further reads as the bound.
POSE_LIMIT = 30
# The signed text's fields that must be there; b (bucket), u and f may be empty or missing.
REQUIRED_SIGNATURE_FIELDS = ("a", "k", "e", "t", "r")
MAX_RAND_DIGITS = 10
# Unix seconds have 10 digits until 2286: a longer expiry or time is malformed (and int() of
# 4,300 digits or more raises).
MAX_TIME_DIGITS = 12
SHA1_BYTES = 20


class TencentError(CodedError):
    pass


@dataclass(frozen=True)
class Signature:
    appid: str
    secret_id: str
    expires: int  # Unix seconds; 0 marks a one-time signature
    fileid: str
    original: bytes  # the signed text
    digest: bytes  # its HMAC-SHA1


@dataclass(frozen=True)
class Params:
    appid: str
    largest_only: bool  # mode 1


async def tencent_result(request: Request, service: Service) -> dict[str, Any]:
    settings = service.settings
    signature = signature_of(request.headers.get("authorization"), settings, time.time())
    service.pool.admit()  # shed before the body is read
    fields = await read_fields(request, settings.max_request_bytes, settings.body_timeout)
    params = read_params(fields)
    if signature is not None:
        check_target(signature, params.appid)
    data = await tencent_image(fields, settings)
    ctx = Context(settings, service.faces)
    measurement = await service.pool.run(measure, data, ctx, DetectRequest(choose=largest if params.largest_only else every_face))
    if not measurement.faces:
        raise TencentError(NO_FACE, "no face found in the image")
    return {
        "session_id": "",  # results are not kept for a later query
        "image_width": measurement.size[0],
        "image_height": measurement.size[1],
        "face": [face_item(measured, measurement.digest) for measured in measurement.faces],
    }


def tencent_reply(code: int, message: str, data: dict[str, Any] | None = None) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if code == TOO_FREQUENT:
        headers["Retry-After"] = "1"
    body = {"data": data or {}, "code": code, "message": message}
    return JSONResponse(body, status_code=STATUS.get(code, 200), headers=headers)


DIALECT = CodedDialect(
    PATH,
    tencent_result,
    tencent_reply,
    ERRORS,
    lambda code, error: str(error),
    success=(OK, "OK"),
    internal=(INTERNAL, "internal error"),
)
tencent_detect = endpoint(DIALECT)


def signature_of(header: str | None, settings: Settings, now: float) -> Signature | None:
    """The request's verified signature; None when the APIs are open without keys."""

    def verify(pairs: Mapping[str, str]) -> Signature:
        if not header or not header.strip():
            raise TencentError(SIGNATURE_EMPTY, "the Authorization header (signature) is empty")
        signature = parse_signature(header.strip())
        verify_signature(signature, pairs, now)
        return signature

    return authorize(
        settings,
        verify,
        lambda: TencentError(AUTH_UNAVAILABLE, "no API keys are configured: set IMGPROXY_API_KEYS (or IMGPROXY_API_OPEN=1)"),
    )


def parse_signature(text: str) -> Signature:
    """The fields of a signature header, without checking them; code 5 when it does not parse."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        original = raw[SHA1_BYTES:].decode("ascii")
    except (binascii.Error, ValueError):
        raise TencentError(SIGNATURE_MALFORMED, "the signature is not base64 of an HMAC-SHA1 and its text") from None
    fields: dict[str, str] = {}
    for item in original.split("&"):
        name, equals, value = item.partition("=")
        if not equals or name in fields:
            raise TencentError(SIGNATURE_MALFORMED, f"the signed text has a malformed or repeated field {name!r}")
        fields[name] = value
    missing = [name for name in REQUIRED_SIGNATURE_FIELDS if not fields.get(name)]
    if missing:
        raise TencentError(SIGNATURE_MALFORMED, f"the signed text lacks {', '.join(missing)}")
    numbers = (fields["e"], fields["t"], fields["r"])
    if not all(n.isascii() and n.isdigit() and len(n) <= MAX_TIME_DIGITS for n in numbers) or len(fields["r"]) > MAX_RAND_DIGITS:
        raise TencentError(SIGNATURE_MALFORMED, "e and t must be Unix seconds and r a decimal number of at most 10 digits")
    return Signature(fields["a"], fields["k"], int(fields["e"]), fields.get("f", ""), original.encode(), raw[:SHA1_BYTES])


def verify_signature(signature: Signature, keys: Mapping[str, str], now: float) -> None:
    """The SecretId is a configured access key, the HMAC-SHA1 of the signed text with its secret
    matches, and the expiry is still ahead (one-time signatures, e=0, are for file operations and
    never valid here). The appid is checked against the request by `check_target`."""
    secret = keys.get(signature.secret_id)
    if secret is None:
        raise TencentError(SECRET_ID_UNKNOWN, f"SecretId {signature.secret_id!r} does not exist")
    expected = hmac.new(secret.encode(), signature.original, hashlib.sha1).digest()
    if not hmac.compare_digest(expected, signature.digest):
        raise TencentError(SIGNATURE_WRONG, "signature check failed: the HMAC-SHA1 does not match the SecretKey")
    if signature.expires <= now:
        raise TencentError(SIGNATURE_EXPIRED, f"the signature expired at {signature.expires}")


def check_target(signature: Signature, appid: str) -> None:
    """The signature was made for this appid and for no particular file."""
    if signature.appid != appid:
        raise TencentError(TARGET_MISMATCH, f"the signature is for appid {signature.appid!r}, the request for {appid!r}")
    if signature.fileid:
        raise TencentError(TARGET_MISMATCH, "the signature is bound to a file (f=...); face detection needs one without")


def read_params(fields: Fields) -> Params:
    """appid and mode, each checked (code 21). Other fields are ignored, as Tencent's SDKs send a
    `bucket` with every request."""
    appid = fields.get("appid")
    if type(appid) is int:
        appid = str(appid)  # JSON clients send the appid as a number too
    if not isinstance(appid, str) or not appid.strip():
        raise TencentError(INVALID_PARAMETER, "appid is required: the project's AppID as a string")
    mode = fields.get("mode", 0)
    if type(mode) not in (int, str) or str(mode) not in ("0", "1"):
        raise TencentError(INVALID_PARAMETER, "mode must be 0 (all faces) or 1 (the largest face)")
    return Params(appid.strip(), str(mode) == "1")


async def tencent_image(fields: Fields, settings: Settings) -> bytes:
    """The image of the url (fetched) or the multipart file `image`; the url wins when both come."""
    if "url" in fields:
        url = fields["url"]
        if not isinstance(url, str) or not url.strip():
            raise TencentError(INVALID_PARAMETER, "url must be an http or https URL")
        return await image_bytes(Carrier.URL, url, "url", settings)
    if "image" in fields:
        return await image_bytes(Carrier.FILE, fields["image"], "image", settings)
    raise MissingImage("no image: send JSON with a url, or a multipart file field image")


def largest(faces: Sequence[Face], size: Size) -> Sequence[Face]:
    return faces[:1]  # detection answers the largest first


def face_item(measured: Measured, image_digest: str) -> dict[str, Any]:
    """One faceItem: the box (x, y whole pixels, width and height floats, as the seed types them)
    and, when the mesh found the face, pitch, yaw and roll."""
    box = measured.face.box
    item: dict[str, Any] = {
        "face_id": face_id(image_digest, measured.face),
        "x": round(box.x),
        "y": round(box.y),
        "width": round(box.w, 1),
        "height": round(box.h, 1),
    }
    if measured.analysis is not None:
        item.update(tencent_pose(*vendor_pose(measured.analysis)))
    return item


def tencent_pose(yaw: float, pitch: float, roll: float) -> dict[str, int]:
    """Whole degrees, pitch and yaw held to the seed's [-30, 30] (roll is within [-180, 180])."""

    def held(value: float) -> int:
        return max(-POSE_LIMIT, min(POSE_LIMIT, round(value)))

    return {"pitch": held(pitch), "yaw": held(yaw), "roll": round(roll)}


def face_id(image_digest: str, face: Face) -> str:
    """A decimal face identifier like Tencent's, the same for the same face of the same image."""
    return str(int.from_bytes(face_digest(image_digest, face)[:8], "big"))
