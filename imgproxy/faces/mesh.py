"""Per-face analysis from MediaPipe's face mesh: 478 landmarks, head pose, eye and mouth state, quality.

The mesh runs on each face's own region (a square around its box, resampled to `MESH_INPUT` px),
so a small face in a large photo gets as many pixels as a portrait. Landmark indices follow
MediaPipe's face-mesh topology; "right" and "left" are the subject's own, so in a frontal photo
the right eye is on the image's left.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from imgproxy.faces import quality
from imgproxy.faces.box import Box
from imgproxy.imaging.decode import as_rgb

if TYPE_CHECKING:
    from mediapipe.python.solutions.face_mesh import FaceMesh


class EyePoints(NamedTuple):
    """The six eye-aspect-ratio points of one eye, in Soukupová and Čech's p1..p6 order."""

    outer: int
    upper_outer: int
    upper_inner: int
    inner: int
    lower_inner: int
    lower_outer: int


class MouthPoints(NamedTuple):
    right_corner: int
    left_corner: int
    upper_inner: int  # the middle of the upper lip's inner edge
    lower_inner: int


RIGHT_EYE = EyePoints(33, 160, 158, 133, 153, 144)
LEFT_EYE = EyePoints(263, 387, 385, 362, 380, 373)
MOUTH = MouthPoints(61, 291, 13, 14)
# The ten points refine_landmarks adds: each iris's centre, then four points on its rim.
RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)
NOSE_TIP = 1
CHIN = 152
# The face outline, clockwise in a frontal photo, from the middle of the forehead. Not formatted:
# one index a line would stretch these 36 over 38 lines.
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
MESH_POINTS = 468  # without the iris points
# A point named by a vendor's landmark layout: a mesh index, or a blend `(a, b, t)`, the point `t`
# of the way from mesh point `a` to mesh point `b`, where the mesh has no point of its own.
Blend = tuple[int, int, float]
Source = int | Blend

# Where rigid points of the face sit on MediaPipe's canonical face model
# (mediapipe/modules/face_geometry/data/canonical_face_model.obj, centimetres, y up, z towards the
# viewer). Lips, eyelids, brows and jaw move with expression, so head pose leaves them out.
POSE_POINTS: dict[int, tuple[float, float, float]] = {
    1: (0.000, -1.127, 7.476),
    2: (0.000, -2.089, 6.058),
    4: (0.000, -0.463, 7.587),
    6: (0.000, 2.473, 5.789),
    9: (0.000, 4.886, 5.385),
    10: (0.000, 8.262, 4.482),
    151: (0.000, 6.545, 5.027),
    168: (0.000, 3.271, 5.236),
    195: (0.000, 1.059, 6.775),
    197: (0.000, 1.728, 6.317),
    33: (-4.446, 2.664, 3.173),
    133: (-1.856, 2.585, 3.758),
    263: (4.446, 2.664, 3.173),
    362: (1.856, 2.585, 3.758),
    234: (-7.664, 0.673, -2.436),
    454: (7.664, 0.673, -2.436),
    93: (-7.542, -1.049, -2.431),
    323: (7.542, -1.049, -2.431),
    127: (-7.743, 2.365, -2.005),
    356: (7.743, 2.365, -2.005),
    50: (-4.766, -0.702, 3.535),
    280: (4.766, -0.702, 3.535),
    98: (-1.406, -1.714, 5.241),
    327: (1.406, -1.714, 5.241),
}
_POSE_INDEX = list(POSE_POINTS)
# In OpenCV's camera frame (y down, z away from the camera) a frontal face has the identity rotation.
_POSE_MODEL = np.array(list(POSE_POINTS.values())) * np.array([1.0, -1.0, -1.0])

# The region the mesh sees: the box's longer side grown by this fraction on each side. The mesh's
# own detector needs some context around the face; too much makes the face small and lets
# neighbours in.
REGION_MARGIN = 0.4
MESH_INPUT = 256
# A portrait lens: the focal length is a few times the region's width. The pose barely depends on it.
FOCAL_PER_INPUT = 3.0
# Neighbours can share a region in a crowd: the mesh looks for a few faces and keeps the one
# nearest the box's centre.
MAX_FACES_IN_REGION = 3
# Eye aspect ratio from which an eye counts as open, set on real photos: open eyes measure 0.2-0.4,
# shut or downcast ones 0.05-0.1, squinting ones or eyes looking down between.
EYE_OPEN_RATIO = 0.12
# Inner-lip gap over mouth width from which the mouth counts as open: closed lips measure ~0.01,
# a smile showing the teeth up to ~0.2, a talking or yawning mouth 0.3 and more.
MOUTH_OPEN_RATIO = 0.25
# Pixels shaved off the face mask so the edge between face and background is not read as detail.
MASK_EROSION = 3


@dataclass(frozen=True)
class FaceAnalysis:
    """What the mesh and the classical measures say about one face.

    Angles are degrees of the head relative to the line from the camera to the face:
    yaw > 0: the subject turns to their left (the nose points to the image's right);
    pitch > 0: the subject looks up (chin raised);
    roll > 0: the head tilts towards the subject's left shoulder, i.e. it turns clockwise in the image.
    They are Euler angles applied roll last, so yaw and pitch are the head's own turn and nod
    whatever its tilt; on a frontal face roll is the angle of the line between the eyes.
    """

    landmarks: tuple[tuple[float, float], ...]  # 468 mesh + 10 iris points, pixels of the whole image
    yaw: float
    pitch: float
    roll: float
    right_eye_ratio: float  # eye aspect ratio (eyelid gap / eye width), ~0.3 open, < 0.1 shut
    left_eye_ratio: float
    mouth_ratio: float  # inner-lip gap / mouth width (corner to corner), ~0 closed
    right_eye_open: bool
    left_eye_open: bool
    mouth_open: bool
    laplacian_variance: float  # the face's edge energy at quality.FACE_WIDTH px wide: ~0 flat, hundreds sharp
    blur: float  # 0 sharp to 1 no detail, from laplacian_variance (see quality.blur)
    illumination: float  # mean luma of the face's skin, 0-255
    completeness: float  # fraction of the face (box of the landmarks, grown a little) inside the image, 0-1


class _Region(NamedTuple):
    pixels: NDArray[Any]  # MESH_INPUT x MESH_INPUT x 3 uint8, the image's edge repeated where it runs out
    origin: NDArray[Any]  # (x, y) of the image pixel at the region's (0, 0)
    scale: NDArray[Any]  # image pixels per region pixel, per axis


_local = threading.local()


def _mesh() -> FaceMesh:  # one per thread: a mesh's graph must not be shared between threads
    mesh = getattr(_local, "mesh", None)
    if mesh is None:
        from mediapipe.python.solutions.face_mesh import FaceMesh

        mesh = _local.mesh = FaceMesh(static_image_mode=True, max_num_faces=MAX_FACES_IN_REGION, refine_landmarks=True)
    return mesh


def analyze(image: Image.Image, box: Box) -> FaceAnalysis | None:
    """Landmarks, pose, eye and mouth state and quality of the face in `box` of `image` (oriented pixels).

    None when the mesh finds no face around the box, or only faces centred outside it.
    """
    rgb = as_rgb(image)
    region = _region(rgb, box)
    if region is None:
        return None
    points = _landmarks(region, box)
    if points is None:
        return None
    in_region = (points - region.origin) / region.scale
    yaw, pitch, roll = head_pose(in_region, MESH_INPUT * FOCAL_PER_INPUT, (MESH_INPUT / 2, MESH_INPUT / 2))
    right_eye, left_eye = eye_ratio(points, RIGHT_EYE), eye_ratio(points, LEFT_EYE)
    mouth = mouth_ratio(points)
    gray, mask = _face_patch(rgb, points)
    variance = quality.laplacian_variance(gray, mask)
    return FaceAnalysis(
        landmarks=tuple((float(x), float(y)) for x, y in points),
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        right_eye_ratio=right_eye,
        left_eye_ratio=left_eye,
        mouth_ratio=mouth,
        right_eye_open=right_eye >= EYE_OPEN_RATIO,
        left_eye_open=left_eye >= EYE_OPEN_RATIO,
        mouth_open=mouth >= MOUTH_OPEN_RATIO,
        laplacian_variance=variance,
        blur=quality.blur(variance),
        illumination=quality.mean_luminance(gray, mask),
        completeness=quality.completeness(bounding_box(points[:MESH_POINTS]), image.size),
    )


def eye_ratio(points: NDArray[np.float64], eye: EyePoints) -> float:
    """The eye aspect ratio: mean eyelid gap over the corner-to-corner width."""
    p = points[list(eye)]
    gaps = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
    width = np.linalg.norm(p[0] - p[3])
    return float(gaps / (2 * width)) if width > 0 else 0.0


def mouth_ratio(points: NDArray[np.float64]) -> float:
    """The gap between the inner edges of the lips over the corner-to-corner mouth width."""
    width = np.linalg.norm(points[MOUTH.right_corner] - points[MOUTH.left_corner])
    gap = np.linalg.norm(points[MOUTH.upper_inner] - points[MOUTH.lower_inner])
    return float(gap / width) if width > 0 else 0.0


def head_pose(points: NDArray[np.float64], focal: float, centre: tuple[float, float]) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees, as FaceAnalysis defines them, from mesh points in pixels of a
    pinhole camera with `focal` length and optical `centre`."""
    camera = np.array([[focal, 0, centre[0]], [0, focal, centre[1]], [0, 0, 1]], dtype=np.float64)
    image_points = np.ascontiguousarray(points[_POSE_INDEX, :2], dtype=np.float64)
    # cv2's stubs leave out that distCoeffs may be None, for no lens distortion.
    _, rvec, _ = cv2.solvePnP(_POSE_MODEL, image_points, camera, None, flags=cv2.SOLVEPNP_SQPNP)  # type: ignore[call-overload]
    rotation, _ = cv2.Rodrigues(rvec)
    # rotation = Rz(roll) @ Ry(b) @ Rx(a) in the camera frame (x right, y down, z away):
    # Ry(b > 0) swings the nose to the image's left and Rx(a > 0) drops the chin, hence the minus signs.
    b = math.asin(-max(-1.0, min(1.0, rotation[2, 0])))
    a = math.atan2(rotation[2, 1], rotation[2, 2])
    roll = math.atan2(rotation[1, 0], rotation[0, 0])
    return -math.degrees(b), -math.degrees(a), math.degrees(roll)


def locate(points: Sequence[tuple[float, float]], source: Source) -> tuple[float, float]:
    """Where `source` lies among the mesh `points`."""
    if isinstance(source, int):
        return points[source]
    a, b, t = source
    (xa, ya), (xb, yb) = points[a], points[b]
    return (xa + (xb - xa) * t, ya + (yb - ya) * t)


def bounding_box(points: NDArray[np.float64]) -> Box:
    (x0, y0), (x1, y1) = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    return Box(float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def _region(rgb: Image.Image, box: Box) -> _Region | None:
    """The square around `box` the mesh sees, or None when none of it is inside the image."""
    side = max(box.w, box.h) * (1 + 2 * REGION_MARGIN)
    cx, cy = box.center
    square = Box(cx - side / 2, cy - side / 2, side, side)
    inside = square.clipped(rgb.size)
    scale = MESH_INPUT / side
    width, height = round(inside.w * scale), round(inside.h * scale)
    if width < 1 or height < 1:
        return None
    left, top = round((inside.x - square.x) * scale), round((inside.y - square.y) * scale)
    width, height = min(width, MESH_INPUT - left), min(height, MESH_INPUT - top)
    box_in_image = (inside.x, inside.y, inside.right, inside.bottom)
    # Pillow resamples only the box's pixels, with antialiasing when it shrinks a large face.
    pixels = np.asarray(rgb.resize((width, height), Image.Resampling.BILINEAR, box=box_in_image))
    # The mesh's detector sees a hard black border as an edge; the repeated image edge is quieter.
    pixels = cv2.copyMakeBorder(pixels, top, MESH_INPUT - top - height, left, MESH_INPUT - left - width, cv2.BORDER_REPLICATE)
    scale_xy = np.array([inside.w / width, inside.h / height])
    return _Region(pixels, np.array([inside.x, inside.y]) - (left, top) * scale_xy, scale_xy)


def _landmarks(region: _Region, box: Box) -> NDArray[np.float64] | None:
    """The 478 points (x, y) in image pixels of the mesh face nearest the centre of `box`, if inside it."""
    result = _mesh().process(region.pixels)
    best, best_distance = None, math.inf
    cx, cy = box.center
    for face in result.multi_face_landmarks or ():
        normalised = np.array([(p.x, p.y) for p in face.landmark])
        points = region.origin + normalised * MESH_INPUT * region.scale
        x, y = points[:MESH_POINTS].mean(axis=0)
        distance = math.hypot(x - cx, y - cy)
        if box.x <= x <= box.right and box.y <= y <= box.bottom and distance < best_distance:
            best, best_distance = points, distance
    return best


def _face_patch(rgb: Image.Image, points: NDArray[np.float64]) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """The face in gray, resampled to quality.FACE_WIDTH px wide, and the mask of its skin inside the image
    (both empty when none of the face is inside)."""
    face = bounding_box(points[list(FACE_OVAL)])
    inside = face.clipped(rgb.size)
    if inside.w < 1 or inside.h < 1:
        return np.zeros((0, 0), np.uint8), np.zeros((0, 0), bool)
    scale = quality.FACE_WIDTH / face.w
    size = (max(1, round(inside.w * scale)), max(1, round(inside.h * scale)))
    box_in_image = (inside.x, inside.y, inside.right, inside.bottom)
    gray = np.asarray(rgb.resize(size, Image.Resampling.BILINEAR, box=box_in_image).convert("L"))
    outline = (points[list(FACE_OVAL)] - (inside.x, inside.y)) * (size[0] / inside.w, size[1] / inside.h)
    mask = np.zeros(gray.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], (1,))
    skin = cv2.erode(mask, np.ones((2 * MASK_EROSION + 1,) * 2, np.uint8))
    return gray, skin.astype(bool)
