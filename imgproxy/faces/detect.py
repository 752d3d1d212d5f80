"""The face-detection core: MediaPipe's full-range detector run over a plan of passes.

The model sees a 192x192 input, so one pass over a large image shrinks small faces below what it
can find. `plan_passes` chooses, from the image size and the smallest face wanted, the windows to
run it on: the whole image for large faces, then grids of overlapping windows, each level finer
than the last, until the smallest wanted face is big enough in the model's input. Windows smaller
than the model input are upscaled. Every pass is one run of the same graph on a 192x192 input,
so scores are comparable between passes and are never rescaled; detections of all passes are
merged by non-maximum suppression that prefers the pass which saw a face at a size it sees well.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from imgproxy.faces.box import Box
from imgproxy.imaging.decode import as_rgb
from imgproxy.imaging.resize import Size

if TYPE_CHECKING:
    from mediapipe.python.solution_base import SolutionBase

# MediaPipe's six face keypoints, in the order it reports them. "right" is the subject's right.
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")

# The full-range model's input side: a window is resized so its longer side is this many pixels.
MODEL_SIDE = 192
# The graph reports nothing below this score; `DetectOptions.min_score` filters above it. Low, so
# that callers ranking detections (the evaluation's AP) see the weak ones too.
SCORE_FLOOR = 0.3
# The narrowest face looked for without being asked: fewer pixels are too few for the model to be
# sure, and for a crop.
SMALLEST_FACE = 16
# The Face++ promise: faces down to 1/48 of the image's short side are found.
FACE_FRACTION = 48
# Face widths, in model-input pixels, that a pass finds well. Measured by running the model on
# windows around 400 labelled faces of faces-dev at known sizes: recall is near its best from 20
# to 48 px, a little lower at 16 and falls off quickly below (crisp frontal faces still work at
# 12-14 px). A pass is trusted for faces from FINE_FACE up; levels of the plan are about
# COARSE_FACE / FINE_FACE apart in scale. The pair trades recall for passes: on faces-dev 16/40
# scores AP 0.76 at 22 ms a photo, 16/32 0.77 at 33 ms, 20/50 0.78 at 46 ms.
FINE_FACE = 16
COARSE_FACE = 40
# Faces narrower than this are not searched for, whatever the caller asks: crisp frontal faces are
# found from 12-14 model pixels up, less is guesswork and a pass for every few pixels. A detection
# decode keeps the smallest automatic face this wide: a 4000x3000 JPEG decodes at 1/4 scale, its
# smallest face (1/48 of 3000 px) keeps 15 px.
MIN_SEARCHED_FACE = 12
# From this width in model pixels the model finds faces as well as it ever does (same measure).
SURE_FACE = 32
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
    # saves the finer passes when only the main faces matter; 0 searches down to min_face_size.
    min_face_ratio: float = 0.0


@dataclass(frozen=True)
class Detection:
    faces: list[Face]  # in pixels of the image given to `detect`, largest first
    orientation: int = 0  # clockwise degrees (0/90/180/270) the image was turned to find the faces
    passes: int = 0  # detector model runs it took, every orientation tried counted


# MediaPipe's FaceDetectionFullRange graph, spelled out: the packaged one keeps its own score
# threshold of 0.6 whatever `min_detection_confidence` says, which hides the weaker faces.
GRAPH = """
input_stream: "IMAGE:image"
output_stream: "DETECTIONS:detections"
node {
  calculator: "FaceDetection"
  input_stream: "IMAGE:image"
  output_stream: "DETECTIONS:detections"
  node_options {
    [type.googleapis.com/mediapipe.FaceDetectionOptions] {
      model_path: "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite"
      tensor_width: 192 tensor_height: 192 num_layers: 1 strides: 4
      interpolated_scale_aspect_ratio: 0.0 num_boxes: 2304
      x_scale: 192.0 y_scale: 192.0 h_scale: 192.0 w_scale: 192.0
      min_score_thresh: %s
      delegate { xnnpack {} }
    }
  }
}
"""

_local = threading.local()


def _detector() -> SolutionBase:  # one per thread: its graph must not be shared between threads
    detector = getattr(_local, "detector", None)
    if detector is None:
        from google.protobuf import text_format
        from mediapipe.framework.calculator_pb2 import CalculatorGraphConfig
        from mediapipe.python.solution_base import SolutionBase

        config = text_format.Parse(GRAPH % SCORE_FLOOR, CalculatorGraphConfig())
        detector = _local.detector = SolutionBase(graph_config=config, outputs=["detections"])
    return detector


def automatic_min_face(size: Size) -> float:
    """The smallest face width looked for in an image of `size` when the caller names none."""
    return max(SMALLEST_FACE, min(size) / FACE_FRACTION)


def detection_scale(size: Size, min_face_size: float = 0) -> float:
    """The smallest decode scale of an image of `size` that still gives the detector enough pixels:
    the smallest face looked for (`min_face_size`, or the automatic one) keeps MIN_SEARCHED_FACE
    pixels, which its pass upscales."""
    return min(1.0, MIN_SEARCHED_FACE / (min_face_size or automatic_min_face(size)))


@dataclass(frozen=True)
class Pass:
    """One run of the model over `window` (image pixels), trusted for faces from `smallest` to
    `largest` pixels wide.

    A pass also finds faces smaller than its range, but from a few blurred model pixels their boxes
    are loose and their scores too high: a finer pass's box of the same face wins. Faces larger
    than its range are a coarser pass's job, which sees them whole and at a size the model knows
    best; seen only through a small window they are mostly texture taken for a face, so dropped.
    """

    window: Box
    smallest: float
    largest: float


def plan_passes(size: Size, min_face: float) -> list[list[Pass]]:
    """The passes to run, by level from coarse to fine, so that a face at least `min_face` pixels
    wide reaches FINE_FACE model pixels in some window and lies whole inside it.

    The first level is one pass over the whole image. Each finer level is a grid of square windows
    up to COARSE_FACE / FINE_FACE times smaller (less, to land exactly on the finest size needed),
    overlapping by the widest face the level is responsible for.
    """
    width, height = size
    sides = [float(max(size))]
    finest = min_face * MODEL_SIDE / FINE_FACE  # the largest window in which min_face is big enough
    levels = max(0, math.ceil(math.log(sides[0] / finest) / math.log(COARSE_FACE / FINE_FACE)))
    sides += [sides[0] * (finest / sides[0]) ** (level / levels) for level in range(1, levels + 1)]
    plan = []
    for level, side in enumerate(sides):
        smallest = FINE_FACE * side / MODEL_SIDE if level < levels else 0.0
        if level == 0:
            plan.append([Pass(Box(0, 0, width, height), smallest, math.inf)])
            continue
        # The next coarser level is trusted from FINE_FACE of its model pixels up: every face
        # narrower than that must fit whole in one window of this level.
        overlap = FINE_FACE * sides[level - 1] / MODEL_SIDE
        largest = SURE_FACE * sides[level - 1] / MODEL_SIDE
        plan.append([Pass(window, smallest, largest) for window in grid(size, side, overlap)])
    return plan


def grid(size: Size, side: float, overlap: float) -> list[Box]:
    """Square windows of `side` covering an image of `size`, neighbours overlapping by at least
    `overlap`, spread evenly from edge to edge (cut to the image where it is narrower)."""
    xs = spread(size[0], side, overlap)
    ys = spread(size[1], side, overlap)
    return [Box(x, y, min(side, size[0]), min(side, size[1])) for y in ys for x in xs]


def spread(length: float, side: float, overlap: float) -> list[float]:
    """Starts of windows of `side` along `length`, overlapping by at least `overlap`."""
    if side >= length:
        return [0.0]
    count = math.ceil((length - overlap) / (side - overlap))
    step = (length - side) / (count - 1)
    return [i * step for i in range(count)]


@dataclass(frozen=True)
class Candidate:
    face: Face
    trusted: bool  # found at a size its pass sees well


def merge(candidates: Sequence[Candidate], threshold: float = MERGE_IOU) -> list[Face]:
    """Non-maximum suppression across passes.

    Trusted candidates claim first, best score first; each keeps its own box and keypoints and
    takes the best score of the candidates it suppresses, so a face seen well by a fine pass keeps
    the confidence a coarse pass had in it.
    """
    ordered = sorted(candidates, key=lambda c: (c.trusted, c.face.score), reverse=True)
    kept: list[Face] = []
    scores: list[float] = []
    for candidate in ordered:
        box = candidate.face.box
        match = next((i for i, face in enumerate(kept) if box.iou(face.box) >= threshold), None)
        if match is None:
            kept.append(candidate.face)
            scores.append(candidate.face.score)
        else:
            scores[match] = max(scores[match], candidate.face.score)
    return [replace(face, score=score) for face, score in zip(kept, scores, strict=True)]


def run_pass(image: Image.Image, step: Pass) -> list[Candidate]:
    """Faces MediaPipe finds in the window of `step` over `image` (RGB), in image pixels.

    Faces touching an edge of the window that is inside the image are cut by it: a neighbouring
    window of the same level holds them whole, so they are left to that one.
    """
    window = step.window
    scale = MODEL_SIDE / max(window.w, window.h)
    out = (max(1, round(window.w * scale)), max(1, round(window.h * scale)))
    source = (window.x, window.y, window.right, window.bottom)
    pixels = np.asarray(image.resize(out, Image.Resampling.BILINEAR, box=source, reducing_gap=2.0))
    result = _detector().process({"image": pixels})
    inner = (window.x > 0, window.y > 0, window.right < image.width, window.bottom < image.height)
    faces = []
    for detection in result.detections or ():
        location = detection.location_data
        rel = location.relative_bounding_box
        edges = (rel.xmin <= 0, rel.ymin <= 0, rel.xmin + rel.width >= 1, rel.ymin + rel.height >= 1)
        if any(cut and inside for cut, inside in zip(edges, inner, strict=True)):
            continue
        box = Box(window.x + rel.xmin * window.w, window.y + rel.ymin * window.h, rel.width * window.w, rel.height * window.h)
        box = box.clipped(image.size)
        if box.area <= 0 or box.w > step.largest:
            continue
        points = {
            name: (window.x + p.x * window.w, window.y + p.y * window.h)
            for name, p in zip(KEYPOINT_NAMES, location.relative_keypoints, strict=True)
        }
        faces.append(Candidate(Face(box, float(detection.score[0]), points), box.w >= step.smallest))
    return faces


def find_upright(image: Image.Image, options: DetectOptions, min_face: float) -> tuple[list[Face], int]:
    """Upright faces of `image` (RGB) at least `min_face` wide, merged across all passes, and the
    number of passes run."""
    searched = max(min_face, MIN_SEARCHED_FACE)
    levels = plan_passes(image.size, searched)
    candidates: list[Candidate] = []
    faces: list[Face] = []
    passes = 0
    floor = math.inf  # faces wider than this were the last level's job: finer ones find narrower
    done = 0
    while done < len(levels):
        needed = options.min_face_ratio * max((f.box.w for f in faces), default=0.0)
        if needed > floor:
            break
        if done == 1 and needed > searched:
            levels = [levels[0], *finer_levels(image.size, needed)]
            if len(levels) == 1:
                break
        level = levels[done]
        candidates += [candidate for step in level for candidate in run_pass(image, step)]
        passes += len(level)
        faces = [f for f in merge(candidates) if f.score >= options.min_score and f.box.w >= min_face]
        floor = level[0].smallest
        done += 1
    return faces, passes


def finer_levels(size: Size, needed: float) -> list[list[Pass]]:
    """The levels after the whole-image pass that find every face at least `needed` wide.

    When the whole image showed a face, a caller that wants only faces near its size
    (`min_face_ratio`) needs no finer windows than `needed` calls for: fewer, larger ones than
    the plan for the smallest face (a portrait a quarter of a 1920x1440 frame wide runs 4 windows
    after the first pass instead of 6).
    """
    return plan_passes(size, needed)[1:]


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
