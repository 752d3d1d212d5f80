"""What the vendor dialects share: one job that finds and measures the faces of an image for them,
the vendors' head-pose convention, and the lookup of their error tables.

The job runs in the worker pool, one per request (`measure`): it reads the image's header and
checks it against the dialect's rules, detects every face once (cached by content hash, like the
facedetect op), lets the dialect choose the faces it answers, then runs the face mesh on those it
asks about at the decode scale that gives each enough pixels (`faces.native.analysis_scale`),
turned upright when the faces were found turned, and cuts full-resolution JPEG crops when asked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from PIL import Image

from imgproxy.errors import BadRequest, Unsupported
from imgproxy.faces.detect import CLOCKWISE, Detection, DetectOptions, Face, unrotate
from imgproxy.faces.mesh import FaceAnalysis
from imgproxy.faces.native import analysis_scale, analyze_faces
from imgproxy.imaging.decode import Decoded
from imgproxy.imaging.encode import encode
from imgproxy.imaging.resize import Size
from imgproxy.pipeline.context import Context, find_faces, load
from imgproxy.pipeline.values import Encoded

# How the dialects' detection work is named in error messages.
OP = "face detection"
# How a dialect finds faces in an image of a size: (the decode detection ran on if it ran, faces).
Finder = Callable[[Encoded, Context, Size], tuple[Decoded | None, Detection]]
# Picks, from the detected faces (largest first) of an image of some size, those to answer.
Chooser = Callable[[Sequence[Face], Size], Sequence[Face]]


class InvalidImageSize(BadRequest):
    """The image's width or height is outside the dialect's limits."""


@dataclass(frozen=True)
class ImageRules:
    """What a dialect accepts, checked from the header before any pixel is decoded."""

    formats: frozenset[str] | None = None  # Pillow format names; None: every format the proxy reads
    min_side: int = 1
    max_side: int | None = None  # None: only the proxy's own pixel limit


def find_every_face(state: Encoded, ctx: Context, full: Size) -> tuple[Decoded | None, Detection]:
    return find_faces(state, ctx, full, DetectOptions(), op=OP)


def every_face(faces: Sequence[Face], size: Size) -> Sequence[Face]:
    return faces


@dataclass(frozen=True)
class DetectRequest:
    """What one detect-API request asks of the detection core, whatever its dialect."""

    rules: ImageRules = ImageRules()
    find: Finder = find_every_face
    choose: Chooser = every_face
    analyzed: int | None = None  # how many of the chosen faces, largest first, get the mesh (None: all)
    crops: bool = False  # a full-resolution JPEG of each chosen face


@dataclass(frozen=True)
class Measured:
    face: Face  # box and keypoints in the original's oriented, full-resolution pixels
    analysis: FaceAnalysis | None  # None when the mesh was not asked for or did not find the face
    crop: bytes | None = None  # JPEG of the face box at full resolution, when asked for


@dataclass(frozen=True)
class Measurement:
    size: Size  # the original's oriented size
    digest: str  # the original's content hash (`Encoded.digest`)
    orientation: int  # clockwise degrees the image was turned to find the faces upright
    faces: tuple[Measured, ...]  # the chosen faces


def measure(data: bytes, ctx: Context, request: DetectRequest) -> Measurement:
    """The faces `request` chooses among those detected in the image `data`, each with its mesh
    analysis (and crop) as asked. Raises the decoder's Unsupported / TooLarge for what it cannot
    read, and Unsupported / InvalidImageSize for what the dialect's rules refuse."""
    state = Encoded(data, "application/octet-stream")
    header = state.header(ctx.settings.max_source_pixels)
    rules = request.rules
    if rules.formats is not None and header.format not in rules.formats:
        raise Unsupported(f"{header.format} images are not accepted")
    if not all(rules.min_side <= side <= (rules.max_side or side) for side in header.size):
        raise InvalidImageSize(f"{header.size[0]}x{header.size[1]} is outside {rules.min_side}-{rules.max_side} px")
    full = header.size
    decoded, detection = request.find(state, ctx, full)
    chosen = list(request.choose(detection.faces, full))
    analyzed = chosen if request.analyzed is None else chosen[: request.analyzed]
    if not analyzed and not (request.crops and chosen):
        return Measurement(full, state.digest, detection.orientation, tuple(Measured(face, None) for face in chosen))
    decoded = load(state, ctx, OP, 1.0 if request.crops else analysis_scale(analyzed, full), reuse=decoded)
    analyses = [*analyze_upright(decoded, analyzed, detection.orientation), *[None] * (len(chosen) - len(analyzed))]
    jpegs = [face_jpeg(decoded.image, face, ctx.settings.quality) if request.crops else None for face in chosen]
    measured = tuple(Measured(face, analysis, jpeg) for face, analysis, jpeg in zip(chosen, analyses, jpegs, strict=True))
    return Measurement(full, state.digest, detection.orientation, measured)


def analyze_upright(decoded: Decoded, faces: Sequence[Face], orientation: int) -> list[FaceAnalysis | None]:
    """The mesh analysis of `faces` (full-resolution pixels of the image as displayed) on `decoded`,
    turned clockwise by `orientation` so the faces stand upright."""
    if not faces:
        return []
    if orientation:
        full = decoded.full_size
        turned_size = full if orientation == 180 else (full[1], full[0])
        decoded = Decoded(decoded.image.transpose(CLOCKWISE[orientation]), turned_size)
        # `unrotate` maps back from an image turned clockwise; the way back from this one is the rest of the turn.
        faces = [unrotate(face, 360 - orientation, turned_size) for face in faces]
    return list(analyze_faces(decoded, faces))


def face_jpeg(image: Image.Image, face: Face, quality: int) -> bytes:
    """The face's box cut out of `image` (full resolution) as a JPEG."""
    x, y, w, h = face.box.clipped(image.size).rounded()
    return encode(image.crop((x, y, x + max(w, 1), y + max(h, 1))), "JPEG", quality)


class Pose(NamedTuple):
    """Head pose in degrees as Baidu answers it, which Qiniu's API copies: yaw < 0 when the subject
    turns to their own left (the nose points to the image's right), pitch < 0 when they look up,
    roll > 0 when the head turns clockwise in the image. Read off real Baidu answers (a face turned
    to its left with yaw -20); the seeds say only "-90(左), 90(右)", "-90(上), 90(下)" and
    "-180(逆时针), 180(顺时针)". Tencent's seed gives no signs, so it answers the same convention."""

    yaw: float
    pitch: float
    roll: float


def vendor_pose(analysis: FaceAnalysis) -> Pose:
    """The mesh's pose (`FaceAnalysis`: yaw > 0 turning left, pitch > 0 looking up, roll > 0
    clockwise) in the vendors' convention."""
    return Pose(-analysis.yaw, -analysis.pitch, analysis.roll)


def face_digest(image_digest: str, face: Face) -> bytes:
    """16 bytes naming one face of one image: the same for the same face whenever that image is
    detected again (detection is deterministic and cached), different for every other face."""
    x, y, w, h = face.box.rounded()
    return hashlib.blake2b(f"{image_digest}/{x},{y},{w},{h}".encode(), digest_size=16).digest()


Code = TypeVar("Code")


def code_of(table: Mapping[type[Exception], Code], error: Exception) -> Code | None:
    """What `table` says of `error`: the entry of the most specific of its classes, walking up from
    its own, so an entry for a subclass wins over one for its base (each dialect maps the proxy's
    errors to its own codes this way). None when no class of `error` is in the table: a bug."""
    return next((table[kind] for kind in type(error).__mro__ if kind in table), None)
