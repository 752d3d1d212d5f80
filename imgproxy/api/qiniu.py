"""POST /v2/facedetect: Qiniu's face detection (face-detect.qiniuapi.com), Baidu's format.

    {"image": "<base64>", "image_type": "BASE64", "face_field": "landmark,quality", "max_face_num": 5}

signed with a Qiniu management token, `Authorization: Qiniu <AK>:<sign>`, as the official SDK's
`QiniuMacAuth` makes it (`signing_data` says exactly what is signed).

Answers are `{"error_code", "error_msg", "log_id", "result"}`. The seed names one HTTP status, 401
for a missing or bad token (error_code 401); every other outcome is HTTP 200 with its error_code in
the body, as in Baidu's API whose codes Qiniu's answers carry (the seed lists none of its own),
except load shedding (18, HTTP 429) and internal errors (1, HTTP 500).

Every face has its `face_token`, `location`, `face_probability` and, when the face mesh found the
face, its `angle`; `face_field` adds landmark (4 and 72 points), landmark150, quality and
eye_status. The attributes the core cannot measure (age, expression, face_shape, gender, glasses,
emotion, face_type, mask, spoofing) are refused with 216100 when asked for, never invented.

A face_token names one face of one image: the same whenever that image is detected again. FACE_TOKEN
input answers the face from an LRU of the last `FACE_TOKENS` faces this process answered: tokens
live per worker process and expire when they fall out of it (222209).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cachetools import LRUCache
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message

from imgproxy.api.access import authorize
from imgproxy.api.dialect import CodedDialect, CodedError, endpoint
from imgproxy.api.fetch import URLRefused, URLTimeout, URLTooLarge, URLUnreachable
from imgproxy.api.inputs import (
    JSON_TYPE,
    BadBase64,
    BodyTimeout,
    BodyTooLarge,
    Carrier,
    EmptyImage,
    Fields,
    ImageTooLarge,
    MalformedBody,
    NotAFile,
    UnsupportedBody,
    image_bytes,
    read_body,
    read_fields,
)
from imgproxy.api.qiniu_landmarks import LANDMARK4, LANDMARK72, LANDMARK150, landmark_points
from imgproxy.api.vendor import Chooser, DetectRequest, Measured, face_digest, measure, vendor_pose
from imgproxy.config import Settings
from imgproxy.errors import BadRequest, Overloaded, TooLarge, Unsupported
from imgproxy.faces.detect import Face
from imgproxy.faces.mesh import EYE_OPEN_RATIO, FaceAnalysis
from imgproxy.imaging.resize import Size
from imgproxy.pipeline.context import Context
from imgproxy.service import Service

PATH = "/v2/facedetect"

SUCCESS = 0
UNKNOWN_ERROR = 1
QPS_LIMIT = 18
AUTH_FAILED = 401  # the seed: a bad Authorization "会返回 401 错误码"
INVALID_PARAM = 216100
EMPTY_IMAGE = 216200
PARAM_NULL = 222001
IMAGE_FORMAT = 222013  # param[image] format error
IMAGE_TYPE_FORMAT = 222015
MAX_FACE_NUM_FORMAT = 222016
FACE_FIELD_FORMAT = 222017
LIVENESS_FORMAT = 222020
NOT_JSON = 222200
NO_FACE = 222202
IMAGE_CHECK_FAIL = 222203  # the image does not decode
URL_DOWNLOAD_FAIL = 222204
FACE_TOKEN_NOT_EXIST = 222209
IMAGE_TOO_LARGE = 222304

# Baidu's fixed error_msg of each code; the proxy adds what exactly was wrong after a colon.
MESSAGES = {
    SUCCESS: "SUCCESS",
    UNKNOWN_ERROR: "Unknown error",
    QPS_LIMIT: "Open api qps request limit reached",
    AUTH_FAILED: "bad token",
    INVALID_PARAM: "invalid param",
    EMPTY_IMAGE: "empty image",
    PARAM_NULL: "param[] is null",  # Baidu's text; the proxy names the parameter after it
    IMAGE_FORMAT: "param[image] format error",
    IMAGE_TYPE_FORMAT: "param[image_type] format error",
    MAX_FACE_NUM_FORMAT: "param[max_face_num] format error",
    FACE_FIELD_FORMAT: "param[face_field] format error",
    LIVENESS_FORMAT: "param[liveness_control] format error",
    NOT_JSON: "request body should be json format",
    NO_FACE: "pic not has face",
    IMAGE_CHECK_FAIL: "image check fail",
    URL_DOWNLOAD_FAIL: "image_url_download_fail",
    FACE_TOKEN_NOT_EXIST: "face token not exist",
    IMAGE_TOO_LARGE: "image size is too large",
}
STATUS = {AUTH_FAILED: 401, QPS_LIMIT: 429, UNKNOWN_ERROR: 500}  # every other code answers 200

# The proxy's errors as codes (`code_of` takes the entry of the most specific class).
ERRORS: dict[type[Exception], int] = {
    MalformedBody: NOT_JSON,
    UnsupportedBody: NOT_JSON,
    BodyTooLarge: IMAGE_TOO_LARGE,
    BodyTimeout: INVALID_PARAM,
    EmptyImage: EMPTY_IMAGE,
    BadBase64: IMAGE_FORMAT,
    NotAFile: IMAGE_FORMAT,
    URLRefused: URL_DOWNLOAD_FAIL,
    URLUnreachable: URL_DOWNLOAD_FAIL,
    URLTimeout: URL_DOWNLOAD_FAIL,
    URLTooLarge: URL_DOWNLOAD_FAIL,
    ImageTooLarge: IMAGE_TOO_LARGE,
    TooLarge: IMAGE_TOO_LARGE,
    Unsupported: IMAGE_CHECK_FAIL,
    Overloaded: QPS_LIMIT,
    BadRequest: INVALID_PARAM,
}

IMAGE_TYPES = ("BASE64", "URL", "FACE_TOKEN")
FACE_TYPES = ("LIVE", "IDCARD", "WATERMARK", "CERT")  # one detector reads them all alike
LIVENESS = ("NONE", "LOW", "NORMAL", "HIGH")
MAX_FACE_NUM = 120
MAX_CROPS = 5  # display_corp_image=1 caps max_face_num at 5
# face_field names the proxy answers, and the keys of a face each adds.
FIELDS: dict[str, tuple[str, ...]] = {
    "landmark": ("landmark", "landmark72"),
    "landmark150": ("landmark150",),
    "quality": ("quality",),
    "eye_status": ("eye_status",),
}
DEFAULT_KEYS = ("face_token", "location", "face_probability", "angle")
# The seed's face_field names the core cannot measure honestly.
UNSUPPORTED = ("age", "expression", "face_shape", "gender", "glasses", "emotion", "face_type", "mask", "spoofing")
# How many faces' answers are kept for FACE_TOKEN requests.
FACE_TOKENS = 4096
# How far an X-Qiniu-Date may be from the server's clock.
DATE_SKEW = 15 * 60
QINIU_DATE = "%Y%m%dT%H%M%SZ"
QINIU_HEADER = b"x-qiniu-"
# eye_status: a logistic of the eye aspect ratio, 0.5 where the mesh's open/shut threshold lies;
# shut eyes (ratio 0.05) read about 0.07, open ones (0.2 and more) 0.95 and more.
EYE_SLOPE = 37.0


class QiniuError(CodedError):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, MESSAGES[code] + (f": {detail}" if detail else ""))


# face_token -> the face's full answer (`face_json`) as compact JSON, a few kilobytes where the
# mesh's analysis would take fifty. Read and written on the event loop only, so it needs no lock.
TOKENS: LRUCache[str, bytes] = LRUCache(FACE_TOKENS)


@dataclass(frozen=True)
class Token:
    """`Authorization: Qiniu <AK>:<sign>`, the sign decoded."""

    access_key: str
    digest: bytes


@dataclass(frozen=True)
class Params:
    image: str
    image_type: str
    fields: frozenset[str]
    max_faces: int
    by_centre: bool  # face_sort_type 1
    crops: bool  # display_corp_image 1


async def qiniu_result(request: Request, service: Service) -> dict[str, Any]:
    settings = service.settings
    signer = signer_of(request.headers.get("authorization"), settings)
    service.pool.admit()  # shed before the body is read
    body = await read_body(request, settings.max_request_bytes, settings.body_timeout)
    if signer is not None:
        verify_request(request, body, *signer, time.time())
    params = read_params(await json_fields(request, body, settings.max_request_bytes))
    if params.image_type == "FACE_TOKEN":
        return {"face_num": 1, "face_list": [stored_face(params)]}
    data = await image_bytes(Carrier.URL if params.image_type == "URL" else Carrier.BASE64, params.image, "image", settings)
    ctx = Context(settings, service.faces)
    measurement = await service.pool.run(measure, data, ctx, DetectRequest(choose=chooser(params), crops=params.crops))
    if not measurement.faces:
        raise QiniuError(NO_FACE)
    answered = []
    for measured in measurement.faces:
        token = face_digest(measurement.digest, measured.face).hex()
        face = face_json(measured, token)
        TOKENS[token] = json.dumps(face, separators=(",", ":")).encode()
        answered.append(selected(face, params.fields) | crop_json(measured))
    return {"face_num": len(answered), "face_list": answered}


def qiniu_reply(code: int, message: str, result: dict[str, Any] | None = None) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if code == QPS_LIMIT:
        headers["Retry-After"] = "1"
    # log_id stays below 2**53 so JavaScript clients read it exactly.
    body = {"error_code": code, "error_msg": message, "log_id": secrets.randbits(52), "result": result}
    return JSONResponse(body, status_code=STATUS.get(code, 200), headers=headers)


DIALECT = CodedDialect(
    PATH,
    qiniu_result,
    qiniu_reply,
    ERRORS,
    lambda code, error: f"{MESSAGES[code]}: {error}",
    success=(SUCCESS, MESSAGES[SUCCESS]),
    internal=(UNKNOWN_ERROR, MESSAGES[UNKNOWN_ERROR]),
)
qiniu_detect = endpoint(DIALECT)


# Authentication.


def signer_of(header: str | None, settings: Settings) -> tuple[Token, str] | None:
    """The token and the secret key of its access key; None when the APIs are open without keys.
    Checked before the body is read: without a known access key an upload costs nothing."""

    def verify(pairs: Mapping[str, str]) -> tuple[Token, str]:
        token = parse_token(header)
        secret = pairs.get(token.access_key)
        if secret is None:
            raise QiniuError(AUTH_FAILED, f"unknown access key {token.access_key!r}")
        return token, secret

    return authorize(
        settings,
        verify,
        lambda: QiniuError(AUTH_FAILED, "no API keys are configured: set IMGPROXY_API_KEYS (or IMGPROXY_API_OPEN=1)"),
    )


def parse_token(header: str | None) -> Token:
    scheme, _, token = (header or "").strip().partition(" ")
    access_key, colon, sign = token.strip().partition(":")
    if scheme != "Qiniu" or not colon or not access_key:
        raise QiniuError(AUTH_FAILED, "expected the header Authorization: Qiniu <AccessKey>:<sign>")
    try:
        digest = base64.urlsafe_b64decode(sign + "=" * (-len(sign) % 4))
    except (binascii.Error, ValueError):
        raise QiniuError(AUTH_FAILED, "the sign is not URL-safe base64") from None
    return Token(access_key, digest)


def verify_request(request: Request, body: bytes, token: Token, secret: str, now: float) -> None:
    """The token signs this very request (`signing_data`) with the secret of its access key, and a
    signed X-Qiniu-Date, when there is one, is within DATE_SKEW of the server's clock."""
    scope = request.scope
    data = signing_data(
        request.method, scope.get("raw_path") or scope["path"].encode(), scope["query_string"], request.headers, body
    )
    if not hmac.compare_digest(hmac.new(secret.encode(), data, hashlib.sha1).digest(), token.digest):
        raise QiniuError(
            AUTH_FAILED, "the sign does not match the request (method, path, Host, Content-Type, X-Qiniu-* headers, body)"
        )
    date = request.headers.get("x-qiniu-date")
    if date is not None and not fresh(date, now):
        raise QiniuError(AUTH_FAILED, f"X-Qiniu-Date {date!r} is not within {DATE_SKEW // 60} minutes of the server's time")


def signing_data(method: str, path: bytes, query: bytes, headers: Headers, body: bytes) -> bytes:
    """What QiniuMacAuth signs (qiniu/auth.py, token_of_request):

        <Method> <Path>[?<Query>]
        Host: <Host>
        [Content-Type: <Content-Type>]
        [<X-Qiniu-*: value> lines, by canonical name]

        [<Body>, when there is a Content-Type other than application/octet-stream]

    Path and query as the request line has them, header values as sent.
    """
    content_type = headers.get("content-type")
    lines = [
        f"{method} ".encode() + path + (b"?" + query if query else b""),
        b"Host: " + headers.get("host", "").encode("latin-1"),
    ]
    if content_type:
        lines.append(b"Content-Type: " + content_type.encode("latin-1"))
    lines += [name + b": " + value for name, value in qiniu_headers(headers.raw)]
    data = b"\n".join(lines) + b"\n\n"
    if content_type and content_type != "application/octet-stream":
        data += body
    return data


def qiniu_headers(raw: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The X-Qiniu-* headers by canonical name (X-Qiniu-Date), sorted, the first of a repeated one."""
    found: dict[bytes, bytes] = {}
    for name, value in raw:
        if name.lower().startswith(QINIU_HEADER) and len(name) > len(QINIU_HEADER):
            found.setdefault(canonical_header(name), value)
    return sorted(found.items())


def canonical_header(name: bytes) -> bytes:
    """Go's (and the SDK's) canonical form: each word capitalised, x-qiniu-date -> X-Qiniu-Date."""
    return b"-".join(word[:1].upper() + word[1:].lower() for word in name.split(b"-"))


def fresh(date: str, now: float) -> bool:
    try:
        signed = datetime.strptime(date, QINIU_DATE).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return False
    return abs(now - signed) <= DATE_SKEW


# The request.


async def json_fields(request: Request, body: bytes, limit: int) -> Fields:
    """The JSON object of `body` (already read, for the signature)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if body and media_type != JSON_TYPE:
        raise QiniuError(NOT_JSON, f"Content-Type must be {JSON_TYPE}")

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return await read_fields(Request(request.scope, replay), limit, None)  # nothing left to wait for


def read_params(fields: Fields) -> Params:
    """The request's parameters, each checked with the code Baidu gives its own mistakes."""
    image = fields.get("image")
    if image is None or image == "":
        raise QiniuError(PARAM_NULL, "image")
    if not isinstance(image, str):
        raise QiniuError(IMAGE_FORMAT, "image must be a string")
    image_type = fields.get("image_type")
    if image_type is None:
        raise QiniuError(PARAM_NULL, "image_type")
    if image_type not in IMAGE_TYPES:
        raise QiniuError(IMAGE_TYPE_FORMAT, f"image_type must be one of {', '.join(IMAGE_TYPES)}")
    face_fields = read_face_fields(fields.get("face_field", ""))
    max_faces = whole_number(fields.get("max_face_num", 1))
    if max_faces is None or not 1 <= max_faces <= MAX_FACE_NUM:
        raise QiniuError(MAX_FACE_NUM_FORMAT, f"max_face_num must be a whole number from 1 to {MAX_FACE_NUM}")
    if fields.get("face_type", "LIVE") not in FACE_TYPES:
        raise QiniuError(INVALID_PARAM, f"face_type must be one of {', '.join(FACE_TYPES)}")
    liveness = fields.get("liveness_control", "NONE")
    if liveness not in LIVENESS:
        raise QiniuError(LIVENESS_FORMAT, f"liveness_control must be one of {', '.join(LIVENESS)}")
    if liveness != "NONE":
        raise QiniuError(
            INVALID_PARAM, f"liveness_control {liveness} is not supported: this proxy does no liveness detection; send NONE"
        )
    by_centre, crops = flag(fields, "face_sort_type"), flag(fields, "display_corp_image")
    if crops and image_type == "FACE_TOKEN":
        raise QiniuError(INVALID_PARAM, "display_corp_image needs the image; a FACE_TOKEN request has none")
    return Params(image, image_type, face_fields, min(max_faces, MAX_CROPS) if crops else max_faces, by_centre, crops)


def read_face_fields(value: object) -> frozenset[str]:
    """The names of a comma list, each one the proxy answers; 216100 for the seed's attributes it
    cannot measure, 222017 for anything else."""
    if not isinstance(value, str):
        raise QiniuError(FACE_FIELD_FORMAT, "face_field must be a comma-separated string")
    names = frozenset(name.strip() for name in value.split(",") if name.strip())
    refused = sorted(names & set(UNSUPPORTED))
    if refused:
        raise QiniuError(INVALID_PARAM, f"face_field {', '.join(refused)} not supported: this proxy answers {', '.join(FIELDS)}")
    unknown = sorted(names - set(FIELDS))
    if unknown:
        raise QiniuError(FACE_FIELD_FORMAT, f"unknown face_field {', '.join(unknown)}")
    return names


def whole_number(value: object) -> int | None:
    """A JSON integer, or its digits as a string (Baidu's SDKs send options as strings)."""
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


def flag(fields: Fields, name: str) -> bool:
    value = whole_number(fields.get(name, 0))
    if value not in (0, 1):
        raise QiniuError(INVALID_PARAM, f"{name} must be 0 or 1")
    return value == 1


def chooser(params: Params) -> Chooser:
    def choose(faces: Sequence[Face], size: Size) -> Sequence[Face]:
        return ordered(faces, size, params.by_centre)[: params.max_faces]

    return choose


def ordered(faces: Sequence[Face], size: Size, by_centre: bool) -> list[Face]:
    """face_sort_type 0: largest first (as detected); 1: nearest the image's centre first."""
    if not by_centre:
        return list(faces)
    cx, cy = size[0] / 2, size[1] / 2
    return sorted(faces, key=lambda face: math.hypot(face.box.center[0] - cx, face.box.center[1] - cy))


def stored_face(params: Params) -> dict[str, Any]:
    stored = TOKENS.get(params.image)
    if stored is None:
        raise QiniuError(FACE_TOKEN_NOT_EXIST, "tokens live in one proxy process and expire with its cache of recent faces")
    return selected(json.loads(stored), params.fields)


# The answer.


def face_json(measured: Measured, token: str) -> dict[str, Any]:
    """Everything the proxy answers about one face; `selected` keeps what the request asked for.
    The keys that need the face mesh are left out of a face it did not find."""
    box = measured.face.box
    face: dict[str, Any] = {
        "face_token": token,
        # The box is upright: its rotation is 0 (the head's tilt is angle.roll).
        "location": {
            "left": round(box.x, 1),
            "top": round(box.y, 1),
            "width": round(box.w, 1),
            "height": round(box.h, 1),
            "rotation": 0,
        },
        "face_probability": probability(measured.face.score),
    }
    if measured.analysis is not None:
        face.update(analysis_json(measured.analysis))
    return face


def analysis_json(analysis: FaceAnalysis) -> dict[str, Any]:
    pose = vendor_pose(analysis)
    points = analysis.landmarks
    return {
        "angle": {"yaw": round(pose.yaw, 1), "pitch": round(pose.pitch, 1), "roll": round(pose.roll, 1)},
        "landmark": landmark_points(points, LANDMARK4),
        "landmark72": landmark_points(points, LANDMARK72),
        "landmark150": landmark_points(points, LANDMARK150),
        # No occlusion: nothing in the core measures how covered each part of the face is.
        "quality": {
            "blur": round(analysis.blur, 3),
            "illumination": round(analysis.illumination),
            "completeness": completeness(analysis.completeness),
        },
        # Baidu's left_eye is the subject's own left eye, like the mesh's.
        "eye_status": {"left_eye": eye_openness(analysis.left_eye_ratio), "right_eye": eye_openness(analysis.right_eye_ratio)},
    }


def selected(face: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    keys = {*DEFAULT_KEYS, *(key for name in fields for key in FIELDS[name])}
    return {key: value for key, value in face.items() if key in keys}


def crop_json(measured: Measured) -> dict[str, str]:
    return {} if measured.crop is None else {"corp_image_base64": base64.b64encode(measured.crop).decode("ascii")}


def probability(score: float) -> float | int:
    """The detector's score to 4 digits; 0 and 1 are integers, as the seed says."""
    value = round(score, 4)
    return int(value) if value in (0, 1) else value


def completeness(fraction: float) -> int:
    """1 when the whole face (with the core's margin for hair and chin) is inside the image, else 0."""
    return 1 if fraction >= 1.0 else 0


def eye_openness(ratio: float) -> float:
    """From 0 (surely shut) to 1 (surely open): a score of the eye aspect ratio, not a probability."""
    return round(1 / (1 + math.exp(-EYE_SLOPE * (ratio - EYE_OPEN_RATIO))), 3)
