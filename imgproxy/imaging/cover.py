"""Covering parts of an image, for the face privacy ops: the head ellipse around a face box, its
feathered mask, and a changed copy (blurred, pixelated) laid over the image through that mask.
Every pixel outside the masks keeps its exact value.

Boxes are `(x, y, width, height)` in image pixels; turns are the clockwise degrees (0, 90, 180,
270) the image needs for the face to stand upright, as the detector's rotation search reports them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

from imgproxy.imaging.resize import Bounds, Size

Rect = tuple[float, float, float, float]  # x, y, width, height
# The pixels `Bounds` of an image, changed: an image of the bounds' size.
Change = Callable[[Image.Image, Bounds], Image.Image]

# The head around a detector's face box, which runs from the brows to about the chin and cheek to
# cheek: half-axes of 0.8 face widths and 0.9 face heights about a centre raised by 0.05 face
# heights reach 0.45 face heights above the box (forehead, hair), 0.35 below it (chin, jaw) and
# 0.3 face widths beyond each side (ears), and hold the whole box, corners included, at full
# strength. On faces-dev, whose hand-drawn boxes reach lower than the detector's, this covers
# 95% of a labelled face for 77% of the faces (0.75 x 0.85 raised by 0.1: 72%), measured with
# MediaPipe's window grid; 87% with YuNet's fine search, whose boxes take MediaPipe's shape.
HALF_WIDTH = 0.8
HALF_HEIGHT = 0.9
RAISE = 0.05
# The soft edge, outside the ellipse, as a fraction of its shorter half-axis: wide enough that no
# seam shows, narrow enough that it stays on the hair and neck.
FEATHER = 0.2
# Pillow's Gaussian is three box blurs: it reaches no further than 3 deviations, and is flat
# (255) from 2.5 deviations inside a straight edge.
REACH = 3.0


@dataclass(frozen=True)
class Ellipse:
    cx: float
    cy: float
    rx: float
    ry: float

    def bounds(self, margin: float, size: Size) -> Bounds | None:
        """The whole pixels holding the ellipse grown by `margin`, cut to an image of `size`;
        None when nothing of it is inside."""
        left = max(0, math.floor(self.cx - self.rx - margin))
        top = max(0, math.floor(self.cy - self.ry - margin))
        right = min(size[0], math.ceil(self.cx + self.rx + margin))
        bottom = min(size[1], math.ceil(self.cy + self.ry + margin))
        return (left, top, right, bottom) if left < right and top < bottom else None

    @property
    def feather(self) -> float:
        """The width of the soft edge around the ellipse."""
        return FEATHER * min(self.rx, self.ry)


def head_ellipse(box: Rect, pad: float, turn: int = 0) -> Ellipse:
    """The ellipse covering the head of the face in `box`, its half-axes `pad` times the head's;
    the head's top lies towards the image's top after turning it clockwise by `turn` degrees."""
    x, y, w, h = box
    sideways = turn in (90, 270)
    across, along = (h, w) if sideways else (w, h)  # the face's width and height in the image
    half_across, half_along = pad * HALF_WIDTH * across, pad * HALF_HEIGHT * along
    lift = RAISE * along
    dx, dy = {0: (0.0, -lift), 90: (-lift, 0.0), 180: (0.0, lift), 270: (lift, 0.0)}[turn]
    rx, ry = (half_along, half_across) if sideways else (half_across, half_along)
    return Ellipse(x + w / 2 + dx, y + h / 2 + dy, rx, ry)


def feathered_mask(bounds: Bounds, ellipse: Ellipse) -> Image.Image:
    """An "L" mask of the pixels `bounds`: 255 on and inside `ellipse`, falling smoothly to 0 across
    its feather outside it."""
    left, top, right, bottom = bounds
    mask = Image.new("L", (right - left, bottom - top), 0)
    deviation = ellipse.feather / (2 * REACH)
    # Drawn `REACH` deviations wider than the ellipse, so the blur keeps the ellipse itself at 255
    # and is down to 0 one feather out.
    grow = REACH * deviation
    cx, cy = ellipse.cx - left, ellipse.cy - top
    rx, ry = ellipse.rx + grow, ellipse.ry + grow
    ImageDraw.Draw(mask).ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
    return mask.filter(ImageFilter.GaussianBlur(deviation)) if deviation > 0 else mask


def blurred(sigma: float) -> Change:
    """A Gaussian blur of deviation `sigma`, fed by the real pixels around the bounds."""

    def change(image: Image.Image, bounds: Bounds) -> Image.Image:
        reach = math.ceil(REACH * sigma)
        left, top, right, bottom = bounds
        around = (max(0, left - reach), max(0, top - reach), min(image.width, right + reach), min(image.height, bottom + reach))
        soft = image.crop(around).filter(ImageFilter.GaussianBlur(sigma))
        return soft.crop((left - around[0], top - around[1], right - around[0], bottom - around[1]))

    return change


def pixelated(cell: int) -> Change:
    """Flat squares of `cell` pixels, each the mean of the pixels under it, on a grid that starts
    at the image's top-left corner (overlapping faces share it); cells cut by the image's edge
    average what is inside."""

    def change(image: Image.Image, bounds: Bounds) -> Image.Image:
        left, top, right, bottom = bounds
        grid = (
            left // cell * cell,
            top // cell * cell,
            min(image.width, -(-right // cell) * cell),
            min(image.height, -(-bottom // cell) * cell),
        )
        means = image.crop(grid).reduce(cell)
        cells = means.resize((means.width * cell, means.height * cell), Image.Resampling.NEAREST)
        return cells.crop((left - grid[0], top - grid[1], right - grid[0], bottom - grid[1]))

    return change


def cover(image: Image.Image, regions: Sequence[tuple[Ellipse, Change]]) -> Image.Image:
    """A copy of `image` with each ellipse's changed pixels laid over it through its feathered mask.

    Each change reads the original image, so where covers overlap the original shows only as much
    as every mask lets it.
    """
    out = image.copy()
    for ellipse, change in regions:
        bounds = ellipse.bounds(ellipse.feather, image.size)
        if bounds is not None:
            out.paste(change(image, bounds), bounds[:2], feathered_mask(bounds, ellipse))
    return out
