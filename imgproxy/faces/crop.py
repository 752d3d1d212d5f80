"""Where a face crop cuts: pure geometry over face boxes, in oriented source pixels.

The faces to keep are chosen (`choose_faces`), each grows by the padding into the room it needs
(`padded`), and the window of the target's aspect is placed on their union (`crop_window`):
centred on it when it fits, and otherwise keeping the faces themselves whole, so the margins
(the shoulders first) give way rather than a forehead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from imgproxy.faces.box import Box
from imgproxy.imaging.resize import Size

# How a face box grows into a head-and-shoulders box (padding 1), in face widths and heights.
# Detector boxes run from the brows to the chin: hair needs room above, the neck and shoulders
# more below, so the face sits a little above the centre of the crop, as in a portrait.
SIDES = 0.5
ABOVE = 0.6
BELOW = 0.8
# Padding: 1 is the head-and-shoulders box, 0.5 half as wide and tall (the face alone), 2 twice.
MIN_PAD, MAX_PAD = 0.5, 4.0
# Other faces kept by default: those of at least this share of the largest face's area.
COMPANION_AREA = 0.25


@dataclass(frozen=True)
class FaceChoice:
    """Which faces a crop keeps: `default` (the largest, and the others of at least a quarter of
    its area that fit), `largest`, `all` that fit (largest first), or the `index`-th largest (1-based)."""

    mode: str = "default"
    index: int = 0

    def canonical(self) -> str:
        return str(self.index) if self.mode == "index" else self.mode


def padded(face: Box, pad: float) -> Box:
    """The room around `face` that a crop keeps: the head-and-shoulders box scaled by `pad`, the
    face keeping its place in it (padding 0.5 is about the face box itself, 2 twice as wide and tall)."""
    width = face.w * (1 + 2 * SIDES) * pad
    height = face.h * (1 + ABOVE + BELOW) * pad
    extra_w, extra_h = width - face.w, height - face.h
    return Box(face.x - extra_w / 2, face.y - extra_h * ABOVE / (ABOVE + BELOW), width, height)


def largest_window(image: Size, target: Size) -> tuple[float, float]:
    """The largest (w, h) of the target's aspect that fits inside the image."""
    iw, ih = image
    tw, th = target
    if iw * th >= ih * tw:
        return (ih * tw / th, float(ih))
    return (float(iw), iw * th / tw)


def choose_faces(faces: Sequence[Box], image: Size, target: Size, choice: FaceChoice, pad: float) -> list[int]:
    """Indices into `faces` of those the crop keeps, largest first; empty when `choice` names a
    face that is not there. A face joins only if the chosen ones, padded, still fit in one window."""
    order = sorted(range(len(faces)), key=lambda i: faces[i].area, reverse=True)
    if not order:
        return []
    if choice.mode == "index":
        return [order[choice.index - 1]] if choice.index <= len(order) else []
    if choice.mode == "largest":
        return order[:1]
    limit_w, limit_h = largest_window(image, target)
    largest = faces[order[0]]
    chosen, region = order[:1], padded(largest, pad).clipped(image)
    for i in order[1:]:
        if choice.mode == "default" and faces[i].area < largest.area * COMPANION_AREA:
            break
        grown = region.union(padded(faces[i], pad).clipped(image))
        if grown.w <= limit_w and grown.h <= limit_h:
            chosen, region = [*chosen, i], grown
    return chosen


def face_region(faces: Sequence[Box], image: Size, pad: float) -> Box:
    """The union of `faces` (at least one), each padded, inside the image."""
    region = padded(faces[0], pad).clipped(image)
    for face in faces[1:]:
        region = region.union(padded(face, pad).clipped(image))
    return region


def crop_window(region: Box, image: Size, target: Size, keep: Box | None = None) -> Box:
    """The crop window in whole source pixels.

    It has the target's aspect, is at least target-sized (never upscale), holds the region when
    the image allows and is centred on it; when it cannot hold the region it still holds `keep`
    (the faces themselves) where it can; and it is clamped inside the image. The caller has
    checked that the target fits in the image.
    """
    iw, ih = image
    tw, th = target
    aspect = tw / th
    max_w, _ = largest_window(image, target)
    region = region.clipped(image)
    w = min(max(region.w, region.h * aspect, tw), max_w)
    width = min(max(round(w), tw), iw)
    height = min(max(round(width / aspect), th), ih)
    cx, cy = region.center
    x, y = round(cx - width / 2), round(cy - height / 2)
    if keep is not None:
        x = kept_on(x, width, keep.x, keep.right)
        y = kept_on(y, height, keep.y, keep.bottom)
    return Box(clamp(x, 0, iw - width), clamp(y, 0, ih - height), width, height)


def kept_on(start: int, length: int, low: float, high: float) -> int:
    """`start` moved as little as needed for [start, start + length) to hold [low, high]; centred
    on it when it is longer than the window."""
    if high - low > length:
        return round((low + high - length) / 2)
    return clamp(start, math.ceil(high) - length, math.floor(low))


def centred_window(image: Size, target: Size) -> Box:
    """The largest window of the target's aspect, in the middle of the image."""
    w, h = largest_window(image, target)
    return crop_window(Box((image[0] - w) / 2, (image[1] - h) / 2, w, h), image, target)


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))
