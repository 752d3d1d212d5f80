"""What the Tencent and Qiniu dialects share: one job that finds and measures the faces of an image
for them.

The job runs in the worker pool, one per request: it reads the image's size from its header,
detects every face once (cached by content hash, like the facedetect op), lets the dialect choose
the faces it answers, then runs the face mesh on those at the decode scale that gives each enough
pixels (`faces.native.analysis_scale`), and cuts full-resolution JPEG crops when asked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from PIL import Image

from imgproxy.faces.box import Size
from imgproxy.faces.detect import DetectOptions, Face
from imgproxy.faces.mesh import FaceAnalysis
from imgproxy.faces.native import analysis_scale, analyze_faces
from imgproxy.imaging.encode import encode
from imgproxy.pipeline.state import Context, Encoded, find_faces, image_size, load

# How the dialects' detection work is named in error messages.
OP = "face detection"
# Picks, from the detected faces (largest first) of an image of some size, those to answer.
Chooser = Callable[[Sequence[Face], Size], Sequence[Face]]


@dataclass(frozen=True)
class Measured:
    face: Face  # box and keypoints in the original's oriented, full-resolution pixels
    analysis: FaceAnalysis | None  # None when the mesh did not find the face
    crop: bytes | None = None  # JPEG of the face box at full resolution, when asked for


@dataclass(frozen=True)
class Measurement:
    size: Size  # the original's oriented size
    digest: str  # the original's content hash (`Encoded.digest`)
    faces: tuple[Measured, ...]


def measure(data: bytes, ctx: Context, choose: Chooser, crops: bool = False) -> Measurement:
    """The faces `choose` keeps among those detected in the image `data`, each with its mesh
    analysis (and crop). Raises the decoder's Unsupported / TooLarge for what it cannot read."""
    state = Encoded(data, "application/octet-stream")
    full = image_size(state, ctx, OP)
    decoded, detection = find_faces(state, ctx, full, DetectOptions(), op=OP)
    faces = list(choose(detection.faces, full))
    if not faces:
        return Measurement(full, state.digest, ())
    decoded = load(state, ctx, OP, 1.0 if crops else analysis_scale(faces, full), reuse=decoded)
    analyses = analyze_faces(decoded, faces)
    jpegs = [face_jpeg(decoded.image, face, ctx.settings.quality) if crops else None for face in faces]
    measured = tuple(Measured(face, analysis, jpeg) for face, analysis, jpeg in zip(faces, analyses, jpegs))
    return Measurement(full, state.digest, measured)


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


def lookup(table: Sequence[tuple[type[BaseException], int]], error: BaseException) -> int | None:
    """The code of the first entry of `table` whose exception class `error` is an instance of."""
    return next((code for kind, code in table if isinstance(error, kind)), None)
