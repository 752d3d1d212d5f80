"""facedetect[/landmarks/1][/attributes/1][/max/N][/minsize/PX][/rotate/1][/draw/1[/crop/WxH]]: the
native detection JSON of the image (see `faces.native`), or with draw/1 a picture of what was found.

POST /v1/face/detect and `imgproxy detect` run this op too, so all three answer alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from imgproxy.errors import BadRequest
from imgproxy.faces.crop import choose_region, crop_window
from imgproxy.faces.detect import SMALLEST_FACE, DetectOptions
from imgproxy.faces.draw import draw_faces
from imgproxy.faces.mesh import FaceAnalysis
from imgproxy.faces.native import NativeOptions, analysis_scale, analyze_faces, native_json
from imgproxy.imaging.resize import Size, check_output
from imgproxy.pipeline.context import Context, find_faces, image_size, load
from imgproxy.pipeline.options import MAX_SIDE, read_flag, read_int, read_options, read_size
from imgproxy.pipeline.values import Document, Estimate, Raster, State, area

NAME = "facedetect"
OPTION_KEYS = ("landmarks", "attributes", "max", "minsize", "rotate")
KEYS = (*OPTION_KEYS, "draw", "crop")
MAX_FACES = 1000
# The picture is for people checking detections: sharper than a thumbnail, smaller than a PNG.
DRAW_QUALITY = 90


@dataclass(frozen=True)
class FaceDetect:
    options: NativeOptions = NativeOptions()
    draw: bool = False
    crop: Size | None = None  # with draw: the facecrop2 window for this size
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
            parts += ["crop", f"{self.crop[0]}x{self.crop[1]}"]
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
            return self.picture(state, ctx, full)
        decoded, detection = find_faces(state, ctx, full, self.options.detect, op=NAME)
        analyses: list[FaceAnalysis | None] = []
        if self.options.analyzes and detection.faces:
            decoded = load(state, ctx, NAME, analysis_scale(detection.faces, full), reuse=decoded)
            analyses = analyze_faces(decoded, detection.faces)
        return Document(native_json(full, detection, self.options, analyses))

    def picture(self, state: State, ctx: Context, full: Size) -> Raster:
        """The image at full size with the detection drawn on it."""
        # Checked before detecting: a refused picture costs nothing.
        check_output(NAME, "draw/1", full, 1, ctx.settings.max_output_side, ctx.settings.max_output_pixels)
        if self.crop is not None and (self.crop[0] > full[0] or self.crop[1] > full[1]):
            raise BadRequest(f"{NAME}: crop {self.crop[0]}x{self.crop[1]} exceeds image size {full[0]}x{full[1]}")
        faces = find_faces(state, ctx, full, self.options.detect, op=NAME)[1].faces
        decoded = load(state, ctx, NAME)
        window = None
        if self.crop is not None and faces:
            window = crop_window(choose_region([f.box for f in faces], full, self.crop), full, self.crop)
        landmarks = [a.landmarks if a else None for a in analyze_faces(decoded, faces)] if self.options.landmarks else []
        return Raster(draw_faces(decoded.image, faces, window, landmarks), "JPEG", DRAW_QUALITY)


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
    if crop is not None and not draw:
        raise BadRequest(f"{NAME}: crop is drawn on the picture; it needs draw/1")
    if draw and options.attributes:
        raise BadRequest(f"{NAME}: attributes are not drawn; use them without draw/1")
    return FaceDetect(options, draw, crop, parsed.ignore_error)
