"""Output sizes and source regions of imageView2 and imageMogr2, as pure functions, and the one resample.

Rounding rule: a side scaled by a factor is `side * factor` rounded half up, and at least 1 px. The
factors are exact fractions, so a side that the request names (`w/200`, `thumbnail/200x`) comes out
exactly as named and the other side is rounded once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from imgproxy.errors import BadRequest

Size = tuple[int, int]
Bounds = tuple[int, int, int, int]  # left, top, right, bottom

# Sizes in the specs are whole numbers from 1 (nine digits at most: the output limits refuse the
# rest); percentages run from 1 to 999 as in Qiniu's table.
N = r"[1-9][0-9]{0,8}"
PERCENT = r"[1-9][0-9]{0,2}"
# Qiniu: a thumbnail that names a side over 10000 px, or an `<N>@` area over 25 MP, only shrinks;
# it answers an image smaller than that unchanged instead of refusing the size.
LARGE_SIDE = 10_000
LARGE_AREA = 25_000_000


def round_half_up(value: Fraction) -> int:
    return max(1, math.floor(value + Fraction(1, 2)))


def scale_size(size: Size, sx: Fraction, sy: Fraction | None = None) -> Size:
    return round_half_up(size[0] * sx), round_half_up(size[1] * (sx if sy is None else sy))


def only_shrinks(*sides: int | None) -> bool:
    """Whether a thumbnail naming `sides` is one of Qiniu's large ones, which never enlarge."""
    return any(side is not None and side > LARGE_SIDE for side in sides)


def fit_scale(size: Size, bound: tuple[int | None, int | None], cover: bool) -> Fraction:
    """The uniform factor that makes `size` fit inside `bound` (or cover it); a None side does not bound."""
    ratios = [Fraction(limit, side) for limit, side in zip(bound, size, strict=True) if limit is not None]
    return max(ratios) if cover else min(ratios)


def oriented(size: Size, long: int | None, short: int | None) -> tuple[int | None, int | None]:
    """A long-edge/short-edge bound as a width/height bound for `size` (a square counts as landscape)."""
    return (long, short) if size[0] >= size[1] else (short, long)


def centred(size: Size, crop: Size) -> Bounds:
    left, top = (size[0] - crop[0]) // 2, (size[1] - crop[1]) // 2
    return left, top, left + crop[0], top + crop[1]


def imageview2(src: Size, mode: int, width: int | None, height: int | None) -> tuple[Size, Bounds | None]:
    """(size the image is scaled to, centre crop in it) for `imageView2/<mode>/w/<width>/h/<height>`.

    Never enlarges: the factor is capped at 1, and a crop mode whose box is larger than the image
    keeps what there is (a 300x200 source with `1/w/400/h/400` gives 300x200, with `1/w/100/h/400`
    gives 100x200). Without w and h the image keeps its size (a format or quality change).
    """
    if width is None and height is None:
        return src, None
    if mode in (1, 3, 4, 5):  # a bound on minimums: the missing side equals the given one
        width, height = width or height, height or width
    bound = oriented(src, width, height) if mode in (0, 4, 5) else (width, height)
    resized = scale_size(src, min(Fraction(1), fit_scale(src, bound, cover=mode in (1, 3, 4, 5))))
    if mode not in (1, 5):
        return resized, None
    assert bound[0] is not None and bound[1] is not None  # both are set for the minimum modes
    return resized, centred(resized, (min(bound[0], resized[0]), min(bound[1], resized[1])))


# imageMogr2 thumbnail specs: each parses its own spelling and computes the scaled size.


@dataclass(frozen=True)
class Percent:
    """`!<N>p` (both sides), `!<N>px` (width only), `!x<N>p` (height only)."""

    width: int
    height: int
    PATTERN = re.compile(rf"^!({PERCENT})p$|^!({PERCENT})px$|^!x({PERCENT})p$")

    @classmethod
    def parse(cls, text: str) -> Percent | None:
        match = cls.PATTERN.match(text)
        if not match:
            return None
        both, width, height = (int(g) if g else None for g in match.groups())
        return cls(both or width or 100, both or height or 100)

    def text(self) -> str:
        if self.width == self.height:
            return f"!{self.width}p"
        return f"!{self.width}px" if self.height == 100 else f"!x{self.height}p"

    def size(self, src: Size) -> Size:
        return scale_size(src, Fraction(self.width, 100), Fraction(self.height, 100))


@dataclass(frozen=True)
class Fit:
    """`<W>x` and `x<H>` (that side exactly, the other in proportion), `<W>x<H>` (fit inside, may
    enlarge), `<W>x<H>>` (only shrink), `<W>x<H><` (only enlarge)."""

    width: int | None
    height: int | None
    only: str = ""  # "", ">" or "<"
    PATTERN = re.compile(rf"^({N})x({N})([<>]?)$|^({N})x$|^x({N})$")

    @classmethod
    def parse(cls, text: str) -> Fit | None:
        match = cls.PATTERN.match(text)
        if not match:
            return None
        width, height, only, width_only, height_only = match.groups()
        if width:
            return cls(int(width), int(height), only)
        return cls(int(width_only), None) if width_only else cls(None, int(height_only))

    def text(self) -> str:
        return f"{self.width or ''}x{self.height or ''}{self.only}"

    def size(self, src: Size) -> Size:
        factor = fit_scale(src, (self.width, self.height), cover=False)
        if self.only == ">":
            factor = min(factor, Fraction(1))
        elif self.only == "<":
            factor = max(factor, Fraction(1))
        if only_shrinks(self.width, self.height):
            factor = min(factor, Fraction(1))
        return scale_size(src, factor)


@dataclass(frozen=True)
class Cover:
    """`!<W>x<H>r`: the smallest proportional size that is at least W wide and H high."""

    width: int
    height: int
    PATTERN = re.compile(rf"^!({N})x({N})r$")

    @classmethod
    def parse(cls, text: str) -> Cover | None:
        match = cls.PATTERN.match(text)
        return cls(int(match[1]), int(match[2])) if match else None

    def text(self) -> str:
        return f"!{self.width}x{self.height}r"

    def size(self, src: Size) -> Size:
        factor = fit_scale(src, (self.width, self.height), cover=True)
        return scale_size(src, min(factor, Fraction(1)) if only_shrinks(self.width, self.height) else factor)


@dataclass(frozen=True)
class Exact:
    """`<W>x<H>!`: exactly WxH, the aspect ratio given up."""

    width: int
    height: int
    PATTERN = re.compile(rf"^({N})x({N})!$")

    @classmethod
    def parse(cls, text: str) -> Exact | None:
        match = cls.PATTERN.match(text)
        return cls(int(match[1]), int(match[2])) if match else None

    def text(self) -> str:
        return f"{self.width}x{self.height}!"

    def size(self, src: Size) -> Size:
        if only_shrinks(self.width, self.height):  # each side on its own, as the aspect is given up anyway
            return min(self.width, src[0]), min(self.height, src[1])
        return self.width, self.height


@dataclass(frozen=True)
class Area:
    """`<N>@`: the largest proportional size of at most N pixels (sides rounded down, so never over N)."""

    pixels: int
    PATTERN = re.compile(rf"^({N})@$")

    @classmethod
    def parse(cls, text: str) -> Area | None:
        match = cls.PATTERN.match(text)
        return cls(int(match[1])) if match else None

    def text(self) -> str:
        return f"{self.pixels}@"

    def size(self, src: Size) -> Size:
        # floor(w * sqrt(N / (w*h))) == isqrt(N*w // h), in integers so that w' * h' <= N holds exactly.
        w, h = src
        if self.pixels > LARGE_AREA and w * h <= self.pixels:
            return src
        return max(1, math.isqrt(self.pixels * w // h)), max(1, math.isqrt(self.pixels * h // w))


Thumbnail = Percent | Fit | Cover | Exact | Area
THUMBNAILS: tuple[type[Thumbnail], ...] = (Percent, Fit, Cover, Exact, Area)


def parse_thumbnail(text: str) -> Thumbnail | None:
    return next((spec for kind in THUMBNAILS if (spec := kind.parse(text)) is not None), None)


# imageMogr2 gravity and crop.

GRAVITIES = {  # name -> where the crop sits along x and y, in halves of the room left over
    "NorthWest": (0, 0),
    "North": (1, 0),
    "NorthEast": (2, 0),
    "West": (0, 1),
    "Center": (1, 1),
    "East": (2, 1),
    "SouthWest": (0, 2),
    "South": (1, 2),
    "SouthEast": (2, 2),
}


@dataclass(frozen=True)
class Crop:
    """`<W>x`, `x<H>`, `<W>x<H>`, and with an offset `!<size>a<dx>a<dy>` (`a` right/down, `-` left/up)."""

    width: int | None
    height: int | None
    dx: int = 0
    dy: int = 0
    offset: bool = False
    PATTERN = re.compile(rf"^(!?)({N})?x({N})?(?:([a-])([0-9]{{1,9}})([a-])([0-9]{{1,9}}))?$")

    @classmethod
    def parse(cls, text: str) -> Crop | None:
        match = cls.PATTERN.match(text)
        if not match:
            return None
        bang, width, height, sx, dx, sy, dy = match.groups()
        if not (width or height) or bool(bang) != (dx is not None):
            return None
        offset = dx is not None
        return cls(
            int(width) if width else None,
            int(height) if height else None,
            (-1 if sx == "-" else 1) * int(dx) if offset else 0,
            (-1 if sy == "-" else 1) * int(dy) if offset else 0,
            offset,
        )

    def text(self) -> str:
        size = f"{self.width or ''}x{self.height or ''}"
        if not self.offset:
            return size
        return f"!{size}{'-' if self.dx < 0 else 'a'}{abs(self.dx)}{'-' if self.dy < 0 else 'a'}{abs(self.dy)}"

    def box(self, size: Size, gravity: str) -> Bounds | None:
        """The crop in an image of `size`: placed by `gravity`, moved by the offset, cut to the image.

        As ImageMagick's `-gravity NorthEast -crop 300x300+30+100` (Qiniu's crop is ImageMagick's
        geometry), an offset moves inward from the edge the gravity anchors to: `a` is left of an
        East gravity's place and up from a South one's, right and down otherwise.
        None when nothing of the image is left. Centred positions round down.
        """
        crop = (self.width or size[0], self.height or size[1])
        gx, gy = GRAVITIES[gravity]
        left = (size[0] - crop[0]) * gx // 2 + (-self.dx if gx == 2 else self.dx)
        top = (size[1] - crop[1]) * gy // 2 + (-self.dy if gy == 2 else self.dy)
        box = (max(0, left), max(0, top), min(size[0], left + crop[0]), min(size[1], top + crop[1]))
        return box if box[0] < box[2] and box[1] < box[3] else None


def placed(size: Size, canvas: Size, gravity: str) -> tuple[int, int]:
    """Where an image of `size` goes on a `canvas` by `gravity` (negative: the image is cut there),
    as ImageMagick's -extent places it. Centred positions round down."""
    gx, gy = GRAVITIES[gravity]
    return (canvas[0] - size[0]) * gx // 2, (canvas[1] - size[1]) * gy // 2


# From geometry to pixels.


@dataclass(frozen=True)
class Region:
    """Resample `box` (left, top, right, bottom in full-resolution source pixels) to `size`."""

    size: Size
    box: tuple[float, float, float, float]

    @classmethod
    def of(cls, src: Size, resized: Size, crop: Bounds | None) -> Region:
        """The region that scaling `src` to `resized` and then cutting `crop` out of it amounts to."""
        left, top, right, bottom = crop or (0, 0, *resized)
        sx, sy = src[0] / resized[0], src[1] / resized[1]
        return cls((right - left, bottom - top), (left * sx, top * sy, right * sx, bottom * sy))

    def resized(self, size: Size) -> Region:
        """This region scaled on to `size`: a thumbnail after it."""
        return Region(size, self.box)

    def cut(self, crop: Bounds) -> Region:
        """The `crop` (in this region's output pixels) of this region: a crop after it, in one resample."""
        left, top, right, bottom = self.box
        sx, sy = (right - left) / self.size[0], (bottom - top) / self.size[1]
        x0, y0, x1, y1 = crop
        return Region((x1 - x0, y1 - y0), (left + x0 * sx, top + y0 * sy, left + x1 * sx, top + y1 * sy))

    @property
    def scale(self) -> float:
        """Output pixels per source pixel along the axis that needs more of them: the shrink-on-load floor."""
        left, top, right, bottom = self.box
        return max(self.size[0] / (right - left), self.size[1] / (bottom - top))


def rotated_size(size: Size, degrees: int) -> Size:
    """The smallest canvas that holds `size` turned by `degrees`."""
    radians = math.radians(degrees)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    # The epsilon keeps float noise from adding a pixel to an exact side (a turn by 90 degrees).
    return (
        max(1, math.ceil(size[0] * cos + size[1] * sin - 1e-9)),
        max(1, math.ceil(size[0] * sin + size[1] * cos - 1e-9)),
    )


def check_output(op: str, argument: str, size: Size, frames: int, max_side: int, max_pixels: int) -> None:
    """Refuse an output over the limits before it is made; an animation's frames count together."""
    width, height = size
    if max(size) > max_side:
        raise BadRequest(f"{op}: {argument} gives {width}x{height}, over the limit of {max_side} px a side")
    if width * height * frames > max_pixels:
        what = f"{width}x{height}" + (f" x {frames} frames" if frames > 1 else "")
        raise BadRequest(f"{op}: {argument} gives {what}, over the limit of {max_pixels / 1e6:g} MP")


def resizable(image: Image.Image) -> Image.Image:
    """`image` in a mode that Pillow resamples with its real filters (palette images only get NEAREST)
    and that blur and rotate accept: L, LA, RGB or RGBA."""
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if image.mode == "1":
        return image.convert("L")
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def resample(image: Image.Image, region: Region, full: Size) -> Image.Image:
    """`region` of `image`, where `image` is a `full`-sized original possibly decoded at a reduced scale.

    `reducing_gap` lets Pillow shrink by whole factors first (cheap, exact box averages) and keep
    LANCZOS for the last step, which is what keeps thumbnails sharp.
    """
    sx, sy = image.width / full[0], image.height / full[1]
    left, top, right, bottom = region.box
    box = (left * sx, top * sy, right * sx, bottom * sy)
    if region.size == (round(box[2] - box[0]), round(box[3] - box[1])) and all(v == int(v) for v in box):
        return image if region.size == image.size else image.crop(box)
    return image.resize(region.size, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)


def model_input(image: Image.Image, size: Size) -> NDArray[np.uint8]:
    """The pixels of `image` resized to `size`, for a detector model to look at.

    Whole factors are shrunk by Pillow's box averages (`reduce`) and only the last factor, under 2,
    by OpenCV's bilinear interpolation: a detector needs no sharper pixels. Shrinking a 960x720
    decode to YuNet's 372x279 takes 0.8 ms so, against 1.6 with Pillow's bilinear filter for the
    last step (4.3 with no box averages first).
    """
    factor = min(image.width // size[0], image.height // size[1])
    if factor > 1:
        image = image.reduce(factor)
    pixels: NDArray[np.uint8] = np.asarray(image)
    if image.size != size:
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_LINEAR).astype(np.uint8, copy=False)
    return pixels
