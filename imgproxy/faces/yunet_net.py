"""YuNet's network, run by onnxruntime on the weights the `yuface` wheel ships.

yuface compiles libfacedetection (BSD-3) with its weights, but for SSE only: about 130 ns a pixel
on one core here. onnxruntime picks AVX2 or AVX-512 kernels at run time and runs the same network
2.5-4 times faster (`bench/yunet_engines.py`). So the weights are read out of yuface's shared
library, by the names libfacedetection gives its arrays, and laid out as an ONNX graph of the
network libfacedetection runs: nothing is downloaded, and `tests/test_yunet_net.py` checks that the
graph answers what yuface's own engine answers.

The network, as libfacedetection runs it: a 3x3 stride-2 convolution, then units of a pointwise
convolution and a 3x3 depthwise one (each unit but the heads' ending in a ReLU), 2x2 max pools
down to strides 8, 16 and 32, a top-down neck (nearest upsampling and addition), and per stride
heads for the class score, the objectness, the box and five landmarks.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray

from imgproxy.faces.onnx_session import new_session, planes, sigmoid

if TYPE_CHECKING:
    from onnx import NodeProto, TensorProto
    from onnxruntime import InferenceSession

# The strides of the three detection levels; the input is padded to a multiple of the largest.
STRIDES = (8, 16, 32)
# The heads of each level and their channels, in the order the graph answers them.
HEADS = (("cls", 1), ("bbox", 4), ("obj", 1), ("kps", 10))
# libfacedetection's own non-maximum suppression between its detections.
NMS_IOU = 0.45
# Threads that run one network on an input of PARALLEL_PIXELS or more: a lone 1280x960 run takes 24
# ms on 2 instead of 37 on 1, but a 384x288 one 2.8 instead of 2.6 (`bench/yunet_engines.py`), so
# smaller inputs run on one. Under load two cost no throughput: `facedetect/minsize/<20-59>` on a
# 12 MP photo at 2 connections answered 6.5 a second with them, 6.8 on one thread (4 runs each,
# within their spread).
THREADS = 2
PARALLEL_PIXELS = 200_000


@dataclass(frozen=True)
class RawFace:
    score: float  # 0-1: the geometric mean of the class and objectness probabilities
    box: tuple[float, float, float, float]  # x, y, w, h in input pixels
    marks: tuple[tuple[float, float], ...]  # five (x, y): eyes, nose tip, mouth corners


def padded_side(side: int) -> int:
    """The side of the input the network sees for an image side of `side` pixels."""
    return -(-max(side, 1) // STRIDES[-1]) * STRIDES[-1]


def raw_faces(rgb: NDArray[np.uint8], min_score: float) -> list[RawFace]:
    """YuNet's faces in `rgb` (H x W x 3, uint8) scoring at least `min_score`, best first."""
    padded = planes(rgb, padded_side(rgb.shape[0]), padded_side(rgb.shape[1]))
    threads = THREADS if padded[0, 0].size >= PARALLEL_PIXELS else 1
    outputs = session(threads).run(None, {"image": padded})
    return suppressed(read_heads(outputs, min_score))


def read_heads(outputs: Sequence[NDArray[np.float32]], min_score: float) -> list[RawFace]:
    """The detections in the graph's `outputs` (each level's heads, as HEADS orders them) scoring
    at least `min_score`: scores from the class and objectness logits, boxes and landmarks from
    the offsets of each cell's corner, in units of its stride."""
    faces = []
    for level, stride in enumerate(STRIDES):
        cls, bbox, obj, kps = (o[0] for o in outputs[level * len(HEADS) : (level + 1) * len(HEADS)])
        scores = np.sqrt(sigmoid(cls[0]) * sigmoid(obj[0]))
        rows, cols = np.nonzero(scores >= min_score)
        corners = np.stack([cols, rows]).astype(np.float64) * stride
        centres = corners + bbox[:2, rows, cols] * stride
        sizes = np.exp(bbox[2:, rows, cols]) * stride
        marks = np.tile(corners, (5, 1)) + kps[:, rows, cols] * stride
        for i, score in enumerate(scores[rows, cols].tolist()):
            (cx, cy), (w, h) = centres[:, i].tolist(), sizes[:, i].tolist()
            points = marks[:, i].tolist()
            pairs = tuple((points[2 * k], points[2 * k + 1]) for k in range(5))
            faces.append(RawFace(score, (cx - w / 2, cy - h / 2, w, h), pairs))
    return faces


def suppressed(faces: list[RawFace]) -> list[RawFace]:
    """`faces` without those overlapping a better one by more than NMS_IOU, best first."""
    if not faces:
        return []
    keep = cv2.dnn.NMSBoxes([f.box for f in faces], [f.score for f in faces], 0.0, NMS_IOU)
    return sorted((faces[i] for i in np.ravel(keep)), key=lambda f: f.score, reverse=True)


_sessions: dict[int, InferenceSession] = {}
_lock = threading.Lock()  # worker threads share the sessions; `run` may be called from any thread


def session(threads: int) -> InferenceSession:
    """YuNet on onnxruntime, run by `threads` threads."""
    with _lock:
        if threads not in _sessions:
            _sessions[threads] = new_session(graph(), threads)
        return _sessions[threads]


@functools.cache  # one graph for the sessions of every thread count
def graph() -> bytes:
    """YuNet as a serialized ONNX model: input "image", 1 x 3 x H x W RGB planes (0-255, `planes`)
    with H and W multiples of 32; outputs each level's HEADS, 1 x C x H/stride x W/stride."""
    from onnx import TensorProto, helper

    builder = _YuNetBuilder(_weights_library())
    head = builder.head("image")
    x = builder.unit(head, "backbone__model0_dp", 16, 16)
    x = builder.pool(x)
    x = builder.block(x, "backbone__model1", 16, 32)
    x = builder.block(x, "backbone__model2", 32, 64)
    stride8 = builder.block(builder.pool(x), "backbone__model3", 64, 64)
    stride16 = builder.block(builder.pool(stride8), "backbone__model4", 64, 64)
    stride32 = builder.block(builder.pool(stride16), "backbone__model5", 64, 64)
    stride32 = builder.unit(stride32, "neck__lateral_convs__2", 64, 64)
    stride16 = builder.unit(builder.upsampled_sum(stride32, stride16), "neck__lateral_convs__1", 64, 64)
    stride8 = builder.unit(builder.upsampled_sum(stride16, stride8), "neck__lateral_convs__0", 64, 64)
    outputs = [
        builder.unit(level, f"bbox_head__multi_level_{name}__{i}", 64, channels, relu=False)
        for i, level in enumerate((stride8, stride16, stride32))
        for name, channels in HEADS
    ]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "height", "width"])
    answers = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    model = helper.make_model(
        helper.make_graph(builder.nodes, "yunet", [image], answers, builder.initializers),
        opset_imports=[helper.make_opsetid("", 13)],
    )
    return bytes(model.SerializeToString())


def _weights_library() -> ctypes.CDLL:
    import yuface

    return ctypes.CDLL(str(Path(yuface.__file__).parent / "libfacedetection.so"))


class _YuNetBuilder:
    """Collects the ONNX nodes and weights of YuNet's layers, each named after its weights."""

    def __init__(self, library: ctypes.CDLL) -> None:
        self.library = library
        self.nodes: list[NodeProto] = []
        self.initializers: list[TensorProto] = []

    def weights(self, name: str, count: int) -> NDArray[np.float32]:
        return np.ctypeslib.as_array((ctypes.c_float * count).in_dll(self.library, name)).copy()

    def constant(self, name: str, values: NDArray[Any]) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(values.astype(np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def conv(
        self,
        x: str,
        name: str,
        weight: NDArray[np.float32],
        bias: NDArray[np.float32],
        *,
        stride: int = 1,
        group: int = 1,
        relu: bool,
    ) -> str:
        side = weight.shape[-1]
        inputs = [x, self.constant(f"{name}_weight", weight), self.constant(f"{name}_bias", bias)]
        shape = {"kernel_shape": [side, side], "strides": [stride, stride], "pads": [side // 2] * 4}
        out = self.node("Conv", inputs, name, group=group, **shape)
        return self.node("Relu", [out], f"{name}_relu") if relu else out

    def head(self, image: str) -> str:
        """The first layer: libfacedetection stores its 3x3 stride-2 convolution over BGR as a
        pointwise one over 32 channels, of which the first 27 are the 3x3 window's pixels, row by
        row, each B, G, R."""
        pointwise = self.weights("backbone__model0_pw_weight", 16 * 32).reshape(16, 32)[:, :27]
        weight = pointwise.reshape(16, 3, 3, 3).transpose(0, 3, 1, 2)[:, ::-1]
        return self.conv(image, "backbone__model0_pw", weight, self.weights("backbone__model0_pw_bias", 16), stride=2, relu=True)

    def unit(self, x: str, name: str, inputs: int, outputs: int, *, relu: bool = True) -> str:
        """A pointwise convolution, then a depthwise 3x3 one, stored (filter by filter) as nine
        taps of every channel."""
        pointwise = self.weights(f"{name}_pw_weight", outputs * inputs).reshape(outputs, inputs, 1, 1)
        x = self.conv(x, f"{name}_pw", pointwise, self.weights(f"{name}_pw_bias", outputs), relu=False)
        depthwise = self.weights(f"{name}_dw_weight", 9 * outputs).reshape(9, outputs).T.reshape(outputs, 1, 3, 3)
        return self.conv(x, f"{name}_dw", depthwise, self.weights(f"{name}_dw_bias", outputs), group=outputs, relu=relu)

    def block(self, x: str, name: str, inputs: int, outputs: int) -> str:
        return self.unit(self.unit(x, f"{name}_dp1", inputs, inputs), f"{name}_dp2", inputs, outputs)

    def pool(self, x: str) -> str:
        return self.node("MaxPool", [x], f"{x}_pool", kernel_shape=[2, 2], strides=[2, 2])

    def upsampled_sum(self, coarse: str, fine: str) -> str:
        scales = self.constant(f"{coarse}_scales", np.array([1, 1, 2, 2]))
        upsampled = self.node("Resize", [coarse, "", scales], f"{coarse}_up", mode="nearest")
        return self.node("Add", [upsampled, fine], f"{fine}_sum")
