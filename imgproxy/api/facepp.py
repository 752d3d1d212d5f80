"""POST /facepp/v3/detect: Face++ Detect API v3 over the proxy's detection core.

    curl -X POST http://127.0.0.1:8080/facepp/v3/detect -F api_key=<api_key> -F api_secret=<api_secret> \\
        -F image_file=@photo.jpg -F return_landmark=1 -F return_attributes=headpose,blur,facequality

Fields, limits and error codes are the seed's (../shared/seeds/faceplusplus-detect-v3.md). What the
core cannot see (age, gender, emotion, beauty...) is refused, never invented; the README lists what
is returned and how each derived value is computed.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from functools import partial
from typing import Any

from PIL import Image
from starlette.requests import Request

from imgproxy.api.dialect import endpoint
from imgproxy.api.facepp_landmarks import TABLES, named_points
from imgproxy.api.inputs import Carrier, Fields, FilePart, image_bytes
from imgproxy.api.megvii import (
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
from imgproxy.api.vendor import DetectRequest, Finder, ImageRules, Measurement, measure
from imgproxy.config import Settings
from imgproxy.faces.box import Box
from imgproxy.faces.detect import FACE_FRACTION, Detection, DetectOptions, Face, detection_scale
from imgproxy.faces.mesh import FaceAnalysis
from imgproxy.imaging.decode import Decoded, as_rgb
from imgproxy.imaging.resize import Size
from imgproxy.pipeline.context import Context, find_faces, load
from imgproxy.pipeline.values import Encoded
from imgproxy.service import Service

FACEPP = MegviiSpelling(
    path="/facepp/v3/detect",
    op="facepp/detect",
    error_key="error_message",
    missing_prefix="MISSING_ARGUMENTS: ",
    refused=Failure(401, "AUTHENTICATION_ERROR"),
    float_time=False,
)
# The image fields, in the seed's order of precedence: image_file first, image_url last.
SOURCES = {"image_file": Carrier.FILE, "image_base64": Carrier.BASE64, "image_url": Carrier.URL}
MISSING_IMAGE = ("image_url", "image_file", "image_base64")  # as the seed's example error names them
RULES = ImageRules(formats=frozenset({"JPEG", "MPO", "PNG"}), min_side=48, max_side=4096)  # MPO: a camera JPEG
MAX_IMAGE_BYTES = 2 * 2**20
# Face++ finds faces from 1/48 of the image's short side, and never under 48 px.
MIN_FACE = 48
# Without calculate_all, landmarks and attributes are computed for the largest five faces only.
ANALYZED_FACES = 5
LANDMARK_VALUES = {"0": 0, "1": 1, "2": 2}
CALCULATE_ALL_VALUES = {"0": False, "1": True}
RECTANGLE = re.compile(r"^\s*([0-9]{1,9})\s*,\s*([0-9]{1,9})\s*,\s*([0-9]{1,9})\s*,\s*([0-9]{1,9})\s*$")
# The seed's attributes the face mesh can answer honestly. The others (gender, age, smiling,
# eyestatus, emotion, ethnicity, beauty, mouthstatus, eyegaze, skinstatus) need models the core has
# not got; eyestatus and mouthstatus mix eye and mouth state with glasses, masks and occlusion.
SUPPORTED = ("headpose", "blur", "facequality")
# Face++'s own thresholds: above BLUR_THRESHOLD a face is too blurred to recognise, above
# QUALITY_THRESHOLD it is fit for comparison.
BLUR_THRESHOLD = 50.0
QUALITY_THRESHOLD = 70.1
# Around a face_rectangle, detection sees flat grey of this fraction of the rectangle's longer side:
# the detector misses a face cut tight to its box, and grey adds no pixels from outside the rectangle.
RECTANGLE_MARGIN = 0.5
MARGIN_GREY = (128, 128, 128)


@dataclass(frozen=True)
class Rectangle:
    """A face_rectangle, in the seed's field order."""

    top: int
    left: int
    width: int
    height: int

    @property
    def box(self) -> Box:
        return Box(self.left, self.top, self.width, self.height)

    def json(self) -> dict[str, int]:
        return {"top": self.top, "left": self.left, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class Query:
    landmark: int = 0  # 0: none, 1: 83 points, 2: 106 points
    attributes: tuple[str, ...] = ()
    calculate_all: bool = False
    rectangle: Rectangle | None = None

    @property
    def analyzed(self) -> int | None:
        """How many of the largest faces get landmarks and attributes (None: all)."""
        if not (self.landmark or self.attributes):
            return 0
        return None if self.calculate_all else ANALYZED_FACES


def optional(fields: Fields, name: str) -> str | None:
    """An optional text field; the seed treats an empty value as not given."""
    value = text_field(fields, name)
    return value.strip() if value and value.strip() else None


def field_choice(fields: Fields, name: str, choices: dict[str, Any], default: Any) -> Any:
    value = optional(fields, name)
    if value is None:
        return default
    if value not in choices:
        raise bad_argument(name)
    return choices[value]


def read_attributes(text: str | None) -> tuple[str, ...]:
    """The attributes asked for; any the core does not compute, or does not know, is a bad argument."""
    if text is None or text == "none":
        return ()
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or any(name not in SUPPORTED for name in names):
        raise bad_argument("return_attributes")
    return tuple(dict.fromkeys(names))


def read_rectangle(text: str | None) -> Rectangle | None:
    if text is None:
        return None
    match = RECTANGLE.match(text)
    if match is None:
        raise bad_argument("face_rectangle")
    rectangle = Rectangle(*(int(group) for group in match.groups()))
    if rectangle.width < 1 or rectangle.height < 1:
        raise bad_argument("face_rectangle")
    return rectangle


def read_query(fields: Fields) -> Query:
    return Query(
        landmark=field_choice(fields, "return_landmark", LANDMARK_VALUES, 0),
        attributes=read_attributes(optional(fields, "return_attributes")),
        calculate_all=field_choice(fields, "calculate_all", CALCULATE_ALL_VALUES, False),
        rectangle=read_rectangle(optional(fields, "face_rectangle")),
    )


def chosen_source(fields: Fields) -> str:
    """The image field that counts: the first given in the seed's order of precedence."""
    for name in SOURCES:
        value = fields.get(name)
        if isinstance(value, FilePart) or (isinstance(value, str) and value.strip()):
            return name
    raise MegviiError(FACEPP.missing(*MISSING_IMAGE))


async def facepp_image(fields: Fields, name: str, settings: Settings) -> bytes:
    value = text_field(fields, name) if SOURCES[name] is Carrier.URL else fields[name]
    return await image_bytes(SOURCES[name], value, name, settings, min(MAX_IMAGE_BYTES, settings.max_source_bytes))


def min_face(full: Size) -> int:
    return max(MIN_FACE, math.ceil(min(full) / FACE_FRACTION))


def find_all(state: Encoded, ctx: Context, full: Size) -> tuple[Decoded | None, Detection]:
    return find_faces(state, ctx, full, DetectOptions(min_face_size=min_face(full)), op=FACEPP.op)


def find_in_rectangle(rectangle: Rectangle, state: Encoded, ctx: Context, full: Size) -> tuple[Decoded | None, Detection]:
    """The largest face whose centre is inside `rectangle`, found in its pixels alone."""
    box = rectangle.box
    if box.right > full[0] or box.bottom > full[1]:
        raise bad_argument("face_rectangle")
    options = DetectOptions(min_face_size=min_face(full))
    margin = RECTANGLE_MARGIN * max(box.w, box.h)

    def load_rectangle() -> Decoded:
        decoded = load(state, ctx, FACEPP.op, detection_scale((rectangle.width, rectangle.height), options.min_face_size))
        sx, sy = decoded.image.width / full[0], decoded.image.height / full[1]
        cut = decoded.image.crop((round(box.x * sx), round(box.y * sy), round(box.right * sx), round(box.bottom * sy)))
        pad = round(margin * sx)
        framed = Image.new("RGB", (cut.width + 2 * pad, cut.height + 2 * pad), MARGIN_GREY)
        framed.paste(as_rgb(cut), (pad, pad))
        return Decoded(framed, (round(framed.width / sx), round(framed.height / sy)))

    # Cached apart from the whole image's detection: the digest is of the image, the key of the rectangle.
    key = f"{state.digest}/face_rectangle/{rectangle.top},{rectangle.left},{rectangle.width},{rectangle.height}"
    _, detection = ctx.faces.find(key, load_rectangle, options)
    found = [shifted(face, box.x - margin, box.y - margin) for face in detection.faces]
    inside = [face for face in found if box.x <= face.box.center[0] <= box.right and box.y <= face.box.center[1] <= box.bottom]
    return None, Detection(inside[:1])


def shifted(face: Face, dx: float, dy: float) -> Face:
    points = {name: (x + dx, y + dy) for name, (x, y) in face.keypoints.items()}
    return Face(Box(face.box.x + dx, face.box.y + dy, face.box.w, face.box.h), face.score, points)


def finder(query: Query) -> Finder:
    return find_all if query.rectangle is None else partial(find_in_rectangle, query.rectangle)


def rectangle_of(box: Box) -> Rectangle:
    x, y, w, h = box.rounded()
    return Rectangle(top=y, left=x, width=w, height=h)


def face_token(digest: str, rectangle: Rectangle) -> str:
    """32 hex digits, the same for the same face of the same image (Face++ makes a new one each time)."""
    return token_digest(digest, "facepp", rectangle.json()).hex()[:32]


def image_id(digest: str) -> str:
    """The image's identity as Face++ spells it: base64 of 16 bytes."""
    return base64.b64encode(bytes.fromhex(digest)[:16]).decode()


def headpose_json(analysis: FaceAnalysis) -> dict[str, float]:
    # Face++'s yaw is positive when the nose points to the image's left, the mesh's to the right;
    # pitch (positive raising the head) and roll (positive clockwise in the image) agree.
    return {
        "pitch_angle": round(analysis.pitch, 6),
        "roll_angle": round(analysis.roll, 6),
        "yaw_angle": round(-analysis.yaw, 6),
    }


def blur_json(analysis: FaceAnalysis) -> dict[str, dict[str, float]]:
    # The seed says motionblur and gaussianblur now equal blurness; the mesh's blur is one measure too.
    value = {"value": round(100 * analysis.blur, 3), "threshold": BLUR_THRESHOLD}
    return {"blurness": value, "motionblur": value, "gaussianblur": value}


def facequality_json(analysis: FaceAnalysis) -> dict[str, float]:
    return {"value": round(face_quality(analysis), 3), "threshold": QUALITY_THRESHOLD}


ATTRIBUTE_JSON = {"headpose": headpose_json, "blur": blur_json, "facequality": facequality_json}


def faces_json(found: Measurement, query: Query) -> list[dict[str, Any]]:
    faces = []
    for measured in found.faces:
        # With face_rectangle the answer's rectangle is the one asked about, exactly.
        rectangle = query.rectangle or rectangle_of(measured.face.box)
        entry: dict[str, Any] = {"face_token": face_token(found.digest, rectangle), "face_rectangle": rectangle.json()}
        analysis = measured.analysis
        if analysis is not None:  # faces past the largest five, or that the mesh cannot read, get neither
            if query.landmark:
                entry["landmark"] = named_points(analysis.landmarks, TABLES[query.landmark])
            if query.attributes:
                entry["attributes"] = {name: ATTRIBUTE_JSON[name](analysis) for name in query.attributes}
        faces.append(entry)
    return faces


def detect_body(found: Measurement, query: Query) -> dict[str, Any]:
    return {"image_id": image_id(found.digest), "face_num": len(found.faces), "faces": faces_json(found, query)}


async def facepp_result(request: Request, service: Service, call: Call) -> dict[str, Any]:
    settings = service.settings
    service.pool.admit()  # shed before the body is read (the keys are in it)
    fields = await read_form(request, settings.max_request_bytes, settings.body_timeout)
    check_keys(FACEPP, settings, fields)
    query = read_query(fields)  # before the image: a typo should not cost a download
    call.image = chosen_source(fields)
    data = await facepp_image(fields, call.image, settings)
    asked = DetectRequest(rules=RULES, find=finder(query), analyzed=query.analyzed)
    found = await service.pool.run(measure, data, Context(settings, service.faces), asked)
    return detect_body(found, query)


facepp_detect = endpoint(MegviiDialect(FACEPP, facepp_result))
