"""imageMogr2: Qiniu's advanced processing.

Its steps act in URL order, as Qiniu documents (thumbnail and crop chain either way, a gravity
places only the crops after it, a step given twice acts twice): `crop/300x300/thumbnail/100x` crops
first. Its settings act once, on the output, wherever they are: format, quality, interlace, strip,
size-limit, and background (the colour of rotate's corners, of extent's canvas and under
transparent pixels). `ImageMogr2.stages` folds the steps into the resamples and pixel steps that
make the answer, from sizes alone, so the work estimate and the output limits follow the same order.

As Qiniu's, the steps work on the pixels as stored until `auto-orient`, a step that turns them
upright by the EXIF orientation where it stands (Qiniu documents that it acts in order, and
advises it first). A JPEG answer whose pixels are not upright keeps the orientation tag, so a
browser shows it as Qiniu's; `strip` drops the tag with the rest of the metadata, as Qiniu's does,
and other formats are written upright. IMGPROXY_AUTO_ROTATE=1 turns every image upright first; so
does a face gravity, since faces are found upright.

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
from functools import partial
from typing import NoReturn, TypeVar

from PIL import Image, ImageCms, ImageColor, ImageFilter

from imgproxy.errors import BadRequest
from imgproxy.faces.box import Box
from imgproxy.faces.crop import FaceChoice, crop_window, padded
from imgproxy.imaging.decode import oriented_size
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
    placed,
    resample,
    rotated_size,
)
from imgproxy.pipeline.context import Context, image_view, load_raster
from imgproxy.pipeline.framing import CropOptions, frame
from imgproxy.pipeline.options import MAX_SIDE, Quality, read_choice, read_flag, read_int, read_quality, read_size
from imgproxy.pipeline.values import Encoded, Estimate, Raster, State, area, output

NAME = "imageMogr2"
STEPS = ("auto-orient", "thumbnail", "gravity", "crop", "rotate", "blur", "sharpen", "extent")
SETTINGS = ("format", "interlace", "quality", "background", "size-limit", "ignore-error")
FLAGS = ("auto-orient", "strip")  # take no value
# Documented by Qiniu and refused by name rather than as unknown arguments: cgif and minsize act on
# the GIF encoding and the input size, which this proxy leaves to format and its own limits.
REFUSED = {
    "cgif": "",
    "minsize": "",
    "dx": " (a crop's offset is crop/!<W>x<H>a<dx>a<dy>)",
    "dy": " (a crop's offset is crop/!<W>x<H>a<dx>a<dy>)",
}
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
    passes = 1

    def text(self) -> str:
        return f"blur/{self.radius}x{self.sigma:g}"

    def size(self, before: Size) -> Size:
        return before

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
        result = raster.encoded_within(self.bytes)
        if self.or_input:
            before = input.encoded() if isinstance(input, Raster) else input
            if isinstance(before, Encoded) and len(before.data) <= len(result.data):
                return before
        return result


@dataclass(frozen=True)
class Sharpen:
    """`sharpen/1`: an unsharp mask of Pillow's default strength (radius 2, 150%, threshold 3):
    Qiniu documents a sharpen that is on or off, not its kernel."""

    passes = 1

    def text(self) -> str:
        return "sharpen/1"

    def size(self, before: Size) -> Size:
        return before

    def apply(self, image: Image.Image) -> Image.Image:
        return image.filter(ImageFilter.UnsharpMask())


@dataclass(frozen=True)
class Rotate:
    degrees: int  # clockwise, 1-359
    fill: Color  # the corners a turn that is not a right angle uncovers

    @property
    def passes(self) -> int:
        return int(self.degrees % 90 != 0)  # a right angle only moves pixels

    def text(self) -> str:
        return f"rotate/{self.degrees}"

    def size(self, before: Size) -> Size:
        return rotated_size(before, self.degrees)

    def apply(self, image: Image.Image) -> Image.Image:
        return rotate(image, self.degrees, self.fill)


@dataclass(frozen=True)
class AutoOrient:
    """`auto-orient` as written in the URL: which turn it makes depends on the image (`Orient`)."""

    def text(self) -> str:
        return "auto-orient"


@dataclass(frozen=True)
class Orient:
    """`auto-orient` on an image whose pixels still need EXIF `orientation` to show upright."""

    orientation: int

    @property
    def passes(self) -> int:
        return int(self.orientation != 1)

    def text(self) -> str:
        return "auto-orient"

    def size(self, before: Size) -> Size:
        return oriented_size(before, self.orientation)


@dataclass(frozen=True)
class Extent:
    """`extent/<W>x<H>`: the image on a WxH canvas of `fill`, placed by the gravity in effect (a
    face gravity places it in the centre), cut where it is larger: ImageMagick's -extent."""

    canvas: Size
    gravity: str
    fill: Color
    passes = 1

    def text(self) -> str:
        return f"extent/{self.canvas[0]}x{self.canvas[1]}"

    def size(self, before: Size) -> Size:
        return self.canvas

    def apply(self, image: Image.Image) -> Image.Image:
        x, y = placed(image.size, self.canvas, "Center" if self.gravity in FACE_GRAVITIES else self.gravity)
        if x <= 0 and y <= 0 and x + image.width >= self.canvas[0] and y + image.height >= self.canvas[1]:
            return image.crop((-x, -y, self.canvas[0] - x, self.canvas[1] - y))  # no canvas shows: a cut
        if self.fill[3] == 255 and "A" not in image.getbands():
            canvas = Image.new("RGB", self.canvas, self.fill[:3])
            canvas.paste(image.convert("RGB"), (x, y))
        else:
            canvas = Image.new("RGBA", self.canvas, self.fill)
            canvas.paste(image.convert("RGBA"), (x, y))
        canvas.info.update(image.info)
        return canvas


@dataclass(frozen=True)
class Thumbnailing:
    thumbnail: Thumbnail

    def text(self) -> str:
        return f"thumbnail/{self.thumbnail.text()}"


@dataclass(frozen=True)
class Cropping:
    crop: Crop
    gravity: str  # the last gravity before the crop in the URL; NorthWest, Qiniu's default, without one

    def text(self) -> str:
        return f"crop/{self.crop.text()}"


PixelStep = Orient | Rotate | Blur | Sharpen | Extent
Step = AutoOrient | Thumbnailing | Cropping | Rotate | Blur | Sharpen | Extent


@dataclass(frozen=True)
class Resample:
    """Thumbnails and crops that follow one another, made as one resample: `region` of an image of
    `base` size (the op's input, or what the step before them made)."""

    base: Size
    region: Region
    argument: str  # the last of them, which an error about the size names
    faces: tuple[CropOptions, Size] | None = None  # a face gravity's crop: its faces, and the size it is cut from

    @classmethod
    def start(cls, base: Size, argument: str) -> Resample:
        return cls(base, Region.of(base, base, None), argument)

    @property
    def cuts(self) -> bool:
        """Whether a crop is among them: the faces a face crop looks for are found in the whole base."""
        return self.region.box != (0, 0, *self.base)

    @property
    def changes(self) -> bool:
        return self.cuts or self.region.size != self.base


Stage = Resample | PixelStep


@dataclass(frozen=True)
class ImageMogr2:
    """The steps (thumbnail, crop, rotate, blur, sharpen, extent) act on the image in URL order,
    `gravity` placing the crops and extents after it; the settings (strip, format, interlace,
    quality, background, size-limit) act once, on the output, wherever they are in the URL."""

    steps: tuple[Step, ...] = ()
    strip: bool = False
    format: str | None = None  # Pillow's name; None keeps the source's
    interlace: bool = False
    quality: Quality | None = None  # None: the configured default, 75 as in Qiniu
    background: Color | None = None
    size_limit: SizeLimit | None = None
    ignore_error: bool = False

    def canonical(self) -> str:
        parts = [NAME]
        gravity = "NorthWest"
        for step in self.steps:
            if isinstance(step, Cropping | Extent) and step.gravity != gravity:
                parts += ["gravity", step.gravity]
                gravity = step.gravity
            parts.append(step.text())
        if self.strip:
            parts.append("strip")
        if self.format is not None:
            parts += ["format", URL_NAMES[self.format]]
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

    @property
    def finds_faces(self) -> bool:
        return any(isinstance(step, Cropping) and step.gravity in FACE_GRAVITIES for step in self.steps)

    def works_as_stored(self, auto_rotate: bool) -> bool:
        """Whether the steps start on the pixels as stored: not when every image is turned upright
        first, nor when faces are looked for, nor when auto-orient comes first anyway."""
        starts_upright = bool(self.steps) and isinstance(self.steps[0], AutoOrient)
        return not (auto_rotate or self.finds_faces or starts_upright)

    def stages(self, src: Size, orientation: int = 1) -> list[Stage]:
        """The steps as the stages that make pixels, from sizes alone: thumbnails and crops in a row
        fold into one resample (`thumbnail/300x/crop/200x200` scales only the pixels it keeps).
        `orientation` is what the input's pixels need to show upright, which auto-orient applies.

        The first stage is always a resample of the input, which decides the scale it is decoded
        at. A face gravity's crop is centred here: the faces move it (`apply`) but never resize it;
        the faces are found in the whole of its stage's base, so it ends its stage and follows no crop
        in it.
        """
        stages: list[Stage] = []
        current = Resample.start(src, "the size without thumbnail or crop")

        def flush(base: Size) -> Resample:
            if current.changes or not stages:
                stages.append(current)
            return Resample.start(base, current.argument)

        for written in self.steps:
            size = current.region.size
            step = Orient(orientation) if isinstance(written, AutoOrient) else written
            if isinstance(written, AutoOrient):
                orientation = 1
            if isinstance(step, Thumbnailing):
                current = replace(current, region=current.region.resized(step.thumbnail.size(size)), argument=step.text())
            elif isinstance(step, Cropping):
                options = FACE_GRAVITIES.get(step.gravity)
                if options is not None and current.cuts:
                    current = flush(size)
                box = step.crop.box(size, "Center" if options is not None else step.gravity)
                if box is None:
                    raise BadRequest(f"{NAME}: crop {step.crop.text()} leaves nothing of the {size[0]}x{size[1]} image")
                faces = None if options is None else (options, size)
                current = Resample(current.base, current.region.cut(box), step.text(), faces)
                if options is not None:
                    current = flush(current.region.size)
            else:
                current = flush(size)
                stages.append(step)
                current = Resample.start(step.size(size), step.text())
        flush(current.region.size)
        return stages

    def estimate(self, before: Estimate) -> Estimate:
        if before.size is None:
            return before
        try:
            stages = self.stages(before.size)  # whatever the orientation, each stage's area is the same
        except BadRequest:
            return before  # the op answers its error, or passes its input on
        after, reads = before, area(before.size)
        for stage in stages:
            if isinstance(stage, Resample):
                after, reads = after.then(stage.region.size, reads, area(stage.region.size)), 0
            else:
                assert after.size is not None  # every stage answers an image
                size = stage.size(after.size)
                after = after.then(size, 0, area(size), stage.passes)
        assert after.size is not None
        return after.then(after.size, 0, area(after.size), (self.background is not None) + self.strip)

    def apply(self, state: State, ctx: Context) -> State:
        settings = ctx.settings
        as_stored = self.works_as_stored(settings.auto_rotate)
        src, orientation = image_view(state, ctx, NAME, as_stored=as_stored)
        stages = self.stages(src, orientation)
        first = stages[0]
        assert isinstance(first, Resample)
        raster = load_raster(state, ctx, NAME, min(1.0, first.region.scale), as_stored=as_stored)
        limits = (settings.max_output_side, settings.max_output_pixels)
        size = src
        for stage in stages:  # every size the steps make, before any of them is made
            if isinstance(stage, Resample):
                size, argument = stage.region.size, stage.argument
            else:
                size, argument = stage.size(size), stage.text()
            check_output(NAME, argument, size, raster.frame_count, *limits)
        input: State = state  # the image the stage works on: faces are found in it
        for stage in stages:
            if isinstance(stage, Resample):
                region = stage.region
                if stage.faces is not None:
                    options, scaled = stage.faces
                    region, notes = place_on_faces(input, ctx, stage.base, scaled, region, options, op=NAME)
                    raster = replace(raster, notes={**raster.notes, **notes})
                raster = raster.map(partial(resample, region=region, full=stage.base), ctx.deadline)
            elif isinstance(stage, Orient):  # the raster knows its own orientation, and resets it
                raster = raster.oriented()
            else:
                raster = raster.map(stage.apply, ctx.deadline)
            input = raster
        if (background := self.background) is not None:
            raster = raster.map(lambda image: flatten(image, background), ctx.deadline)
        if self.strip:  # the orientation tag goes with the metadata: the pixels show as stored
            raster = replace(raster.map(strip, ctx.deadline), orientation=1)
        raster = output(raster, self.format, self.quality or Quality(settings.quality), self.interlace, src)
        return raster if self.size_limit is None else self.size_limit.apply(raster, state)


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
    hold), no comments. EXIF is never copied anyway."""
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
    """The steps in URL order, each gravity bound to the crops and extents after it; the settings,
    each given at most once."""
    raw: list[tuple[str, str]] = []
    settings: dict[str, str] = {}
    rest = list(args)
    while rest:
        name = rest.pop(0)
        if name in REFUSED:
            raise BadRequest(f"{NAME}: {name} is not supported{REFUSED[name]}")
        if name not in (*STEPS, *SETTINGS, *FLAGS):
            raise BadRequest(f"{NAME}: unknown argument {name!r}")
        value = ""
        if name not in FLAGS:
            if not rest:
                raise BadRequest(f"{NAME}: {name} needs a value")
            value = rest.pop(0)
        if name in STEPS:
            raw.append((name, value))  # a step given twice acts twice
        elif name in settings:  # a setting acts once: which of two would be ambiguous
            raise BadRequest(f"{NAME}: {name} is given twice")
        else:
            settings[name] = value

    def given(name: str, read: Callable[[str], T]) -> T | None:
        return read(settings[name]) if name in settings else None

    background = given("background", read_background)
    fill = background or TRANSPARENT
    steps: list[Step] = []
    gravity = "NorthWest"
    for name, value in raw:
        if name == "auto-orient":
            steps.append(AutoOrient())
        elif name == "gravity":
            gravity = read_choice(NAME, "gravity", value, GRAVITY_NAMES)
        elif name == "thumbnail":
            steps.append(Thumbnailing(read_thumbnail(value)))
        elif name == "crop":
            crop = read_crop(value)
            if gravity in FACE_GRAVITIES and crop.offset:
                # The place an offset would move from depends on the photo: whoever writes the URL cannot know it.
                raise BadRequest(
                    f"{NAME}: gravity/{gravity} centres the crop on the faces and takes no offset, got crop/{crop.text()}"
                )
            steps.append(Cropping(crop, gravity))
        elif name == "rotate":
            if degrees := read_int(NAME, "rotate", value, 1, 360) % 360:
                steps.append(Rotate(degrees, fill))
        elif name == "blur":
            steps.append(read_blur(value))
        elif name == "sharpen":
            if read_flag(NAME, "sharpen", value):
                steps.append(Sharpen())
        else:
            steps.append(Extent(read_size(NAME, "extent", value, MAX_SIDE), gravity, fill))
    return ImageMogr2(
        steps=tuple(steps),
        strip="strip" in settings,
        format=given("format", lambda value: read_choice(NAME, "format", value, FORMAT_NAMES)),
        interlace=given("interlace", lambda value: read_flag(NAME, "interlace", value)) or False,
        quality=given("quality", lambda value: read_quality(NAME, "quality", value)),
        background=background,
        size_limit=given("size-limit", read_size_limit),
        ignore_error=given("ignore-error", lambda value: read_flag(NAME, "ignore-error", value)) or False,
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
