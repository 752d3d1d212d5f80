"""The face-detection core: MediaPipe's full-range detector, one graph per thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from imgproxy.faces.box import Box, Size
from imgproxy.imaging.decode import as_rgb

# MediaPipe's six face keypoints, in the order it reports them. "right" is the subject's right.
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")

MIN_SCORE = 0.5
# Decoding more pixels than this on the short side does not help the detector; fewer loses faces.
DETECTION_SHORT_SIDE = 480


@dataclass(frozen=True)
class Face:
    box: Box
    score: float
    keypoints: dict[str, tuple[float, float]] = field(default_factory=dict)

    def scaled(self, sx: float, sy: float) -> Face:
        points = {name: (x * sx, y * sy) for name, (x, y) in self.keypoints.items()}
        return Face(self.box.scaled(sx, sy), self.score, points)


_local = threading.local()


def _detector():  # -> mediapipe FaceDetection; its graph must not be shared between threads
    detector = getattr(_local, "detector", None)
    if detector is None:
        from mediapipe.python.solutions.face_detection import FaceDetection

        detector = _local.detector = FaceDetection(model_selection=1, min_detection_confidence=MIN_SCORE)
    return detector


def detection_scale(size: Size) -> float:
    """The smallest decode scale of an image of `size` that still gives the detector enough pixels."""
    return min(1.0, DETECTION_SHORT_SIDE / min(size))


def detect(image: Image.Image) -> list[Face]:
    """Faces in `image`, in its pixels, largest first."""
    width, height = image.size
    pixels = np.asarray(as_rgb(image))
    result = _detector().process(pixels)
    faces = []
    for detection in result.detections or ():
        location = detection.location_data
        rel = location.relative_bounding_box
        box = Box(rel.xmin * width, rel.ymin * height, rel.width * width, rel.height * height).clipped(image.size)
        if box.area <= 0:
            continue
        points = {name: (p.x * width, p.y * height) for name, p in zip(KEYPOINT_NAMES, location.relative_keypoints)}
        faces.append(Face(box, float(detection.score[0]), points))
    faces.sort(key=lambda f: f.box.area, reverse=True)
    return faces
