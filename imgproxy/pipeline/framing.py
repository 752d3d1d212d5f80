"""Where a face crop of an image goes, on which faces and why: the one answer that facecrop2,
`facedetect/crop` (its JSON and its picture) and the face gravity of imageMogr2 and imageView2
all use, so what is drawn or reported is what is cut.

Options in URLs, shared by those ops: `pad/<f>` (room around the faces), `faces/<largest|all|N>`
(which faces), `fallback/<error|center|attention|original>` (what to do without a face).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from imgproxy.errors import BadRequest
from imgproxy.faces.box import Box
from imgproxy.faces.crop import MAX_PAD, MIN_PAD, FaceChoice, centred_window, choose_faces, crop_window, face_region
from imgproxy.faces.detect import Detection, DetectOptions, Face
from imgproxy.imaging.decode import Decoded
from imgproxy.imaging.resize import Size
from imgproxy.imaging.saliency import MAP_SIDE, attention_window
from imgproxy.pipeline.context import Context, find_faces, load
from imgproxy.pipeline.options import read_choice, read_number
from imgproxy.pipeline.values import State

# Lower than the detector's default 0.6: a crop should land on a masked or turned face (which
# score 0.4-0.6) rather than answer "no face". On the 242 faces-dev photos whose largest face is
# 40 px or wider, 0.45 finds the largest face in 89% (0.6: 82%) while the wrong-face rate stays
# near 6%; photos without people (scikit-image's coffee, coins, cat, text...) still find nothing.
MIN_SCORE = 0.45
FALLBACKS = ("error", "center", "attention", "original")
KEYS = ("pad", "faces", "fallback")
MAX_FACE_INDEX = 1000


@dataclass(frozen=True)
class CropOptions:
    pad: float = 1.0
    faces: FaceChoice = FaceChoice()
    fallback: str = "error"

    def canonical(self) -> list[str]:
        """The options that differ from the defaults, as URL segments in KEYS order."""
        parts = []
        if self.pad != 1.0:
            parts += ["pad", f"{self.pad:g}"]
        if self.faces != FaceChoice():
            parts += ["faces", self.faces.canonical()]
        if self.fallback != "error":
            parts += ["fallback", self.fallback]
        return parts

    @property
    def detection(self) -> DetectOptions:
        # The default and `largest` keep faces of at least a quarter of the largest's area, half
        # its width: narrower ones need not be searched for, which spares a portrait the fine
        # search (`detect.plan_fine_search`). A little below half, so a companion near the limit is
        # still searched for at a size the model sees well: on faces-dev 0.45 held the largest face
        # in 86.5% of crops against 0.5's 85.4% (with MediaPipe's window grid; 88.9% with YuNet).
        # `all` and `faces/N` need every face.
        ratio = 0.45 if self.faces.mode in ("default", "largest") else 0.0
        return DetectOptions(min_score=MIN_SCORE, min_face_ratio=ratio)


@dataclass(frozen=True)
class Framing:
    """A crop's window and the story of it."""

    window: Box | None  # in oriented source pixels; None when the crop has no window (no face and no fallback to one)
    reason: str  # faces, center, attention, original (the fallback answers the image as it is) or error
    detection: Detection  # every face found, largest first
    chosen: list[int]  # indices into detection.faces of the faces the window was placed on
    decoded: Decoded | None  # a decode made on the way, which the caller may reuse

    @property
    def faces(self) -> list[Face]:
        return self.detection.faces


def frame(state: State, ctx: Context, full: Size, target: Size, options: CropOptions, *, op: str) -> Framing:
    """Where the `target`-sized crop of the image in `state` (of `full` oriented size) goes."""
    decoded, detection = find_faces(state, ctx, full, options.detection, op=op)
    boxes = [face.box for face in detection.faces]
    chosen = choose_faces(boxes, full, target, options.faces, options.pad)
    if chosen:
        kept = [boxes[i] for i in chosen]
        faces_only = face_region(kept, full, 0.5)
        window = crop_window(face_region(kept, full, options.pad), full, target, keep=faces_only)
        return Framing(window, "faces", detection, chosen, decoded)
    if options.fallback == "center":
        return Framing(centred_window(full, target), "center", detection, [], decoded)
    if options.fallback == "attention":
        centred = centred_window(full, target)
        decoded = load(state, ctx, op, min(1.0, MAP_SIDE / max(full)), reuse=decoded)
        x, y = attention_window(decoded.image, full, (round(centred.w), round(centred.h)))
        return Framing(Box(x, y, centred.w, centred.h), "attention", detection, [], decoded)
    return Framing(None, options.fallback, detection, [], decoded)


def no_face_message(op: str, options: CropOptions, found: int) -> str:
    if options.faces.mode == "index" and found:
        return f"{op}: face {options.faces.index} asked for, {found} found"
    return f"{op}: no face detected"


def read_crop_options(op: str, values: Mapping[str, str]) -> CropOptions:
    """`pad`, `faces` and `fallback` from their text, each checked (400 naming it)."""
    defaults = CropOptions()
    return CropOptions(
        read_number(op, "pad", values["pad"], MIN_PAD, MAX_PAD) if "pad" in values else defaults.pad,
        read_face_choice(op, values["faces"]) if "faces" in values else defaults.faces,
        read_choice(op, "fallback", values["fallback"], {name: name for name in FALLBACKS})
        if "fallback" in values
        else defaults.fallback,
    )


def read_face_choice(op: str, value: str) -> FaceChoice:
    if value.lower() in ("largest", "all"):
        return FaceChoice(value.lower())
    if value.isascii() and value.isdigit() and len(value) <= 4 and 1 <= int(value) <= MAX_FACE_INDEX:
        return FaceChoice("index", int(value))
    raise BadRequest(f"{op}: faces must be largest, all or a face number from 1 to {MAX_FACE_INDEX}, got {value!r}")
