"""MediaPipe's full-range detector on onnxruntime: it answers what MediaPipe's own graph answers."""

from __future__ import annotations

import functools
import math
from dataclasses import astuple
from types import SimpleNamespace

import numpy as np
import pytest
from google.protobuf import text_format
from images import detector_photos
from mediapipe.framework.calculator_pb2 import CalculatorGraphConfig
from mediapipe.python.solution_base import SolutionBase
from mediapipe.tasks.metadata.schema_py_generated import DimensionType
from PIL import Image

from imgproxy.faces.blazeface_net import (
    GRID,
    SIDE,
    RelativeFace,
    anchor_centres,
    decode,
    densified,
    input_size,
    relative_faces,
    same_padding,
    unletterboxed,
    weighted_suppression,
)
from imgproxy.faces.box import Box
from imgproxy.faces.detect import SCORE_FLOOR
from imgproxy.imaging.resize import model_input
from imgproxy.samples import grace_hopper

# MediaPipe's FaceDetectionFullRange graph with its score threshold lowered to SCORE_FLOOR (the
# packaged one keeps 0.6 whatever it is asked), on the model file the onnxruntime graph is read from.
GRAPH = """
input_stream: "IMAGE:image"
output_stream: "DETECTIONS:detections"
node {
  calculator: "FaceDetection"
  input_stream: "IMAGE:image"
  output_stream: "DETECTIONS:detections"
  node_options {
    [type.googleapis.com/mediapipe.FaceDetectionOptions] {
      model_path: "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite"
      tensor_width: 192 tensor_height: 192 num_layers: 1 strides: 4
      interpolated_scale_aspect_ratio: 0.0 num_boxes: 2304
      x_scale: 192.0 y_scale: 192.0 h_scale: 192.0 w_scale: 192.0
      min_score_thresh: %s
      delegate { xnnpack {} }
    }
  }
}
"""


@functools.cache
def mediapipe_graph() -> SolutionBase:
    config = text_format.Parse(GRAPH % SCORE_FLOOR, CalculatorGraphConfig())
    return SolutionBase(graph_config=config, outputs=["detections"])


def mediapipe_faces(rgb: np.ndarray) -> list[RelativeFace]:
    faces = []
    for detection in mediapipe_graph().process({"image": rgb}).detections or ():
        location = detection.location_data
        box = location.relative_bounding_box
        points = tuple((p.x, p.y) for p in location.relative_keypoints)
        faces.append(RelativeFace(detection.score[0], Box(box.xmin, box.ymin, box.width, box.height), points))
    return sorted(faces, key=lambda f: f.score, reverse=True)


PHOTOS = [*detector_photos(most_crowded=3), ("grace_hopper turned", grace_hopper().rotate(90, expand=True))]


@pytest.mark.parametrize("name, photo", PHOTOS, ids=[name for name, _ in PHOTOS])
def test_the_graph_answers_what_mediapipes_graph_answers(name: str, photo: Image.Image) -> None:
    """Same faces, same order, same scores; boxes and keypoints within a hundredth of a model pixel."""
    rgb = model_input(photo.convert("RGB"), input_size(photo.size))
    ours = relative_faces(rgb, SCORE_FLOOR)
    theirs = mediapipe_faces(rgb)
    assert len(ours) == len(theirs) > 0
    for face, other in zip(ours, theirs, strict=True):
        assert face.score == pytest.approx(other.score, abs=1e-4)
        assert astuple(face.box.scaled(SIDE, SIDE)) == pytest.approx(astuple(other.box.scaled(SIDE, SIDE)), abs=0.01)
        assert np.ravel(face.keypoints) * SIDE == pytest.approx(np.ravel(other.keypoints) * SIDE, abs=0.01)


def test_the_input_leaves_an_even_margin_for_the_letterbox() -> None:
    assert input_size((512, 600)) == (164, 192)  # 163.8 wide: an odd margin, made even
    assert input_size((600, 512)) == (192, 164)
    assert input_size((4000, 3000)) == (192, 144)
    assert input_size((640, 640)) == (192, 192)
    assert input_size((5000, 10)) == (192, 2)


def test_an_anchor_decodes_to_its_centre_plus_the_offsets() -> None:
    boxes = np.zeros((GRID * GRID, 16), np.float32)
    logits = np.full(GRID * GRID, -10.0, np.float32)
    anchor = 5 * GRID + 7  # row 5, column 7
    logits[anchor] = 2.0
    boxes[anchor, :4] = [19.2, -9.6, 38.4, 57.6]  # centre offset (0.1, -0.05), size (0.2, 0.3)
    boxes[anchor, 4:] = [1.92, 3.84] * 6
    (face,) = decode(boxes, logits, 0.5)
    cx, cy = (7 + 0.5) / GRID + 0.1, (5 + 0.5) / GRID - 0.05
    assert face.score == pytest.approx(1 / (1 + math.exp(-2)))
    assert astuple(face.box) == pytest.approx((cx - 0.1, cy - 0.15, 0.2, 0.3))
    assert np.ravel(face.keypoints) == pytest.approx([(7 + 0.5) / GRID + 0.01, (5 + 0.5) / GRID + 0.02] * 6)
    assert anchor_centres()[0] == pytest.approx((0.5 / GRID, 0.5 / GRID))


def test_a_box_of_negative_size_is_left_out() -> None:
    boxes = np.zeros((GRID * GRID, 16), np.float32)
    boxes[0, 2] = -1.0
    logits = np.full(GRID * GRID, -10.0, np.float32)
    logits[0] = 5.0
    assert decode(boxes, logits, 0.5) == []


def test_overlapping_faces_are_averaged_by_score_into_the_best() -> None:
    points = ((0.0, 0.0),) * 6
    best = RelativeFace(0.9, Box(0.1, 0.1, 0.2, 0.2), points)
    near = RelativeFace(0.3, Box(0.14, 0.1, 0.2, 0.2), ((0.4, 0.8),) * 6)
    apart = RelativeFace(0.5, Box(0.6, 0.6, 0.2, 0.2), points)
    merged, alone = weighted_suppression([near, apart, best])
    assert merged.score == 0.9
    assert astuple(merged.box) == pytest.approx((0.11, 0.1, 0.2, 0.2))  # x: (0.9 * 0.1 + 0.3 * 0.14) / 1.2
    assert np.ravel(merged.keypoints) == pytest.approx([0.1, 0.2] * 6)
    assert alone.score == 0.5
    assert astuple(alone.box) == pytest.approx(astuple(apart.box))


def test_a_face_is_measured_back_in_the_image_inside_the_letterbox() -> None:
    face = RelativeFace(0.8, Box(0.25, 0.5, 0.25, 0.25), ((0.5, 0.5),) * 6)
    back = unletterboxed(face, top=24, left=0, width=192, height=144)
    assert astuple(back.box) == pytest.approx((0.25, (96 - 24) / 144, 0.25, 48 / 144))
    assert back.keypoints[0] == pytest.approx((0.5, 0.5))


def test_same_padding_puts_the_odd_pixel_at_the_end() -> None:
    assert same_padding((192, 192), (3, 3), (2, 2)) == [0, 0, 1, 1]
    assert same_padding((96, 96), (5, 5), (1, 1)) == [2, 2, 2, 2]


def test_a_compressed_last_dimension_is_expanded() -> None:
    """Two rows of four: row 0 holds 1 and 2 in columns 1 and 3, row 1 holds 3 in column 0."""
    dense = SimpleNamespace(format=DimensionType.DENSE, denseSize=2)
    compressed = SimpleNamespace(
        format=DimensionType.SPARSE_CSR,
        arraySegments=SimpleNamespace(values=[0, 2, 3]),
        arrayIndices=SimpleNamespace(values=[1, 3, 0]),
    )
    sparsity = SimpleNamespace(traversalOrder=[0, 1], blockMap=None, dimMetadata=[dense, compressed])
    values = np.array([1, 2, 3], np.float16)
    assert densified(values, sparsity, (2, 4)).tolist() == [[0, 1, 0, 2], [3, 0, 0, 0]]
