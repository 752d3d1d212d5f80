"""imageMogr2: Qiniu's advanced processing, its parameters applied in the order Qiniu documents
(thumbnail, gravity + crop, rotate, blur, then background, strip, format, quality, size-limit),
whatever their order in the URL.

`auto-orient` is accepted and always in effect: decoding applies the EXIF orientation, and answers
carry no EXIF, so an unoriented answer would show turned in every browser.

`gravity/face` and `gravity/faces` are extensions (Qiniu has no such gravity): the crop is centred
on the faces (`place_on_faces`, which imageView2's modes 1 and 5 share), or on the image when
none is found.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import NoReturn, TypeVar

from PIL import Image, ImageCms, ImageColor, ImageFilter

from imgproxy.errors import BadRequest
from imgproxy.faces.box import Box
from imgproxy.faces.crop import FaceChoice, crop_window, padded
from imgproxy.imaging.encode import FORMAT_NAMES, URL_NAMES
from imgproxy.imaging.resize import (
    GRAVITIES,
    Bounds,
    Crop,
    Region,
    Size,
    Thumbnail,
    check_output,
    parse_thumbnail,
    resample,
    rotated_size,
)
from imgproxy.pipeline.context import Context, image_size, load_raster
from imgproxy.pipeline.framing import CropOptions, frame
from imgproxy.pipeline.options import Quality, read_choice, read_flag, read_int, read_options, read_quality
from imgproxy.pipeline.values import Encoded, Estimate, Raster, State, area, output

NAME = "imageMogr2"
KEYS = ("thumbnail", "gravity", "crop", "rotate", "format", "blur", "interlace", "quality", "background", "size-limit")
FLAGS = ("auto-orient", "strip")
BLUR = re.compile(r"^([1-9][0-9]?)x([0-9]{1,4}(?:\.[0-9]{1,4})?)$")
SIZE_LIMIT = re.compile(r"^([1-9][0-9]{0,6})([km])(!?)$")
MAX_BLUR_RADIUS = 50
# Without a face the crop is centred: what a user of a compass gravity expects, not an error.
FACE_GRAVITIES = {
    "face": CropOptions(faces=FaceChoice("largest"), fallback="center"),
    "faces": CropOptions(fallback="center"),
}
GRAVITY_NAMES = {name: name for name in (*GRAVITIES, *FACE_GRAVITIES)}
TRANSPARENT = (255, 255, 255, 0)  # white, so edges blended into it lighten as they would on a white page
Color = tuple[int, int, int, int]
T = TypeVar("T")


@dataclass(frozen=True)
class Blur:
    """`<radius>x<sigma>`, as ImageMagick's -blur: a Gaussian of `sigma` cut off at `radius` pixels."""

    radius: int
    sigma: float

    def text(self) -> str:
        return f"{self.radius}x{self.sigma:g}"

    def apply(self, image: Image.Image) -> Image.Image:
        # Pillow's Gaussian has no cut-off. A kernel cut at the radius blurs like a Gaussian when the
        # radius is wide and like a box (deviation radius/sqrt(3)) when it is narrow; adding the
        # inverse variances moves smoothly between the two.
        deviation = (1 / self.sigma**2 + 3 / self.radius**2) ** -0.5
        return image.filter(ImageFilter.GaussianBlur(deviation))


@dataclass(frozen=True)
class SizeLimit:
    """`<N>k` or `<N>m` (KiB, MiB): lower the JPEG or WebP quality until the answer fits; with '!',
    answer the input unchanged when the result is not smaller than it."""

    bytes: int
    or_input: bool = False

    def text(self) -> str:
        return f"{self.bytes // 1024}k" + ("!" if self.or_input else "")

    def apply(self, raster: Raster, input: State) -> Encoded:
        result = raster.encoded()
        if len(result.data) > self.bytes and raster.format in ("JPEG", "WEBP"):
            result = self.fit(raster, result)
        if self.or_input:
            before = input.encoded() if isinstance(input, Raster) else input
            if isinstance(before, Encoded) and len(before.data) <= len(result.data):
                return before
        return result

    def fit(self, raster: Raster, first: Encoded) -> Encoded:
        """`raster` at the highest quality below its own that fits the limit."""
        low, high = 1, raster.quality - 1
        fitting, last = None, first
        while low <= high:
            middle = (low + high) // 2
            last = replace(raster, quality=middle).encoded()
            if len(last.data) <= self.bytes:
                fitting, low = last, middle + 1
            else:
                high = middle - 1
        return fitting or last  # nothing fits: the last try was quality 1, the smallest there is


@dataclass(frozen=True)
class ImageMogr2:
    thumbnail: Thumbnail | None = None
    strip: bool = False
    gravity: str = "NorthWest"
    crop: Crop | None = None
    rotate: int = 0  # clockwise degrees, 0-359
    format: str | None = None  # Pillow's name; None keeps the source's
    blur: Blur | None = None
    interlace: bool = False
    quality: Quality | None = None  # None: the configured default, 75 as in Qiniu
    background: Color | None = None
    size_limit: SizeLimit | None = None
    ignore_error: bool = False

    def canonical(self) -> str:
        parts = [NAME]
        if self.thumbnail is not None:
            parts += ["thumbnail", self.thumbnail.text()]
        if self.strip:
            parts.append("strip")
        if self.crop is not None:
            if self.gravity != "NorthWest":  # gravity moves the crop and nothing else
                parts += ["gravity", self.gravity]
            parts += ["crop", self.crop.text()]
        if self.rotate:
            parts += ["rotate", str(self.rotate)]
        if self.format is not None:
            parts += ["format", URL_NAMES[self.format]]
        if self.blur is not None:
            parts += ["blur", self.blur.text()]
        if self.interlace:
            parts += ["interlace", "1"]
        if self.quality is not None:
            parts += ["quality", self.quality.text()]
        if self.background is not None:
            parts += ["background", color_text(self.background)]
        if self.size_limit is not None:
            parts += ["size-limit", self.size_limit.text()]
        if self.ignore_error:
            parts += ["ignore-error", "1"]
        return "/".join(parts)

    def scaled(self, src: Size) -> Size:
        """The size thumbnail makes of a `src`-sized image, the one the crop is cut from."""
        return self.thumbnail.size(src) if self.thumbnail is not None else src

    def region(self, src: Size) -> Region:
        """The part of a `src`-sized image that thumbnail and crop keep, and the size it becomes.

        A face gravity's crop is centred here: the faces move it (`apply`) but never resize it.
        """
        resized = self.scaled(src)
        crop = None
        if self.crop is not None:
            crop = self.crop.box(resized, "Center" if self.gravity in FACE_GRAVITIES else self.gravity)
            if crop is None:
                raise BadRequest(f"{NAME}: crop {self.crop.text()} leaves nothing of the {resized[0]}x{resized[1]} image")
        return Region.of(src, resized, crop)

    def estimate(self, before: Estimate) -> Estimate:
        if before.size is None:
            return before
        try:
            region = self.region(before.size)
        except BadRequest:
            return before  # the op answers its error, or passes its input on
        size = rotated_size(region.size, self.rotate) if self.rotate else region.size
        passes = 1 + (self.rotate % 90 != 0) + (self.blur is not None) + (self.background is not None) + self.strip
        return before.then(size, area(before.size), area(size), passes)

    def apply(self, state: State, ctx: Context) -> State:
        settings = ctx.settings
        src = image_size(state, ctx, NAME)
        region = self.region(src)
        raster = load_raster(state, ctx, NAME, min(1.0, region.scale))
        limits = (settings.max_output_side, settings.max_output_pixels)
        check_output(NAME, self.geometry_argument(), region.size, raster.frame_count, *limits)
        if self.rotate:
            check_output(NAME, f"rotate/{self.rotate}", rotated_size(region.size, self.rotate), raster.frame_count, *limits)
        if self.crop is not None and (options := FACE_GRAVITIES.get(self.gravity)) is not None:
            region, notes = place_on_faces(state, ctx, src, self.scaled(src), region, options, op=NAME)
            raster = replace(raster, notes={**raster.notes, **notes})
        raster = raster.map(lambda image: resample(image, region, src), ctx.deadline)
        if self.rotate:
            raster = raster.map(lambda image: rotate(image, self.rotate, self.background or TRANSPARENT), ctx.deadline)
        if self.blur is not None:
            raster = raster.map(self.blur.apply, ctx.deadline)
        if (background := self.background) is not None:
            raster = raster.map(lambda image: flatten(image, background), ctx.deadline)
        if self.strip:
            raster = raster.map(strip, ctx.deadline)
        raster = output(raster, self.format, self.quality or Quality(settings.quality), self.interlace, src)
        return raster if self.size_limit is None else self.size_limit.apply(raster, state)

    def geometry_argument(self) -> str:
        """The argument the output size comes from, for the error when it is over the limits."""
        if self.crop is not None:
            return f"crop/{self.crop.text()}"
        if self.thumbnail is not None:
            return f"thumbnail/{self.thumbnail.text()}"
        return "the size without thumbnail or crop"


def place_on_faces(
    state: State, ctx: Context, src: Size, scaled: Size, centred: Region, options: CropOptions, *, op: str
) -> tuple[Region, dict[str, str]]:
    """`centred`, a centred cut of the image scaled from `src` to `scaled`, moved onto the faces
    `options` choose (left centred when there is none), and the debug notes saying why it is there."""
    sx, sy = src[0] / scaled[0], src[1] / scaled[1]
    cut = centred.size
    target = (min(src[0], max(1, round(cut[0] * sx))), min(src[1], max(1, round(cut[1] * sy))))
    framing = frame(state, ctx, src, target, options, op=op)
    region = centred
    if framing.reason == "faces":
        faces = fitting_region([framing.faces[i].box for i in framing.chosen], src, options.pad, target)
        region = Region.of(src, scaled, centred_on(faces.scaled(1 / sx, 1 / sy), scaled, cut))
    left, top, right, bottom = region.box
    notes = {
        "X-Face-Count": str(len(framing.faces)),
        "X-Crop-Box": ",".join(str(v) for v in Box(left, top, right - left, bottom - top).rounded()),
        "X-Crop-Reason": framing.reason,
    }
    return region, notes


def fitting_region(faces: Sequence[Box], image: Size, pad: float, cut: Size) -> Box:
    """The padded region of the first of `faces` (largest first) and of the others that fit with
    it in a `cut`-sized crop: a fixed-size crop centred between faces it cannot hold shows none of
    them, where facecrop2's window would grow to hold them all.

    Not cut to the image: an edge that cuts into a face's room would pull the centre off the face.
    """
    region = padded(faces[0], pad)
    for face in faces[1:]:
        grown = region.union(padded(face, pad))
        inside = grown.clipped(image)
        if inside.w <= cut[0] and inside.h <= cut[1]:
            region = grown
    return region


def centred_on(region: Box, image: Size, cut: Size) -> Bounds:
    """The `cut`-sized box centred on `region`, moved inside the image (which `cut` fits in)."""
    cx, cy = region.center
    x, y, w, h = crop_window(Box(cx - cut[0] / 2, cy - cut[1] / 2, *cut), image, cut).rounded()
    return x, y, x + w, y + h


def rotate(image: Image.Image, degrees: int, fill: Color) -> Image.Image:
    """`image` turned `degrees` clockwise on a canvas of `rotated_size`, the corners `fill`ed."""
    if degrees % 90 == 0:  # exact, and no corners to fill
        turns = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
        return image.transpose(turns[degrees])
    mode = "RGBA" if fill[3] < 255 or "A" in image.getbands() else "RGB"
    # An affine map from each output pixel back to the source, about both centres: Pillow's own
    # rotate(expand=True) may make the canvas a pixel larger than the size checked against the limits.
    size = rotated_size(image.size, degrees)
    radians = math.radians(degrees)
    cos, sin = math.cos(radians), math.sin(radians)
    (cx, cy), (ox, oy) = (image.width / 2, image.height / 2), (size[0] / 2, size[1] / 2)
    matrix = (cos, sin, cx - cos * ox - sin * oy, -sin, cos, cy + sin * ox - cos * oy)
    return image.convert(mode).transform(
        size, Image.Transform.AFFINE, matrix, Image.Resampling.BICUBIC, fillcolor=fill if mode == "RGBA" else fill[:3]
    )


def flatten(image: Image.Image, color: Color) -> Image.Image:
    """`image` laid over `color`: what `background` does to transparent pixels."""
    if "A" not in image.getbands():
        return image
    canvas = Image.new("RGBA", image.size, color)
    canvas.alpha_composite(image.convert("RGBA"))
    canvas.info.update(image.info)
    return canvas if color[3] < 255 else canvas.convert("RGB")


def strip(image: Image.Image) -> Image.Image:
    """`image` without metadata: no colour profile (pixels turned into sRGB first, so colours
    hold), no comments. EXIF is never written anyway."""
    icc = image.info.get("icc_profile")
    stripped = image.copy()
    if icc and image.mode in ("RGB", "RGBA"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            stripped = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB")) or stripped
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):  # a broken profile describes nothing: drop it
            pass
    stripped.info.clear()
    return stripped


def parse_color(value: str) -> Color | None:
    """A colour from the URL-safe base64 of its name (`red`, `transparent`) or `#RRGGBB[AA]`."""
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii").strip()
        if text.lower() in ("transparent", "none"):
            return (0, 0, 0, 0)
        rgba = ImageColor.getrgb(text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return (*rgba[:3], rgba[3] if len(rgba) == 4 else 255)


def color_text(color: Color) -> str:
    return base64.urlsafe_b64encode("#{:02x}{:02x}{:02x}{:02x}".format(*color).encode()).decode().rstrip("=")


def parse(args: list[str]) -> ImageMogr2:
    options = read_options(NAME, args, keys=KEYS, flags=FLAGS)
    values = options.values

    def given(name: str, read: Callable[[str], T]) -> T | None:
        return read(values[name]) if name in values else None

    gravity = given("gravity", lambda value: read_choice(NAME, "gravity", value, GRAVITY_NAMES)) or "NorthWest"
    crop = given("crop", read_crop)
    if gravity in FACE_GRAVITIES and crop is not None and crop.offset:
        # The place an offset would move from depends on the photo: whoever writes the URL cannot know it.
        raise BadRequest(f"{NAME}: gravity/{gravity} centres the crop on the faces and takes no offset, got crop/{crop.text()}")
    return ImageMogr2(
        thumbnail=given("thumbnail", read_thumbnail),
        strip="strip" in values,
        gravity=gravity,
        crop=crop,
        rotate=(given("rotate", lambda value: read_int(NAME, "rotate", value, 1, 360)) or 0) % 360,
        format=given("format", lambda value: read_choice(NAME, "format", value, FORMAT_NAMES)),
        blur=given("blur", read_blur),
        interlace=given("interlace", lambda value: read_flag(NAME, "interlace", value)) or False,
        quality=given("quality", lambda value: read_quality(NAME, "quality", value)),
        background=given("background", read_background),
        size_limit=given("size-limit", read_size_limit),
        ignore_error=options.ignore_error,
    )


def read_thumbnail(value: str) -> Thumbnail:
    spec = parse_thumbnail(value)
    if spec is None:
        bad(
            "thumbnail",
            value,
            "!<N>p, !<N>px, !x<N>p, <W>x, x<H>, <W>x<H>, !<W>x<H>r, <W>x<H>!, <W>x<H>>, <W>x<H><"
            " or <N>@ (sizes from 1, N% from 1 to 999)",
        )
    return spec


def read_crop(value: str) -> Crop:
    crop = Crop.parse(value)
    if crop is None:
        bad("crop", value, "<W>x, x<H>, <W>x<H> or !<W>x<H>a<dx>a<dy> (a: right or down, -: left or up)")
    return crop


def read_blur(value: str) -> Blur:
    match = BLUR.match(value)
    if not match or int(match[1]) > MAX_BLUR_RADIUS or float(match[2]) == 0:
        bad("blur", value, f"<radius>x<sigma> with radius from 1 to {MAX_BLUR_RADIUS} and sigma above 0")
    return Blur(int(match[1]), float(match[2]))


def read_background(value: str) -> Color:
    color = parse_color(value)
    if color is None:
        bad("background", value, "the URL-safe base64 of a colour name or #RRGGBB[AA]")
    return color


def read_size_limit(value: str) -> SizeLimit:
    match = SIZE_LIMIT.match(value)
    if not match:
        bad("size-limit", value, "<N>k or <N>m, optionally followed by '!'")
    return SizeLimit(int(match[1]) * (1024 if match[2] == "k" else 1024**2), bool(match[3]))


def bad(name: str, value: str, expected: str) -> NoReturn:
    raise BadRequest(f"{NAME}: {name} must be {expected}, got {value!r}")
