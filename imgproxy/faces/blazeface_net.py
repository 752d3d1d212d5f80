"""MediaPipe's full-range face detector (BlazeFace), run by onnxruntime.

MediaPipe's FaceDetection graph runs this model on TFLite's XNNPACK: about 4.3 ms a 192x192 pass
here, against 3.0-3.4 for the same work with the network on onnxruntime, whose convolutions are
faster (`bench/blazeface_engines.py`). So the model the mediapipe wheel ships
(face_detection_full_range_sparse.tflite) is read with the TFLite schema mediapipe also ships, its
float16 and sparse weights are expanded, and its layers are laid out as an ONNX graph. What the
graph's other calculators do is done here with the options of MediaPipe's face_detection.pbtxt:
the letterbox to 192x192 (ImageToTensorCalculator), the anchors (SsdAnchorsCalculator), the
decoding of boxes, keypoints and scores (TensorsToDetectionsCalculator) and the weighted
non-maximum suppression (NonMaxSuppressionCalculator). Nothing is downloaded, and
`tests/test_blazeface_net.py` checks that this answers what MediaPipe's own graph answers.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from imgproxy.faces.box import Box
from imgproxy.faces.onnx_session import new_session, planes, sigmoid

if TYPE_CHECKING:
    from onnx import NodeProto, TensorProto
    from onnxruntime import InferenceSession

MODEL = "modules/face_detection/face_detection_full_range_sparse.tflite"  # in the mediapipe package
# The model's input side; an image is letterboxed into it, centred, its border black.
SIDE = 192
# One anchor per cell of a 48x48 grid (stride 4), each 1x1 (fixed_anchor_size), centred in its cell.
GRID = SIDE // 4
# Keypoints a face has. Box and keypoint offsets are in input pixels (x_scale = y_scale = 192).
KEYPOINTS = 6
# Detections overlapping the best one by more than this IoU are averaged into it, weighted by score.
SUPPRESSION_IOU = 0.3


@dataclass(frozen=True)
class RelativeFace:
    """A face as MediaPipe's graph reports it, in fractions of the image's width and height."""

    score: float
    box: Box
    keypoints: tuple[tuple[float, float], ...]  # six (x, y), in MediaPipe's keypoint order


def input_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size an image of `size` is resized to for the model: its longer side SIDE, its shorter
    side rounded to leave an even margin, so that the letterbox starts on a whole pixel. MediaPipe
    centres it to the half pixel and resamples the image to do so."""
    scale = SIDE / max(size)
    width, height = (SIDE - 2 * round((SIDE - side * scale) / 2) for side in size)
    return max(2, width), max(2, height)


def relative_faces(rgb: NDArray[np.uint8], min_score: float) -> list[RelativeFace]:
    """The faces in `rgb` (H x W x 3, uint8, its size as `input_size` gives it) scoring at least
    `min_score`."""
    height, width = rgb.shape[:2]
    top, left = (SIDE - height) // 2, (SIDE - width) // 2
    letterboxed = planes(rgb, SIDE, SIDE, top, left)
    boxes, logits = session().run(["boxes", "scores"], {"image": letterboxed})
    faces = weighted_suppression(decode(boxes[0], logits[0, :, 0], min_score))
    return [unletterboxed(face, top, left, width, height) for face in faces]


def decode(boxes: NDArray[np.float32], logits: NDArray[np.float32], min_score: float) -> list[RelativeFace]:
    """The anchors' detections scoring at least `min_score`, in fractions of the input, boxes of
    negative size left out as MediaPipe leaves them."""
    scores = sigmoid(logits)
    (kept,) = np.nonzero(scores >= min_score)
    offsets = boxes[kept].astype(np.float64) / SIDE
    centres = anchor_centres()[kept]
    faces = []
    for i, score in enumerate(scores[kept].tolist()):
        (cx, cy), (w, h) = (offsets[i, :2] + centres[i]).tolist(), offsets[i, 2:4].tolist()
        if w < 0 or h < 0:
            continue
        points = (offsets[i, 4:].reshape(KEYPOINTS, 2) + centres[i]).tolist()
        faces.append(RelativeFace(score, Box(cx - w / 2, cy - h / 2, w, h), tuple((x, y) for x, y in points)))
    return faces


@functools.cache
def anchor_centres() -> NDArray[np.float64]:
    """Each anchor's centre (x, y) in fractions of the input, row by row."""
    rows, cols = np.mgrid[0:GRID, 0:GRID]
    centres: NDArray[np.float64] = np.stack([cols.ravel(), rows.ravel()], axis=1) / GRID + 0.5 / GRID
    return centres


def weighted_suppression(faces: list[RelativeFace]) -> list[RelativeFace]:
    """MediaPipe's weighted non-maximum suppression: best first, each face takes every remaining
    one overlapping it by more than SUPPRESSION_IOU (itself included) and becomes their average,
    weighted by score, keeping its own score."""
    remaining = sorted(faces, key=lambda f: f.score, reverse=True)
    kept = []
    while remaining:
        best = remaining[0]
        overlaps = [f.box.iou(best.box) > SUPPRESSION_IOU for f in remaining]
        group = [f for f, overlap in zip(remaining, overlaps, strict=True) if overlap]
        remaining = [f for f, overlap in zip(remaining, overlaps, strict=True) if not overlap]
        weights = np.array([f.score for f in group])
        corners = np.array([(f.box.x, f.box.y, f.box.right, f.box.bottom) for f in group])
        x0, y0, x1, y1 = (weights @ corners / weights.sum()).tolist()
        points = np.einsum("i,ikj->kj", weights, np.array([f.keypoints for f in group])) / weights.sum()
        kept.append(RelativeFace(best.score, Box(x0, y0, x1 - x0, y1 - y0), tuple((x, y) for x, y in points.tolist())))
    return kept


def unletterboxed(face: RelativeFace, top: int, left: int, width: int, height: int) -> RelativeFace:
    """`face`, found in the letterboxed input, in fractions of the `width` x `height` image placed
    at (`left`, `top`) in it."""

    def point(x: float, y: float) -> tuple[float, float]:
        return ((x * SIDE - left) / width, (y * SIDE - top) / height)

    x, y = point(face.box.x, face.box.y)
    box = Box(x, y, face.box.w * SIDE / width, face.box.h * SIDE / height)
    return RelativeFace(face.score, box, tuple(point(*p) for p in face.keypoints))


_session: list[InferenceSession] = []
_lock = threading.Lock()  # worker threads share the session; `run` may be called from any thread


def session() -> InferenceSession:
    """The detector on onnxruntime, on one thread: a 192x192 input is too small to share out."""
    with _lock:
        if not _session:
            _session.append(new_session(graph(), 1))
        return _session[0]


def graph() -> bytes:
    """The model as a serialized ONNX one: input "image", 1 x 3 x 192 x 192 RGB planes (0-255,
    `planes`); outputs
    "boxes", 1 x 2304 x 16 offsets (box centre, size, six keypoints), and "scores", 1 x 2304 x 1
    logits, anchor by anchor."""
    import mediapipe
    from mediapipe.tasks.metadata import schema_py_generated as tflite
    from onnx import TensorProto, helper

    model = tflite.ModelT.InitFromPackedBuf((Path(mediapipe.__file__).parent / MODEL).read_bytes(), 0)
    builder = _TfliteTranslator(model)
    for operator in builder.subgraph.operators:
        builder.add(operator)
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, SIDE, SIDE])
    answers = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in ("boxes", "scores")]
    for output in builder.subgraph.outputs:
        name = "boxes" if builder.subgraph.tensors[output].shape[-1] > 1 else "scores"
        builder.node("Identity", [builder.name(output)], name)
    onnx_model = helper.make_model(
        helper.make_graph(builder.nodes, "blazeface", [image], answers, builder.initializers),
        opset_imports=[helper.make_opsetid("", 13)],
    )
    return bytes(onnx_model.SerializeToString())


class _TfliteTranslator:
    """Translates the TFLite model's operators, NHWC, into ONNX nodes, NCHW. Weights (the outputs
    of its DENSIFY and DEQUANTIZE operators) become initializers."""

    def __init__(self, model: Any) -> None:
        from mediapipe.tasks.metadata import schema_py_generated as tflite

        self.tflite = tflite
        self.model = model
        self.subgraph = model.subgraphs[0]
        self.nodes: list[NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.expanded: dict[int, int] = {}  # tensor -> the weights tensor it expands
        self.operators = {value: name for name, value in vars(tflite.BuiltinOperator).items() if not name.startswith("_")}
        # The image as the model takes it: planes scaled from 0-255 to -1-1, as MediaPipe scales it.
        (first,) = self.subgraph.inputs
        scaled = self.node("Mul", ["image", self.constant("to_range", np.array(2 / 255, np.float32))], "image_scaled")
        self.node("Add", [scaled, self.constant("range_min", np.array(-1, np.float32))], self.name(first))

    def name(self, tensor: int) -> str:
        return f"t{tensor}"

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def constant(self, name: str, values: NDArray[Any]) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.asarray(values), name))
        return name

    def weights(self, tensor: int) -> NDArray[np.float32]:
        """The values of constant `tensor`, expanded to dense float32."""
        while tensor in self.expanded:  # a DEQUANTIZE of a DENSIFY of the stored weights
            tensor = self.expanded[tensor]
        spec = self.subgraph.tensors[tensor]
        types = self.tflite.TensorType
        dtype = {types.FLOAT32: np.float32, types.FLOAT16: np.float16, types.INT32: np.int32}[spec.type]
        values = np.frombuffer(self.model.buffers[spec.buffer].data.tobytes(), dtype)
        if spec.sparsity is not None:
            values = densified(values, spec.sparsity, tuple(spec.shape))
        return values.reshape(spec.shape).astype(np.float32)

    def add(self, operator: Any) -> None:
        code = self.model.operatorCodes[operator.opcodeIndex]
        op = self.operators[max(code.builtinCode, code.deprecatedBuiltinCode)]
        inputs, (output,) = list(operator.inputs), list(operator.outputs)
        options = operator.builtinOptions
        if op in ("DENSIFY", "DEQUANTIZE"):
            self.expanded[output] = inputs[0]
        elif op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            self.conv(op, inputs, output, options)
        elif op == "PAD":
            paddings = self.weights(inputs[1]).astype(np.int64)[[0, 3, 1, 2]]  # NHWC rows, as NCHW
            pads = self.constant(f"pads{output}", np.concatenate([paddings[:, 0], paddings[:, 1]]))
            self.node("Pad", [self.name(inputs[0]), pads], self.name(output))
        elif op == "ADD":
            added = self.node("Add", [self.name(i) for i in inputs], f"{self.name(output)}_sum")
            self.activation(added, options.fusedActivationFunction, output)
        elif op == "RESIZE_BILINEAR":
            channels = self.subgraph.tensors[output].shape[3]
            sizes = self.constant(f"sizes{output}", np.array([1, channels, *self.weights(inputs[1]).astype(int)], np.int64))
            mode = "align_corners" if options.alignCorners else "half_pixel" if options.halfPixelCenters else "asymmetric"
            resized = [self.name(inputs[0]), "", "", sizes]
            self.node("Resize", resized, self.name(output), mode="linear", coordinate_transformation_mode=mode)
        elif op == "DEPTH_TO_SPACE":  # TFLite's NHWC order of the block is ONNX's DCR
            self.node("DepthToSpace", [self.name(inputs[0])], self.name(output), blocksize=options.blockSize, mode="DCR")
        elif op == "RESHAPE":
            nhwc = self.node("Transpose", [self.name(inputs[0])], f"{self.name(inputs[0])}_nhwc", perm=[0, 2, 3, 1])
            shape = self.constant(f"shape{output}", np.array(self.subgraph.tensors[output].shape, np.int64))
            self.node("Reshape", [nhwc, shape], self.name(output))
        else:
            raise ValueError(f"{MODEL}: operator {op} is not translated")

    def conv(self, op: str, inputs: list[int], output: int, options: Any) -> None:
        weight, bias = self.weights(inputs[1]), self.weights(inputs[2])
        if op == "CONV_2D":  # out x kh x kw x in
            weight, group = weight.transpose(0, 3, 1, 2), 1
        else:  # 1 x kh x kw x out
            weight = weight.transpose(3, 0, 1, 2)
            group = weight.shape[0]
        height, width = self.subgraph.tensors[inputs[0]].shape[1:3]
        strides = (options.strideH, options.strideW)
        pads = same_padding((height, width), weight.shape[2:], strides)
        if options.padding == self.tflite.Padding.VALID:
            pads = [0, 0, 0, 0]
        name = self.name(output)
        layer = [self.name(inputs[0]), self.constant(f"{name}_weight", weight), self.constant(f"{name}_bias", bias)]
        shape = {"kernel_shape": list(weight.shape[2:]), "strides": list(strides), "pads": pads}
        convolved = self.node("Conv", layer, f"{name}_conv", group=group, **shape)
        self.activation(convolved, options.fusedActivationFunction, output)

    def activation(self, x: str, function: int, output: int) -> None:
        kinds = self.tflite.ActivationFunctionType
        if function == kinds.NONE:
            self.node("Identity", [x], self.name(output))
        elif function == kinds.RELU:
            self.node("Relu", [x], self.name(output))
        elif function == kinds.RELU6:
            low, high = self.constant(f"{x}_low", np.array(0, np.float32)), self.constant(f"{x}_high", np.array(6, np.float32))
            self.node("Clip", [x, low, high], self.name(output))
        else:
            raise ValueError(f"{MODEL}: activation {function} is not translated")


def same_padding(size: tuple[int, int], kernel: tuple[int, ...], strides: tuple[int, int]) -> list[int]:
    """TensorFlow's SAME padding as ONNX pads (top, left, bottom, right): the odd pixel at the end."""
    before, after = [], []
    for side, k, stride in zip(size, kernel, strides, strict=True):
        total = max((-(-side // stride) - 1) * stride + k - side, 0)
        before.append(total // 2)
        after.append(total - total // 2)
    return before + after


def densified(values: NDArray[Any], sparsity: Any, shape: tuple[int, ...]) -> NDArray[Any]:
    """The dense array of a sparse TFLite tensor stored as this model stores them: its last
    dimension compressed (CSR) under dense outer ones, in order, without blocks."""
    from mediapipe.tasks.metadata import schema_py_generated as tflite

    *outer, last = sparsity.dimMetadata
    if list(sparsity.traversalOrder) != list(range(len(shape))) or sparsity.blockMap is not None:
        raise ValueError(f"{MODEL}: a sparse tensor in an order or with blocks not expanded")
    if any(d.format != tflite.DimensionType.DENSE for d in outer) or last.format != tflite.DimensionType.SPARSE_CSR:
        raise ValueError(f"{MODEL}: a sparse tensor in a format not expanded")
    segments = np.asarray(last.arraySegments.values, np.int64)
    columns = np.asarray(last.arrayIndices.values, np.int64)
    rows = np.repeat(np.arange(len(segments) - 1), np.diff(segments))
    dense = np.zeros((len(segments) - 1, shape[-1]), values.dtype)
    dense[rows, columns] = values
    return dense.reshape(shape)
