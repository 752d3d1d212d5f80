"""onnxruntime sessions as the detectors run them: CPU only, threads that sleep, no arena."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
