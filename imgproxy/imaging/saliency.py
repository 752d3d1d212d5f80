"""Where the interest of a photo without faces lies: the `attention` fallback of face crops.

The idea of libvips' `attention` smartcrop, written for numpy and no model weights: detail
(edges of the luminance), colour (saturation) and skin tones each mark interest; the window of
the crop's size that holds the most of it wins.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from imgproxy.imaging.decode import as_rgb
from imgproxy.imaging.resize import Size

# Saliency is measured on a copy this many pixels on its longer side: enough for the layout of a
# photo, and a few milliseconds whatever the photo's size.
MAP_SIDE = 256
# What each kind of interest weighs: detail most, as libvips does; skin above plain colour, since
# people are what photos are mostly of.
EDGE_WEIGHT, SATURATION_WEIGHT, SKIN_WEIGHT = 1.0, 0.5, 0.8


def saliency_map(image: Image.Image) -> npt.NDArray[np.float32]:
    """Interest per pixel of a copy of `image` at most MAP_SIDE on its longer side, in [0, 1+]."""
    small = as_rgb(image).copy()
    small.thumbnail((MAP_SIDE, MAP_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    rgb = np.asarray(small, dtype=np.float32) / 255.0
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    edges = np.zeros_like(luma)
    edges[1:-1, 1:-1] = np.abs(4 * luma[1:-1, 1:-1] - luma[:-2, 1:-1] - luma[2:, 1:-1] - luma[1:-1, :-2] - luma[1:-1, 2:])
    edges /= max(float(edges.max()), 1e-6)
    saturation = rgb.max(axis=2) - rgb.min(axis=2)
    # The classic RGB skin rule (Kovac et al.): reddish, not grey, not too dark.
    skin = (r > 0.37) & (g > 0.16) & (b > 0.08) & (r > g) & (r > b) & (r - g > 0.06) & (saturation > 0.06)
    interest: npt.NDArray[np.float32] = (
        EDGE_WEIGHT * edges + SATURATION_WEIGHT * saturation + SKIN_WEIGHT * skin.astype(np.float32)
    )
    return interest


def attention_window(image: Image.Image, full: Size, window: Size) -> tuple[int, int]:
    """The top-left corner, in pixels of an image of `full` size (which `image` shows, at any
    scale), of the `window` (w, h) that holds the most interest. The window is meant to span the
    image along one axis at least, so it slides along the other; ties go to the most central."""
    interest = saliency_map(image)
    rows, cols = interest.shape
    fw, fh = full
    ww, wh = window
    if fw - ww >= fh - wh:
        offset = best_offset(interest.sum(axis=0), ww * cols / fw)
        return (min(round(offset * fw / cols), fw - ww), max(0, (fh - wh) // 2))
    offset = best_offset(interest.sum(axis=1), wh * rows / fh)
    return (max(0, (fw - ww) // 2), min(round(offset * fh / rows), fh - wh))


def best_offset(profile: npt.NDArray[np.float32], length: float) -> float:
    """Where a span of `length` cells along `profile` holds the most, as a cell offset; among
    spans within a hundredth of the best, the most central."""
    span = max(1, min(len(profile), round(length)))
    sums = np.convolve(profile, np.ones(span, dtype=np.float32), mode="valid")
    good = np.flatnonzero(sums >= sums.max() * 0.99)
    middle = (len(sums) - 1) / 2
    return float(good[np.argmin(np.abs(good - middle))])
