"""Classical face-quality measures: sharpness, illumination, completeness.

Pure functions over grayscale arrays and boxes, so they can be checked without a face model. The
mesh (`imgproxy.faces.mesh`) feeds them a face resampled to `FACE_WIDTH` pixels and its skin mask.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from imgproxy.faces.box import Box
from imgproxy.imaging.resize import Size

# Sharpness is measured on the face resampled to this width, so a large and a small face compare:
# without it a big face would always look sharper than the same face shot from further away.
FACE_WIDTH = 128
# The Laplacian variance (at FACE_WIDTH) that maps to blur 0.5, set by eye on real photos: faces in
# focus measure 50 to over 1000 (film grain and sensor noise count as detail), soft ones 15-30,
# faces too blurred to recognise under 10.
BLUR_MIDPOINT = 30.0
# Detector boxes and the mesh hug the face; a face needs this much room on each side (a fraction of
# its width or height) before the hair line, chin or ears count as fully in the picture.
COMPLETENESS_GROWTH = 0.1


def laplacian_variance(gray: NDArray[np.uint8], mask: NDArray[np.bool_] | None = None) -> float:
    """Variance of the Laplacian of `gray` (2-D uint8) over the pixels where `mask` is true.

    The energy of fine edges: ~0 for a flat or very blurred patch, hundreds for a sharp face.
    """
    laplacian = cv2.Laplacian(gray, cv2.CV_64F)
    values = laplacian[mask] if mask is not None else laplacian
    return float(values.var()) if values.size else 0.0


def blur(variance: float) -> float:
    """0 (sharp) to 1 (no detail at all) from a Laplacian variance measured at FACE_WIDTH.

    A smooth monotone map with 0.5 at BLUR_MIDPOINT; sensor noise reads as detail, so a noisy
    out-of-focus face scores sharper than it looks.
    """
    return BLUR_MIDPOINT / (BLUR_MIDPOINT + max(variance, 0.0))


def mean_luminance(gray: NDArray[np.uint8], mask: NDArray[np.bool_] | None = None) -> float:
    """Mean luma (0-255) of `gray` over the pixels where `mask` is true; 0 for an empty mask."""
    values = gray[mask] if mask is not None else gray
    return float(values.mean()) if values.size else 0.0


def completeness(box: Box, size: Size, growth: float = COMPLETENESS_GROWTH) -> float:
    """The fraction (0-1) of `box`, grown by `growth` of its size on each side, inside an image of `size`."""
    grown = box.grown(growth)
    return grown.clipped(size).area / grown.area if grown.area > 0 else 0.0
