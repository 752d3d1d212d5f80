"""onnxruntime sessions as the detectors run them (CPU only, threads that sleep, no arena), the
pixels as their networks take them, and the probabilities their logits give."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from onnxruntime import InferenceSession


def new_session(model: bytes, threads: int) -> InferenceSession:
    """A session running the serialized ONNX `model` on `threads` threads. Sessions may be shared
    between threads: onnxruntime's `run` is safe to call concurrently."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Spinning threads make a lone run faster but gained nothing under load, and a spinning thread
    # takes the core from the request beside it.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # onnxruntime's arena would keep the peak of the largest run for the process's life (a 4000x3000
    # YuNet run left a worker at 590 MB instead of 126); its buffers come from glibc's heap instead,
    # which the worker trims when idle (`memory`).
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def planes(rgb: NDArray[np.uint8], height: int, width: int, top: int = 0, left: int = 0) -> NDArray[np.float32]:
    """`rgb` (H x W x 3 bytes) as the 1 x 3 x `height` x `width` float planes a network's first
    convolution takes, placed at (`left`, `top`) on zeros. numpy transposes and widens the bytes in
    one copy, faster than onnxruntime's own Cast and Transpose in the graph: YuNet on a 1280x960
    input, one thread, took 33.9 ms so against 37.0 (`bench/yunet_engines.py`)."""
    field = np.zeros((1, 3, height, width), np.float32)
    np.copyto(field[0, :, top : top + rgb.shape[0], left : left + rgb.shape[1]], rgb.transpose(2, 0, 1))
    return field


def sigmoid(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """The probabilities of `logits`, clipped to +-88 first, where float32's exp would overflow (1.0
    and 6e-39 there: MediaPipe's clip at +-100 gives the same)."""
    probabilities: NDArray[np.float32] = 1.0 / (1.0 + np.exp(-np.clip(logits, -88.0, 88.0)))
    return probabilities
