"""facedetect[/landmarks/1][/attributes/1][/max/N][/minsize/PX][/rotate/1][/draw/1]: the native
detection JSON of the image (see `faces.native`), or with draw/1 a picture of what was found.

With `crop/WxH[/pad/..][/faces/..][/fallback/..]` it shows facecrop2's view instead: the faces
facecrop2 sees, which it chose, its window and why (`framing.frame`, the code facecrop2 runs), as
JSON or, with draw/1, as a picture.

POST /v1/face/detect and `imgproxy detect` run this op too, so all three answer alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imgproxy.errors import BadRequest
from imgproxy.faces.detect import SMALLEST_FACE, DetectOptions
from imgproxy.faces.draw import CropView, draw_faces
from imgproxy.faces.mesh import FaceAnalysis
from imgproxy.faces.native import NativeOptions, analysis_scale, analyze_faces, native_json
from imgproxy.imaging.resize import Size, check_output
from imgproxy.pipeline import framing
from imgproxy.pipeline.context import Context, find_faces, image_size, load
from imgproxy.pipeline.framing import CropOptions, Framing, frame, no_face_message, read_crop_options
from imgproxy.pipeline.options import MAX_SIDE, read_flag, read_int, read_options, read_size
from imgproxy.pipeline.values import Document, Estimate, Raster, State, area

NAME = "facedetect"
OPTION_KEYS = ("landmarks", "attributes", "max", "minsize", "rotate")
KEYS = (*OPTION_KEYS, "draw", "crop", *framing.KEYS)
# The op facecrop2's view is told in the words of.
CROP_OP = "facecrop2"
MAX_FACES = 1000
# The picture is for people checking detections: sharper than a thumbnail, smaller than a PNG.
DRAW_QUALITY = 90


@dataclass(frozen=True)
class FaceDetect:
    options: NativeOptions = NativeOptions()
    draw: bool = False
    crop: Size | None = None  # facecrop2's view for this size
    crop_options: CropOptions = CropOptions()
    ignore_error: bool = False

    def canonical(self) -> str:
        detect = self.options.detect
        parts = [NAME]
        for name, value in (
            ("landmarks", int(self.options.landmarks)),
            ("attributes", int(self.options.attributes)),
            ("max", detect.max_faces),
            ("minsize", detect.min_face_size),
            ("rotate", int(detect.rotate)),
            ("draw", int(self.draw)),
        ):
            if value:
                parts += [name, str(value)]
        if self.crop is not None:
            parts += ["crop", f"{self.crop[0]}x{self.crop[1]}", *self.crop_options.canonical()]
        if self.ignore_error:
            parts += ["ignore-error", "1"]
        return "/".join(parts)

    def estimate(self, before: Estimate) -> Estimate:
        if before.size is None:
            return before
        return before.then(before.size if self.draw else None, area(before.size), area(before.size) if self.draw else 0)

    def apply(self, state: State, ctx: Context) -> State:
        full = image_size(state, ctx, NAME)
        if self.draw:
            # Checked before detecting: a refused picture costs nothing.
            check_output(NAME, "draw/1", full, 1, ctx.settings.max_output_side, ctx.settings.max_output_pixels)
        if self.crop is not None:
            if self.crop[0] > full[0] or self.crop[1] > full[1]:
                raise BadRequest(f"{NAME}: crop {self.crop[0]}x{self.crop[1]} exceeds image size {full[0]}x{full[1]}")
            framed = frame(state, ctx, full, self.crop, self.crop_options, op=CROP_OP)
            decoded, detection = framed.decoded, framed.detection
        else:
            framed = None
            decoded, detection = find_faces(state, ctx, full, self.options.detect, op=NAME)
        if self.draw:
            decoded = load(state, ctx, NAME, reuse=decoded)
            landmarks = (
                [a.landmarks if a else None for a in analyze_faces(decoded, detection.faces)] if self.options.landmarks else []
            )
            return Raster(draw_faces(decoded.image, detection.faces, landmarks, view(framed)), "JPEG", DRAW_QUALITY)
        analyses: list[FaceAnalysis | None] = []
        if self.options.analyzes and detection.faces:
            decoded = load(state, ctx, NAME, analysis_scale(detection.faces, full), reuse=decoded)
            analyses = analyze_faces(decoded, detection.faces)
        body = native_json(full, detection, self.options, analyses)
        if framed is not None and self.crop is not None:
            body["crop"] = crop_json(framed, self.crop, self.crop_options)
        return Document(body)


def crop_json(framed: Framing, target: Size, options: CropOptions) -> dict[str, Any]:
    """facecrop2's view as JSON: `box` is its X-Crop-Box, `chosen` indexes the answer's faces."""
    body: dict[str, Any] = {
        "size": list(target),
        "box": list(framed.window.rounded()) if framed.window is not None else None,
        "reason": framed.reason,
        "chosen": framed.chosen,
    }
    if framed.reason == "error":
        body["error"] = no_face_message(CROP_OP, options, len(framed.faces))
    return body


def view(framed: Framing | None) -> CropView | None:
    """What the picture shows of facecrop2's view: the window, the chosen faces and a caption."""
    if framed is None:
        return None
    captions = {
        "faces": f"faces: {len(framed.chosen)} of {len(framed.faces)} chosen",
        "center": "no face: centre crop",
        "attention": "no face: attention crop",
        "original": "no face: the original is answered",
        "error": "no face: facecrop2 answers 422",
    }
    return CropView(framed.window, frozenset(framed.chosen), captions[framed.reason])


def read_native_options(values: Mapping[str, str]) -> NativeOptions:
    """The detection options from their text (URL arguments, form fields), each checked."""

    def flag(name: str) -> bool:
        return read_flag(NAME, name, values[name]) if name in values else False

    def number(name: str, low: int, high: int) -> int:
        return read_int(NAME, name, values[name], low, high) if name in values else 0

    detect = DetectOptions(
        max_faces=number("max", 1, MAX_FACES),
        # Below SMALLEST_FACE the detector finds nothing reliable, and the passes it would plan
        # grow with the square of 1/minsize: a tiny minsize would be a cheap denial of service.
        min_face_size=number("minsize", SMALLEST_FACE, MAX_SIDE),
        rotate=flag("rotate"),
    )
    return NativeOptions(detect, landmarks=flag("landmarks"), attributes=flag("attributes"))


def parse(args: list[str]) -> FaceDetect:
    parsed = read_options(NAME, args, keys=KEYS)
    values = parsed.values
    options = read_native_options(values)
    draw = read_flag(NAME, "draw", values["draw"]) if "draw" in values else False
    crop = read_size(NAME, "crop", values["crop"], MAX_SIDE) if "crop" in values else None
    if crop is None and any(key in values for key in framing.KEYS):
        raise BadRequest(f"{NAME}: {', '.join(k for k in framing.KEYS if k in values)} describe a crop; they need crop/<W>x<H>")
    if crop is not None and any(key in values for key in ("max", "minsize", "rotate")):
        raise BadRequest(f"{NAME}: crop shows the faces facecrop2 sees, which max, minsize and rotate do not change")
    if draw and options.attributes:
        raise BadRequest(f"{NAME}: attributes are not drawn; use them without draw/1")
    return FaceDetect(options, draw, crop, read_crop_options(NAME, values), parsed.ignore_error)
