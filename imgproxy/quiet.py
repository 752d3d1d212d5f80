"""Keeps the start-up chatter of MediaPipe and TensorFlow Lite off the terminal.

Each detector and mesh graph, on its first image, prints lines like

    INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    W0000 00:00:1796246517.284477    4572 inference_feedback_manager.cc:114] Feedback manager ...

from C++, straight to file descriptor 2, on the graph's own threads. MediaPipe 0.10.21 logs
through absl without ever calling absl::InitializeLog(), so everything goes to stderr; neither it
nor TensorFlow Lite's own logger reads GLOG_minloglevel or TF_CPP_MIN_LOG_LEVEL, and neither
exposes its level to Python. What is left is the descriptor: `filter_native_stderr` points fd 2 at
a pipe whose reader thread drops those lines and passes every other one on, while Python's
`sys.stderr` (tracebacks, logging, warnings, progress bars) writes to the real stderr directly.
"""

from __future__ import annotations

import atexit
import faulthandler
import os
import re
import sys
import threading

# absl's INFO and WARNING lines (E and F still pass: absl itself prints those once initialised),
# absl's notice that it was never initialised, and TensorFlow Lite's INFO lines.
CHATTER = re.compile(
    rb"[IW]\d{4} [\d:.]+ +\d+ [^ \]]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|INFO: .*TensorFlow Lite"
)
# How long the exit waits for the reader to pass on what is still in the pipe.
DRAIN_SECONDS = 2.0

_installed = False


def filter_native_stderr() -> None:
    """Sends what native code writes to fd 2 through the CHATTER filter, for the rest of the
    process and for the processes it starts (uvicorn's workers inherit fd 2). Once per process;
    nothing happens when there is no fd 2 to filter."""
    global _installed
    if _installed:
        return
    try:
        direct = os.dup(2)
    except OSError:
        return
    _installed = True
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    # Line-buffered, as Python's own stderr is; open for the life of the process, like the one it replaces.
    sys.stderr = open(direct, "w", buffering=1, encoding=sys.stderr.encoding, errors="backslashreplace", closefd=False)  # noqa: SIM115
    # A native crash can kill the reader before it passes the crash's own message on: Python's
    # report of the crash then still reaches the terminal.
    faulthandler.enable(sys.stderr)
    reader = threading.Thread(target=_pass_on, args=(read_end, direct), name="imgproxy-native-stderr", daemon=True)
    reader.start()

    def drain() -> None:
        # fd 2 back on the real stderr closes this process's end of the pipe: the reader passes
        # on what is left and stops once the processes it started have exited too.
        os.dup2(direct, 2)
        reader.join(DRAIN_SECONDS)

    atexit.register(drain)


def _pass_on(source: int, target: int) -> None:
    with open(source, "rb") as lines, open(target, "wb", closefd=False) as out:
        for line in lines:
            if not CHATTER.match(line):
                out.write(line)
                out.flush()
