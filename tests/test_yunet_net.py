"""YuNet's network as an ONNX graph of yuface's weights: it answers what yuface's own engine does."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
from images import detector_photos
from numpy.typing import NDArray
from PIL import Image
from yuface.yuface import detect as yuface_detect

from imgproxy import memory
from imgproxy.faces import yunet_net
from imgproxy.faces.yunet_net import HEADS, STRIDES, RawFace, padded_side, read_heads, suppressed

PHOTOS = detector_photos(most_crowded=1)


@pytest.mark.parametrize("name, photo", PHOTOS, ids=[name for name, _ in PHOTOS])
def test_the_graph_answers_what_yufaces_engine_answers(name: str, photo: Image.Image) -> None:
    """Same faces, same order: scores within yuface's rounding to whole percents, boxes and
    landmarks within its rounding down to whole pixels (float sums in another order aside)."""
    rgb = np.asarray(photo)
    ours = yunet_net.raw_faces(rgb, 0.5)
    theirs = [row for row in yuface_detect(np.ascontiguousarray(rgb[:, :, ::-1])).tolist() if row[0] >= 50]
    assert len(ours) == len(theirs) > 0
    for face, row in zip(ours, theirs, strict=True):
        assert face.score * 100 == pytest.approx(row[0] + 0.5, abs=0.6)
        assert list(face.box) == pytest.approx(row[1:5], abs=1.1)
        assert [v for mark in face.marks for v in mark] == pytest.approx(row[5:15], abs=1.1)


def test_the_input_is_padded_to_the_coarsest_stride() -> None:
    assert [padded_side(side) for side in (1, 32, 33, 600)] == [32, 32, 64, 608]


def one_cell_outputs(height: int, width: int, level: int, row: int, col: int) -> list[NDArray[np.float32]]:
    """Graph outputs for a padded input of `height` x `width` where only one cell of one level
    holds a face: class and objectness logits 3 (probability 0.953), centre (0.5, 0.25) strides
    from the cell's corner, size e^1 strides, landmarks at (1, 2) strides from it."""
    outputs = []
    for i, stride in enumerate(STRIDES):
        for name, channels in HEADS:
            fill = -10.0 if name in ("cls", "obj") else 0.0
            grid = np.full((1, channels, height // stride, width // stride), fill, np.float32)
            if i == level:
                grid[0, :, row, col] = {"cls": [3.0], "obj": [3.0], "bbox": [0.5, 0.25, 1.0, 1.0], "kps": [1.0, 2.0] * 5}[name]
            outputs.append(grid)
    return outputs


def test_a_cell_decodes_to_a_box_around_its_offset_centre() -> None:
    ((face),) = read_heads(one_cell_outputs(64, 96, level=1, row=1, col=3), 0.5)
    stride, side = 16, math.e * 16
    cx, cy = 3 * stride + 0.5 * stride, 1 * stride + 0.25 * stride
    assert face.score == pytest.approx(1 / (1 + math.exp(-3)), rel=1e-5)
    assert face.box == pytest.approx((cx - side / 2, cy - side / 2, side, side), rel=1e-5)
    assert face.marks == ((3 * stride + stride, 1 * stride + 2 * stride),) * 5
    assert read_heads(one_cell_outputs(64, 96, level=1, row=1, col=3), 0.96) == []


def test_overlapping_detections_keep_the_best() -> None:
    marks = ((0.0, 0.0),) * 5
    best = RawFace(0.9, (10, 10, 50, 50), marks)
    shifted = RawFace(0.7, (14, 12, 50, 50), marks)
    apart = RawFace(0.8, (200, 10, 50, 50), marks)
    assert suppressed([shifted, apart, best]) == [best, apart]
    assert suppressed([]) == []


def resident_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def test_a_large_run_gives_its_memory_back() -> None:
    """A 4000x3000 search needs some 450 MB while it runs. A worker tunes glibc and trims it when
    idle; an allocator arena that kept the memory would leave every worker that ever saw a large
    photo that much bigger."""
    memory.tune_allocator()
    yunet_net.raw_faces(np.zeros((240, 320, 3), np.uint8), 0.5)
    before = resident_mb()
    yunet_net.raw_faces(np.zeros((3000, 4000, 3), np.uint8), 0.5)
    time.sleep(memory.TRIM_INTERVAL)  # the trim runs at most once an interval
    memory.trim()
    assert resident_mb() - before < 150
