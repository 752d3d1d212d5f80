"""MediaPipe's full-range face detector on two engines: MediaPipe's own FaceDetection graph (TFLite
with XNNPACK, one thread) and onnxruntime running the graph `imgproxy.faces.blazeface_net` builds
from the same model file (what the proxy runs).

    .venv/bin/python bench/blazeface_engines.py [--rounds 200]

For each photo, shrunk as the whole-image pass shrinks it (longer side 192), the median time of one
detection: the model with its letterbox, decoding and non-maximum suppression, each engine timed
once per round in alternation; and the ratio of the medians of the per-round pairs. Both answer the
same faces (`tests/test_blazeface_net.py`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eval_faces import packaged_detector
from bench.peers import PHOTOS
from bench.timing import alternated, command, paired_ratio
from imgproxy import memory
from imgproxy.faces import blazeface_net
from imgproxy.faces.detect import SCORE_FLOOR
from imgproxy.imaging.resize import model_input


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    memory.tune_allocator()
    print(f"command: {command()}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {args.rounds} rounds; ms are medians")
    print()
    print("| photo | model input | MediaPipe graph ms | onnxruntime ms | MediaPipe / onnxruntime |")
    print("|---|---|---:|---:|---:|")
    for name, make in PHOTOS.items():
        photo = make().convert("RGB")
        rgb = np.ascontiguousarray(model_input(photo, blazeface_net.input_size(photo.size)))
        calls: dict[str, Callable[[], object]] = {
            "mediapipe": lambda rgb=rgb: packaged_detector().process(rgb),
            "onnxruntime": lambda rgb=rgb: blazeface_net.relative_faces(rgb, SCORE_FLOOR),
        }
        times = alternated(calls, args.rounds)
        ratio = paired_ratio(times["mediapipe"], times["onnxruntime"])
        medians = " | ".join(f"{statistics.median(times[engine]):.2f}" for engine in calls)
        print(f"| {name} | {rgb.shape[1]}x{rgb.shape[0]} | {medians} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
