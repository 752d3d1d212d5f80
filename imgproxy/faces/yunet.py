"""The fine search: libfacedetection's YuNet CNN (BSD-3, its weights from the `yuface` wheel, run by
onnxruntime in `yunet_net`), once over the whole image.

It is fully convolutional, so one run at a suitable scale finds faces of every size from about
YUNET_FACE pixels up, where MediaPipe's 192x192 model needs a grid of windows. On faces-dev it
finds more of the small, masked and turned faces than MediaPipe does (`bench/eval_faces.py`).

Its answers are made to read as MediaPipe's, so the two detectors merge and one threshold means
one thing: boxes are turned into MediaPipe's box style, scores are mapped onto MediaPipe's scale,
and its five landmarks are named as MediaPipe's keypoints.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from imgproxy.faces import yunet_net
from imgproxy.faces.box import Box
from imgproxy.imaging.resize import Size, model_input

# The width, in pixels of the image YuNet sees, that the narrowest face wanted is given. YuNet's
# recall on faces-dev is 0.87 for faces 25-30 px wide, 0.63 at 16-20 and falls off below; the
# cost is the square of the scale. The core's AP on faces-dev at 16, 20 and 24: 0.839, 0.880 and
# 0.898 at a median of 9.3, 11.8 and 12.9 ms a photo (`bench/eval_faces.py`, one run each); 20
# keeps issue 13's 15 ms with room for a busier machine.
YUNET_FACE = 20
# Its box around a face is taller than MediaPipe's and ends higher: over 421 faces of faces-dev
# both found, MediaPipe's box is (median) 1.09 times as wide, 0.85 times as tall and its centre
# lies 0.05 of YuNet's box height lower.
WIDER, SHORTER, LOWER = 1.09, 0.85, 0.05
# YuNet's score (0-1) against MediaPipe's score of equal precision on faces-dev: at MediaPipe's
# 0.6, 0.928 of its detections are faces; YuNet reaches that precision from 0.775. Linear between.
RAW_SCORES = (0.5, 0.6, 0.7, 0.775, 0.84, 1.0)
MEDIAPIPE_SCORES = (0.3, 0.4, 0.5, 0.6, 0.7, 1.0)
# The most pixels YuNet sees in one run: it needs some 40 MB a megapixel while it runs, and one run
# cannot be stopped by the deadline. `facedetect/minsize/16` on a 50 MP original would have it see
# 78 MP (3.1 GB, 11.6 s); such a search is made coarser to fit, and faces narrower than it then
# allows are not searched (there: from 35 px instead of 16).
MAX_SEARCH_PIXELS = 16_000_000


def find(image: Image.Image, scale: float) -> list[tuple[Box, float, dict[str, tuple[float, float]]]]:
    """Faces in `image` (RGB) seen `scale` times its size: box and keypoints in `image`'s pixels,
    both in MediaPipe's style, and the score on MediaPipe's scale (those under its 0.3 left out)."""
    size = search_size(image.size, scale)
    seen = model_input(image, size)
    sx, sy = image.width / size[0], image.height / size[1]
    faces = []
    for raw in yunet_net.raw_faces(seen, RAW_SCORES[0]):
        x, y, w, h = raw.box
        box = mediapipe_box(Box(x * sx, y * sy, w * sx, h * sy)).clipped(image.size)
        if box.area <= 0:
            continue
        marks = [(u * sx, v * sy) for u, v in raw.marks]
        faces.append((box, calibrated(raw.score), keypoints(marks)))
    return faces


def calibrated(raw: float) -> float:
    """YuNet's score `raw` on MediaPipe's scale; 0 under the lowest score calibrated."""
    if raw < RAW_SCORES[0]:
        return 0.0
    return float(np.interp(raw, RAW_SCORES, MEDIAPIPE_SCORES))


def mediapipe_box(box: Box) -> Box:
    """The box MediaPipe would draw around the face YuNet boxed as `box`."""
    width, height = box.w * WIDER, box.h * SHORTER
    cx, cy = box.center
    cy += LOWER * box.h
    return Box(cx - width / 2, cy - height / 2, width, height)


def keypoints(marks: list[tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """YuNet's landmarks (the eye on the image's left first, then the other eye, the nose tip and
    the mouth's left and right corners) under MediaPipe's names; it has no ear points."""
    right_eye, left_eye, nose, mouth_left, mouth_right = marks
    mouth = ((mouth_left[0] + mouth_right[0]) / 2, (mouth_left[1] + mouth_right[1]) / 2)
    return {"right_eye": right_eye, "left_eye": left_eye, "nose_tip": nose, "mouth_center": mouth}


def search_size(size: Size, scale: float) -> Size:
    """The size of the image YuNet sees for an image of `size` seen `scale` times its size, or
    coarser, to keep under MAX_SEARCH_PIXELS."""
    largest = math.sqrt(MAX_SEARCH_PIXELS / (size[0] * size[1]))
    if scale >= largest:  # rounded down, to stay under
        return (max(1, math.floor(size[0] * largest)), max(1, math.floor(size[1] * largest)))
    return (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
