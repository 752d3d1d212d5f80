"""Where facecrop2 cuts: pure geometry over face boxes, in oriented source pixels."""

from __future__ import annotations

from collections.abc import Sequence

from imgproxy.faces.box import Box
from imgproxy.imaging.resize import Size

# How a face box grows into a head-and-shoulders box, in face widths and heights. Detector boxes
# run from the brows to the chin: hair needs room above, the neck and shoulders more below, so
# the face sits a little above the centre of the crop, as in a portrait.
SIDES = 0.5
ABOVE = 0.6
BELOW = 0.8


def head_and_shoulders(face: Box) -> Box:
    return Box(face.x - SIDES * face.w, face.y - ABOVE * face.h, face.w * (1 + 2 * SIDES), face.h * (1 + ABOVE + BELOW))


def largest_window(image: Size, target: Size) -> tuple[float, float]:
    """The largest (w, h) of the target's aspect that fits inside the image."""
    iw, ih = image
    tw, th = target
    if iw * th >= ih * tw:
        return (ih * tw / th, float(ih))
    return (float(iw), iw * th / tw)


def choose_region(faces: Sequence[Box], image: Size, target: Size) -> Box:
    """The region to keep: the largest face, plus each other face of at least a quarter of its
    area (larger first) as long as everything chosen still fits in one window of the target aspect.
    """
    ordered = sorted(faces, key=lambda f: f.area, reverse=True)
    largest = ordered[0]
    limit_w, limit_h = largest_window(image, target)
    region = head_and_shoulders(largest).clipped(image)
    for face in ordered[1:]:
        if face.area < largest.area / 4:
            break
        grown = region.union(head_and_shoulders(face).clipped(image))
        if grown.w <= limit_w and grown.h <= limit_h:
            region = grown
    return region


def crop_window(region: Box, image: Size, target: Size) -> Box:
    """The crop window in whole source pixels.

    It has the target's aspect, is at least target-sized (never upscale), holds the region when
    the image allows, is centred on the region and is clamped inside the image. The caller has
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
    x = clamp(round(cx - width / 2), 0, iw - width)
    y = clamp(round(cy - height / 2), 0, ih - height)
    return Box(x, y, width, height)


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))
