"""POST /faceid/v1/detect: FaceID Detect API v1 over the proxy's detection core.

    curl -X POST http://127.0.0.1:8080/faceid/v1/detect -F api_key=<api_key> -F api_secret=<api_secret> \\
        -F image=@customer.jpg -F multi_oriented_detection=1

Fields, limits and error codes are the seed's (../shared/seeds/faceid-detect-v1.md): each face's
box as fractions of the image, a quality score with its threshold, a stable token, and with
multi_oriented_detection=1 the orientation the face was found at.
"""

from __future__ import annotations

import base64
from functools import partial
from typing import Any

from starlette.requests import Request

from imgproxy.api.dialect import endpoint
from imgproxy.api.inputs import Carrier, image_bytes
from imgproxy.api.megvii import (
    REQUEST_TOO_LARGE,
    Call,
    Failure,
    MegviiDialect,
    MegviiError,
    MegviiSpelling,
    bad_argument,
    check_keys,
    face_quality,
    read_form,
    text_field,
    token_digest,
)
from imgproxy.api.vendor import DetectRequest, ImageRules, Measurement, measure
from imgproxy.faces.box import Box
from imgproxy.faces.detect import DetectOptions
from imgproxy.faces.mesh import FaceAnalysis
from imgproxy.pipeline.context import Context, find_faces
from imgproxy.service import Service

FACEID = MegviiSpelling(
    path="/faceid/v1/detect",
    op="faceid/detect",
    error_key="error",
    missing_prefix="MISSING_ARGUMENTS:",
    refused=Failure(403, "AUTHORIZATION_ERROR"),
    float_time=True,
    # The seed's IMAGE_ERROR_UNSUPPORTED_FORMAT names no field, and it has no code for a large
    # file: the only size error it knows is the plain-text 413.
    respelled={
        "IMAGE_ERROR_UNSUPPORTED_FORMAT": Failure(400, "IMAGE_ERROR_UNSUPPORTED_FORMAT"),
        "IMAGE_FILE_TOO_LARGE": Failure(413, REQUEST_TOO_LARGE),
    },
)
IMAGE = "image"
# The seed refuses only images wider or taller than 4096 px; any format the proxy decodes is read.
RULES = ImageRules(formats=None, min_side=1, max_side=4096)
ROTATION_VALUES = {"0": False, "1": True}  # anything else, even empty, is BAD_ARGUMENTS per the seed
# FaceID's threshold, on its own scale, and where the same cut lies on Face++'s facequality scale.
QUALITY_THRESHOLD = 30.1
FACEPP_QUALITY_THRESHOLD = 70.1
RECT_DIGITS = 7  # the seed's example gives its fractions to 7 digits


def read_rotation(fields: dict[str, Any]) -> bool:
    value = text_field(fields, "multi_oriented_detection")
    if value is None:
        return False
    if value not in ROTATION_VALUES:
        raise bad_argument("multi_oriented_detection")
    return ROTATION_VALUES[value]


def quality(analysis: FaceAnalysis | None) -> float:
    """FaceID's quality, 0-100: `face_quality` moved piecewise linearly so that Face++'s threshold
    (70.1) lands on FaceID's (30.1) and both ends stay put; a face the mesh cannot read scores 0."""
    if analysis is None:
        return 0.0
    value = face_quality(analysis)
    if value <= FACEPP_QUALITY_THRESHOLD:
        return value * QUALITY_THRESHOLD / FACEPP_QUALITY_THRESHOLD
    above = (value - FACEPP_QUALITY_THRESHOLD) / (100 - FACEPP_QUALITY_THRESHOLD)
    return QUALITY_THRESHOLD + above * (100 - QUALITY_THRESHOLD)


def orientation(core_degrees: int) -> int:
    """FaceID's orientation (clockwise degrees the face is turned; turning the image back that much
    counter-clockwise makes it upright) from the core's (clockwise degrees the image was turned to
    find the face upright)."""
    return (360 - core_degrees) % 360


def face_token(digest: str, box: Box) -> str:
    """URL-safe base64 of 32 bytes, like the seed's, the same for the same face of the same image."""
    return base64.urlsafe_b64encode(token_digest(digest, "faceid", box.rounded())).decode()


def faces_json(found: Measurement, rotate: bool) -> list[dict[str, Any]]:
    width, height = found.size
    faces = []
    for measured in found.faces:
        box, analysis = measured.face.box, measured.analysis
        entry: dict[str, Any] = {
            "quality": round(quality(analysis), 3),
            "quality_threshold": QUALITY_THRESHOLD,
            "rect": {
                "left": round(box.x / width, RECT_DIGITS),
                "top": round(box.y / height, RECT_DIGITS),
                "width": round(box.w / width, RECT_DIGITS),
                "height": round(box.h / height, RECT_DIGITS),
            },
            "token": face_token(found.digest, box),
        }
        if rotate:
            entry["orientation"] = orientation(found.orientation)
        faces.append(entry)
    return faces


async def faceid_result(request: Request, service: Service, call: Call) -> dict[str, Any]:
    settings = service.settings
    service.pool.admit()  # shed before the body is read (the keys are in it)
    fields = await read_form(request, settings.max_request_bytes, settings.body_timeout)
    check_keys(FACEID, settings, fields)
    rotate = read_rotation(fields)
    if IMAGE not in fields:
        raise MegviiError(FACEID.missing(IMAGE))
    data = await image_bytes(Carrier.FILE, fields[IMAGE], IMAGE, settings)
    # Every face gets the mesh: each one's quality is asked for.
    find = partial(find_faces, options=DetectOptions(rotate=rotate), op=FACEID.op)
    found = await service.pool.run(measure, data, Context(settings, service.faces), DetectRequest(rules=RULES, find=find))
    return {"faces": faces_json(found, rotate)}


faceid_detect = endpoint(MegviiDialect(FACEID, faceid_result, image=IMAGE))
