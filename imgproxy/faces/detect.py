"""The face-detection core: MediaPipe's full-range detector over the whole image, then YuNet's
fine search where smaller faces are wanted.

MediaPipe's model sees a 192x192 input: one pass over the whole image finds the large faces, with
six keypoints each, but shrinks small faces below what it can find. For those, YuNet (`yunet`),
a fully convolutional detector, runs once over the whole image at the scale where the smallest
face wanted is YUNET_FACE pixels wide; its answers are put in MediaPipe's box style and score
scale. `plan_fine_search` decides from the faces wanted and those found whether and at what scale
it runs; when only the companions of the widest face are wanted and the whole-image pass found no
face to measure them by, `plan_coarse_search` has YuNet look for larger faces first. Detections of
all runs are merged by non-maximum suppression.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from PIL import Image

from imgproxy.faces import blazeface_net, yunet
from imgproxy.faces.box import Box
from imgproxy.imaging.decode import as_rgb
from imgproxy.imaging.resize import Size, model_input

# MediaPipe's six face keypoints, in the order it reports them. "right" is the subject's right.
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")

# The full-range model's input side: an image is resized so its longer side is this many pixels.
MODEL_SIDE = blazeface_net.SIDE
# The whole-image pass reports nothing below this score; `DetectOptions.min_score` filters above
# it. Low, so that callers ranking detections (the evaluation's AP) see the weak ones too.
SCORE_FLOOR = 0.3
# The narrowest face looked for without being asked: fewer pixels are too few for the model to be
# sure, and for a crop.
SMALLEST_FACE = 16
# The Face++ promise: faces down to 1/48 of the image's short side are found.
FACE_FRACTION = 48
# The face width, in model-input pixels, from which the whole-image pass is trusted: measured by
# running the model on windows around 400 labelled faces of faces-dev at known sizes, recall is
# near its best from 20 to 48 px, a little lower at 16 and falls off quickly below.
FINE_FACE = 16
# Faces narrower than this are not searched for, whatever the caller asks: below, a face is a few
# blurred pixels and YuNet's upscaled search costs the square of the scale. A detection
# decode keeps the smallest automatic face this wide: a 4000x3000 JPEG decodes at 1/4 scale, its
# smallest face (1/48 of 3000 px) keeps 15 px.
MIN_SEARCHED_FACE = 12
# The width YuNet sees the narrowest face at when only faces near the widest one are wanted
# (`min_face_ratio`): fewer pixels than YUNET_FACE, and the companions of a face the whole-image
# pass found are rarely that narrow. facecrop2 on faces-dev holds the largest face in 89.9% of
# crops at 14 as at 16 (`bench/crop_eval.py`); YuNet sees (14/20)^2 = 49% of the pixels, and
# facecrop2 on a 1920x1440 photo takes some 1 ms less than at 16 (`bench/peers.py`).
COMPANION_FACE = 14
# The coarse YuNet run (`plan_coarse_search`) looks for faces this many times as wide as the
# narrowest searched: at a sixth of the fine search's cost.
COARSE_STEP = 2.5
# Detections of two passes overlapping this much are one face.
MERGE_IOU = 0.3
# With the rotation search, an orientation whose best face scores this much ends the search.
CONFIDENT = 0.8


@dataclass(frozen=True)
class Face:
    box: Box
    score: float
    keypoints: dict[str, tuple[float, float]] = field(default_factory=dict)

    def scaled(self, sx: float, sy: float) -> Face:
        points = {name: (x * sx, y * sy) for name, (x, y) in self.keypoints.items()}
        return Face(self.box.scaled(sx, sy), self.score, points)


@dataclass(frozen=True)
class DetectOptions:
    max_faces: int = 0  # keep the largest N faces; 0 keeps all
    # Width in pixels of the narrowest face reported; 0: `automatic_min_face`. Faces narrower than
    # MIN_SEARCHED_FACE are reported when found but not searched for.
    min_face_size: int = 0
    # The threshold MediaPipe ships for this model; scores below SCORE_FLOOR are never reported.
    min_score: float = 0.6
    rotate: bool = False  # also look for faces turned by 90, 180 and 270 degrees
    # Faces narrower than this fraction of the widest face found may be left unsearched, which
    # spares or shrinks the fine search when only the main faces matter; 0 searches down to
    # min_face_size.
    min_face_ratio: float = 0.0


@dataclass(frozen=True)
class Detection:
    faces: list[Face]  # in pixels of the image given to `detect`, largest first
    orientation: int = 0  # clockwise degrees (0/90/180/270) the image was turned to find the faces
    passes: int = 0  # detector model runs it took, every orientation tried counted


def automatic_min_face(size: Size) -> float:
    """The smallest face width looked for in an image of `size` when the caller names none."""
    return max(SMALLEST_FACE, min(size) / FACE_FRACTION)


def detection_scale(size: Size, min_face_size: float = 0) -> float:
    """The smallest decode scale of an image of `size` that still gives the detector enough pixels:
    the smallest face looked for (`min_face_size`, or the automatic one) keeps MIN_SEARCHED_FACE
    pixels, which the fine search upscales."""
    return min(1.0, MIN_SEARCHED_FACE / (min_face_size or automatic_min_face(size)))


def whole_pass_smallest(size: Size) -> float:
    """The narrowest face the whole-image MediaPipe pass over an image of `size` is trusted for."""
    return FINE_FACE * max(size) / MODEL_SIDE


def plan_coarse_search(searched: float, widest: float, min_face_ratio: float, covered: float) -> float | None:
    """The scale of a first, coarser YuNet run, or None when it cannot spare anything.

    When only the companions of the widest face are wanted (`min_face_ratio`) but the whole-image
    pass, trusted from `covered` pixels wide, found no face to measure them by (a group photo of
    small faces), a run that finds faces from COARSE_STEP times `searched` costs a fraction of the
    fine search, and the widest face it finds often makes the fine search coarser or needless.
    """
    face = COARSE_STEP * searched
    if not min_face_ratio or widest or face >= covered:
        return None
    return yunet.YUNET_FACE / face


def plan_fine_search(searched: float, widest: float, min_face_ratio: float, covered: float) -> float | None:
    """The scale YuNet sees the image at, or None when the passes so far suffice.

    Faces from `searched` pixels wide are wanted; with `min_face_ratio`, only those at least that
    fraction of `widest` (the widest face found so far), which spares a portrait the fine search.
    The passes so far are trusted for faces from `covered` pixels wide. The scale makes the
    narrowest face wanted YUNET_FACE pixels wide in YuNet's input, or COMPANION_FACE when the
    widest face decides it.
    """
    companions = min_face_ratio * widest
    needed = max(searched, companions)
    if needed >= covered:
        return None
    return (COMPANION_FACE if companions > searched else yunet.YUNET_FACE) / needed


def search_pixels(size: Size, min_face: float) -> int:
    """Pixels the detectors see when an image of `size` is searched for every face at least
    `min_face` wide (what a search costs: MediaPipe runs some 120 ns a pixel of its input here,
    YuNet some 25)."""
    scale = plan_fine_search(max(min_face, MIN_SEARCHED_FACE), 0.0, 0.0, whole_pass_smallest(size))
    fine = 0 if scale is None else math.prod(yunet.search_size(size, scale))
    return MODEL_SIDE * MODEL_SIDE + fine


@dataclass(frozen=True)
class Candidate:
    face: Face
    trusted: bool  # found at a size its detector sees well


def merge(candidates: Sequence[Candidate], threshold: float = MERGE_IOU) -> list[Face]:
    """Non-maximum suppression across passes and detectors.

    Trusted candidates claim first, best score first; each keeps its own box and takes the best
    score of the candidates it suppresses, so a face seen well by one detector keeps the
    confidence another had in it. It takes the keypoints of the one with the most (MediaPipe's
    six, ears included, over YuNet's four).
    """
    ordered = sorted(candidates, key=lambda c: (c.trusted, c.face.score), reverse=True)
    kept: list[Face] = []
    for candidate in ordered:
        face = candidate.face
        match = next((i for i, other in enumerate(kept) if face.box.iou(other.box) >= threshold), None)
        if match is None:
            kept.append(face)
            continue
        claimer = kept[match]
        points = face.keypoints if len(face.keypoints) > len(claimer.keypoints) else claimer.keypoints
        kept[match] = replace(claimer, score=max(claimer.score, face.score), keypoints=points)
    return kept


def whole_pass(image: Image.Image) -> list[Face]:
    """Faces MediaPipe finds in the whole of `image` (RGB) seen at MODEL_SIDE, in image pixels."""
    faces = []
    for found in blazeface_net.relative_faces(model_input(image, blazeface_net.input_size(image.size)), SCORE_FLOOR):
        box = found.box.scaled(image.width, image.height).clipped(image.size)
        if box.area <= 0:
            continue
        points = {name: (u * image.width, v * image.height) for name, (u, v) in zip(KEYPOINT_NAMES, found.keypoints, strict=True)}
        faces.append(Face(box, found.score, points))
    return faces


def find_upright(image: Image.Image, options: DetectOptions, min_face: float) -> tuple[list[Face], int]:
    """Upright faces of `image` (RGB) at least `min_face` wide, merged across both detectors, and
    the number of detector runs.

    Each detector is trusted where it sees faces well: MediaPipe's pass from `whole_pass_smallest`
    up, YuNet below. Before each YuNet run the faces found below their run's trusted size are
    dropped: from a few blurred model pixels their boxes are loose and their scores too high.
    """
    smallest = whole_pass_smallest(image.size)
    searched = max(min_face, MIN_SEARCHED_FACE)
    candidates = [Candidate(face, face.box.w >= smallest) for face in whole_pass(image)]
    covered, passes = smallest, 1
    coarse = plan_coarse_search(searched, widest(candidates, options.min_score), options.min_face_ratio, covered)
    if coarse is not None:
        covered = yunet.YUNET_FACE / coarse
        candidates = [c for c in candidates if c.trusted] + yunet_candidates(image, coarse, covered, smallest)
        passes += 1
    scale = plan_fine_search(searched, widest(candidates, options.min_score), options.min_face_ratio, covered)
    if scale is not None:
        candidates = [c for c in candidates if c.trusted] + yunet_candidates(image, scale, 0.0, smallest)
        passes += 1
    faces = [f for f in merge(candidates) if f.score >= options.min_score and f.box.w >= min_face]
    return faces, passes


def widest(candidates: Sequence[Candidate], min_score: float) -> float:
    """The width of the widest trusted face scoring at least `min_score`; 0 without one."""
    return max((c.face.box.w for c in candidates if c.trusted and c.face.score >= min_score), default=0.0)


def yunet_candidates(image: Image.Image, scale: float, trusted_from: float, smallest: float) -> list[Candidate]:
    """YuNet's faces in `image` seen at `scale`, trusted from `trusted_from` pixels wide up to the
    whole-image pass's `smallest`."""
    return [
        Candidate(Face(box, score, points), trusted_from <= box.w < smallest) for box, score, points in yunet.find(image, scale)
    ]


# Pillow's transposes that turn an image clockwise by 90, 180 and 270 degrees.
CLOCKWISE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


def unrotate_point(point: tuple[float, float], degrees: int, size: Size) -> tuple[float, float]:
    """Where a point of the image turned clockwise by `degrees` lies in the original of `size`."""
    u, v = point
    width, height = size
    if degrees == 90:
        return (v, height - u)
    if degrees == 180:
        return (width - u, height - v)
    if degrees == 270:
        return (width - v, u)
    return (u, v)


def unrotate(face: Face, degrees: int, size: Size) -> Face:
    """`face` found in the image turned clockwise by `degrees`, in pixels of the original."""
    corners = [unrotate_point(p, degrees, size) for p in ((face.box.x, face.box.y), (face.box.right, face.box.bottom))]
    (x0, y0), (x1, y1) = corners
    box = Box(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))
    points = {name: unrotate_point(p, degrees, size) for name, p in face.keypoints.items()}
    return Face(box, face.score, points)


def detect(image: Image.Image, options: DetectOptions = DetectOptions()) -> Detection:
    """Faces in `image`, in its pixels, largest first.

    With `options.rotate` the image is also searched turned by 90, 270 and 180 degrees (sideways
    first, the common case for phone photos) until an orientation finds a confident face; the
    orientation whose best face scores highest wins.
    """
    rgb = as_rgb(image)
    min_face = options.min_face_size or automatic_min_face(rgb.size)
    best, passes = Detection([], 0), 0
    for degrees in (0, 90, 270, 180) if options.rotate else (0,):
        turned = rgb.transpose(CLOCKWISE[degrees]) if degrees else rgb
        upright, run = find_upright(turned, options, min_face)
        faces = [unrotate(f, degrees, rgb.size) for f in upright]
        passes += run
        if top_score(faces) > top_score(best.faces):
            best = Detection(faces, degrees)
        if top_score(faces) >= CONFIDENT:
            break
    faces = sorted(best.faces, key=lambda f: f.box.area, reverse=True)
    return replace(best, faces=faces[: options.max_faces] if options.max_faces else faces, passes=passes)


def top_score(faces: Sequence[Face]) -> float:
    return max((f.score for f in faces), default=0.0)
