"""The native detection JSON: what the facedetect op, POST /v1/face/detect and `imgproxy detect` answer.

    {"width": W, "height": H, "orientation": 0,
     "faces": [{"box": [x, y, w, h], "score": s, "keypoints": {"right_eye": [x, y], ...}, ...}]}

Every coordinate is in pixels of the original as displayed (after its EXIF orientation, at full
resolution, whatever scale it was decoded at), rounded to 0.1 px: detection runs on a reduced
decode, so finer digits would promise a precision the numbers do not have. Faces come largest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from imgproxy.faces.box import Box
from imgproxy.faces.detect import Detection, DetectOptions, Face
from imgproxy.faces.mesh import MESH_INPUT, REGION_MARGIN, FaceAnalysis, analyze
from imgproxy.faces.quality import FACE_WIDTH
from imgproxy.imaging.decode import Decoded
from imgproxy.imaging.resize import Size

# The narrowest a face may be in the pixels the mesh is run on. The mesh resamples the face's
# region to MESH_INPUT px, and sharpness is measured at FACE_WIDTH px: a face decoded narrower than
# both would be upscaled, which blurs it and makes `blur` depend on the decode scale.
ANALYSIS_FACE_WIDTH = max(FACE_WIDTH, MESH_INPUT / (1 + 2 * REGION_MARGIN))


@dataclass(frozen=True)
class NativeOptions:
    detect: DetectOptions = DetectOptions()
    landmarks: bool = False  # each face gets the mesh's 478 points
    attributes: bool = False  # each face gets pose, eyes, mouth and quality

    @property
    def analyzes(self) -> bool:
        """Whether the face mesh has to run: it costs far more than detection."""
        return self.landmarks or self.attributes


def analysis_scale(faces: Sequence[Face], full: Size) -> float:
    """The decode scale (of an original of `full` size) at which every face is wide enough for the mesh."""
    narrowest = min((face.box.w for face in faces), default=full[0])
    return min(1.0, ANALYSIS_FACE_WIDTH / max(narrowest, 1.0))


def analyze_faces(decoded: Decoded, faces: Sequence[Face]) -> list[FaceAnalysis | None]:
    """The mesh analysis of each face (boxes in full-size pixels), landmarks in full-size pixels;
    None for a face the mesh does not find."""
    sx = decoded.image.width / decoded.full_size[0]
    sy = decoded.image.height / decoded.full_size[1]
    analyses: list[FaceAnalysis | None] = []
    for face in faces:
        found = analyze(decoded.image, face.box.scaled(sx, sy))
        if found is not None:
            found = replace(found, landmarks=tuple((x / sx, y / sy) for x, y in found.landmarks))
        analyses.append(found)
    return analyses


def native_json(
    size: Size, detection: Detection, options: NativeOptions, analyses: Sequence[FaceAnalysis | None] = ()
) -> dict[str, Any]:
    """The native JSON of `detection` on an original of `size`; `analyses` (one per face, from
    `analyze_faces`) are required when `options` asks for landmarks or attributes."""
    if options.analyzes and len(analyses) != len(detection.faces):
        raise ValueError("landmarks and attributes need one analysis per face")
    faces = []
    for index, face in enumerate(detection.faces):
        entry: dict[str, Any] = {
            "box": box_json(face.box),
            "score": round(face.score, 4),
            "keypoints": {name: point_json(point) for name, point in face.keypoints.items()},
        }
        analysis = analyses[index] if options.analyzes else None
        if options.landmarks:
            entry["landmarks"] = None if analysis is None else [point_json(p) for p in analysis.landmarks]
        if options.attributes:
            entry.update(attributes_json(analysis))
        faces.append(entry)
    return {"width": size[0], "height": size[1], "orientation": detection.orientation, "faces": faces}


def attributes_json(analysis: FaceAnalysis | None) -> dict[str, Any]:
    """pose, eyes, mouth and quality of one face; each null when the mesh did not find the face."""
    if analysis is None:
        return {"pose": None, "eyes": None, "mouth": None, "quality": None}
    return {
        "pose": {"yaw": round(analysis.yaw, 1), "pitch": round(analysis.pitch, 1), "roll": round(analysis.roll, 1)},
        "eyes": {
            "right_open": analysis.right_eye_open,
            "left_open": analysis.left_eye_open,
            "right_ratio": round(analysis.right_eye_ratio, 3),
            "left_ratio": round(analysis.left_eye_ratio, 3),
        },
        "mouth": {"open": analysis.mouth_open, "ratio": round(analysis.mouth_ratio, 3)},
        "quality": {
            "blur": round(analysis.blur, 3),
            "illumination": round(analysis.illumination, 1),
            "completeness": round(analysis.completeness, 3),
        },
    }


def box_json(box: Box) -> list[float]:
    return [round(box.x, 1), round(box.y, 1), round(box.w, 1), round(box.h, 1)]


def point_json(point: tuple[float, float]) -> list[float]:
    return [round(point[0], 1), round(point[1], 1)]
