"""faceblur/<sigma>[/pad/<f>][/ignore-error/<0|1>]: the image with every face found blurred over a
feathered ellipse around the head, the rest of it unchanged.

The face privacy ops share what lies here: which faces are searched for (all of them, favouring
recall), on which frames of an animation, and how a face becomes a covered ellipse; facemosaic
differs only in how the ellipse's pixels are changed.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from PIL import Image

from imgproxy.errors import BadRequest
from imgproxy.faces.box import Box
from imgproxy.faces.detect import CONFIDENT, MIN_SEARCHED_FACE, MODEL_SIDE, DetectOptions, search_pixels, top_score
from imgproxy.imaging.cover import Change, Ellipse, blurred, cover, head_ellipse
from imgproxy.imaging.decode import Decoded
from imgproxy.imaging.resize import Size, check_output
from imgproxy.pipeline.context import Context, OverFrameLimit, find_faces, image_size, load_raster
from imgproxy.pipeline.options import Quality, read_int, read_number, read_options
from imgproxy.pipeline.values import Estimate, Raster, State, area, output

NAME = "faceblur"
# Lower than facedetect's 0.6: a face left uncovered costs more than a blurred patch of wall. On
# faces-dev 0.45 covers 87% of the faces of 20 px or wider (0.5: 86%, 0.6: 82%, 0.35: 88%) for
# 86 false covers over 378 photos (0.5: 70, 0.6: 32, 0.35: 129): below 0.45 each face gained
# costs 2.6 to 4.2 false covers (`bench/eval_cover.py`).
MIN_SCORE = 0.45
# A turned orientation's faces are added when its best face scores this much. The rotation search
# reads faces into texture four times over, and taking its best orientation instead of the
# upright faces (detect's rotate=True alone) covered fewer faces on faces-dev (73% against 77%)
# and more photos without people (8 of 18 against 5), measured before YuNet's fine search.
TURNED_SCORE = 0.7
# Pixels the detectors may see in a still image's upright search: 200 MediaPipe passes, or a YuNet
# run of 7.4 MP (0.19 s here, and about 300 MB while it runs). Faces from 12 px wide would have YuNet
# see a 4000x3000 photo at twice its size: a large image is searched down to the narrowest face
# this budget allows (a 1920x1080 one from 12 px, 4000x3000 from 28).
SEARCH_BUDGET = 200 * MODEL_SIDE * MODEL_SIDE
# Frames of an animation searched (spread from the first to the last), sharing SEARCH_BUDGET.
MAX_DETECTED_FRAMES = 24
# The covered ellipse's size: 1 is the head (see `cover.head_ellipse`); below 0.5 the eyes of a
# turned or tilted face may stick out, beyond 4 a whole-image blur says it better.
PAD = 1.0
MIN_PAD, MAX_PAD = 0.5, 4.0
MAX_SIGMA = 100
# However weak the asked blur, a face is blurred with a deviation of at least 1/8 of its width:
# at 1/16 the eyes, brows and smile still show, and the smaller the picture is shown, the more
# they do.
BLUR_FLOOR = 8

# The change for a face of the given width.
Changer = Callable[[float], Change]


@dataclass(frozen=True)
class FaceBlur:
    sigma: int  # the Gaussian's deviation in pixels of the image
    pad: float = PAD
    ignore_error: bool = False

    def canonical(self) -> str:
        return f"{NAME}/{self.sigma}" + pad_text(self.pad) + ("/ignore-error/1" if self.ignore_error else "")

    def estimate(self, before: Estimate) -> Estimate:
        return cover_estimate(before)

    def apply(self, state: State, ctx: Context) -> State:
        return cover_faces(state, ctx, NAME, self.pad, self.change)

    def change(self, face_width: float) -> Change:
        return blurred(max(self.sigma, face_width / BLUR_FLOOR))


def parse(args: list[str]) -> FaceBlur:
    options = read_options(NAME, args, positional=1, keys=("pad",))
    sigma = read_int(NAME, "sigma", options.positional[0], 1, MAX_SIGMA)
    return FaceBlur(sigma, read_pad(NAME, options.values), options.ignore_error)


# --- shared by the face privacy ops -------------------------------------------------------------


def cover_estimate(before: Estimate) -> Estimate:
    """Every pixel read to find the faces, then written once changed and once through the mask
    (as if faces filled the image: the estimate knows sizes, not faces)."""
    if before.size is None:
        return before
    return before.then(before.size, area(before.size), area(before.size), passes=2)


def cover_faces(state: State, ctx: Context, op: str, pad: float, changer: Changer) -> Raster:
    """The image in `state` with every face found changed by `changer` over its head ellipse,
    written as it came; with no face the pixels are unchanged."""
    settings = ctx.settings
    full = image_size(state, ctx, op)
    try:
        raster = load_raster(state, ctx, op)
    except OverFrameLimit as exc:  # the original passed on would show the faces this op hides
        raise BadRequest(exc.message) from None
    check_output(op, "the image's own size", full, raster.frame_count, settings.max_output_side, settings.max_output_pixels)
    notes: dict[str, str] = {}
    if raster.animation is None:
        faces = still_faces(state, ctx, full, op)
        raster = replace(raster, image=cover(raster.image, [region(box, turn, pad, changer) for box, turn in faces]))
        count = len(faces)
    else:
        frames = raster.animation.frames
        detected = detected_frames(len(frames), MAX_DETECTED_FRAMES)
        found = [frame_faces(frames[index], ctx, SEARCH_BUDGET // len(detected)) for index in detected]
        covered = []
        for index, frame in enumerate(frames):
            ctx.deadline.check()
            boxes = [box for near in nearby(detected, index) for box in found[near]]
            covered.append(cover(frame, [region(box, 0, pad, changer) for box in boxes]))
        animation = replace(raster.animation, frames=tuple(covered))
        raster = replace(raster, image=covered[0], animation=animation)
        count = max(len(faces) for faces in found)  # the most on one searched frame
        notes["X-Detected-Frames"] = f"{len(detected)} of {len(frames)}"
    ctx.faces_found = count
    raster = output(raster, None, Quality(settings.quality), False, full)
    return replace(raster, notes={**raster.notes, "X-Face-Count": str(count), **notes})


def region(box: Box, turn: int, pad: float, changer: Changer) -> tuple[Ellipse, Change]:
    return head_ellipse((box.x, box.y, box.w, box.h), pad, turn), changer(min(box.w, box.h))


def still_faces(state: State, ctx: Context, full: Size, op: str) -> list[tuple[Box, int]]:
    """The faces of a still image to cover, each with the clockwise turn that makes it upright.

    Upright faces are searched down to `smallest_face`. Unless one of them is confident, the
    rotation search adds the faces of a turned orientation whose best face is sure; it looks
    down to the detector's usual smallest face only, which keeps its four searches cheap.
    """
    upright = DetectOptions(min_face_size=smallest_face(full, SEARCH_BUDGET), min_score=MIN_SCORE)
    found = find_faces(state, ctx, full, upright, op=op)[1].faces
    faces = [(face.box, 0) for face in found]
    if top_score(found) < CONFIDENT:
        turned = find_faces(state, ctx, full, DetectOptions(min_score=MIN_SCORE, rotate=True), op=op)[1]
        if turned.orientation and top_score(turned.faces) >= TURNED_SCORE:
            faces += [(face.box, turned.orientation) for face in turned.faces]
    return faces


def frame_faces(frame: Image.Image, ctx: Context, budget: int) -> list[Box]:
    """The upright faces of one animation frame. Animations are made by software, which stores
    their frames upright, and searching four orientations would make every frame cost four times
    as much."""
    ctx.deadline.check()
    options = DetectOptions(min_face_size=smallest_face(frame.size, budget), min_score=MIN_SCORE)
    return [face.box for face in ctx.faces.find(None, lambda: Decoded(frame, frame.size), options)[1].faces]


def smallest_face(size: Size, budget: int) -> int:
    """The narrowest face to search for in an image of `size`: MIN_SEARCHED_FACE pixels, or wider
    (by steps of a tenth) where a search down to that would see more than `budget` pixels."""
    width = MIN_SEARCHED_FACE
    while search_pixels(size, width) > budget:
        width = math.ceil(width * 1.1)
    return width


def detected_frames(count: int, cap: int) -> list[int]:
    """Which of `count` frames are searched: all, or `cap` spread evenly from the first to the last."""
    if count <= cap:
        return list(range(count))
    return sorted({round(i * (count - 1) / (cap - 1)) for i in range(cap)})


def nearby(detected: Sequence[int], frame: int) -> list[int]:
    """Positions in `detected` (ascending frame numbers, the first frame among them) whose faces
    are covered on `frame`: the searched frames with no other searched frame between them and it.

    A frame searched itself takes its neighbours' faces too, so a face the detector misses on one
    frame is still covered; a frame between two searched ones takes both, covering a face at
    either end of its move.
    """
    last = bisect_right(detected, frame) - 1  # the last searched frame at or before `frame`
    near = (last - 1, last, last + 1) if detected[last] == frame else (last, last + 1)
    return [position for position in near if 0 <= position < len(detected)]


def read_pad(op: str, values: Mapping[str, str]) -> float:
    return read_number(op, "pad", values["pad"], MIN_PAD, MAX_PAD) if "pad" in values else PAD


def pad_text(pad: float) -> str:
    """`/pad/<f>` for the canonical spelling; nothing for the default."""
    return "" if pad == PAD else f"/pad/{pad:g}"
