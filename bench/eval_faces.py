"""Face-detection quality and speed on a labelled set (default ../shared/data/faces-dev).

    .venv/bin/python bench/eval_faces.py [--data DIR] [--out DIR]

Runs three detectors over every image and scores each with ../shared/eval/score_faces.py:
- "mediapipe one pass": MediaPipe's packaged full-range solution over the whole image, as the
  proxy did before the core (its graph keeps a score threshold of 0.6);
- "one pass, floor": one pass of the core's own graph over the whole image, reporting down to
  the core's score floor, to tell the floor's gain from the passes' gain;
- "core": the detection core as the proxy runs it (shrink-on-load decode, plan of passes, merge).
Each row gives AP, recall at 30 false positives and the median time per image, JPEG decode
included. Predictions are written in the scorer's format; the scorer's JSON is printed too.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from imgproxy.faces.box import Box
from imgproxy.faces.detect import SCORE_FLOOR, DetectOptions, Face, Pass, detection_scale, run_pass
from imgproxy.faces.finder import find_in
from imgproxy.imaging.decode import as_rgb, decode, read_header

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MAX_PIXELS = 10**9
# AP ranks every detection by score, so the core reports all it finds down to its floor.
OPTIONS = DetectOptions(min_score=SCORE_FLOOR)


@functools.cache
def packaged_detector():  # -> mediapipe FaceDetection, as the README's reference figures ran it
    from mediapipe.python.solutions.face_detection import FaceDetection

    return FaceDetection(model_selection=1, min_detection_confidence=0.3)


def packaged_pass(data: bytes) -> list[Face]:
    image = as_rgb(decode(data, MAX_PIXELS).image)
    faces = []
    for detection in packaged_detector().process(np.asarray(image)).detections or ():
        rel = detection.location_data.relative_bounding_box
        box = Box(rel.xmin * image.width, rel.ymin * image.height, rel.width * image.width, rel.height * image.height)
        faces.append(Face(box.clipped(image.size), float(detection.score[0])))
    return faces


def floor_pass(data: bytes) -> list[Face]:
    image = as_rgb(decode(data, MAX_PIXELS).image)
    return [candidate.face for candidate in run_pass(image, Pass(Box(0, 0, image.width, image.height), 0.0, math.inf))]


def core(data: bytes) -> list[Face]:
    decoded = decode(data, MAX_PIXELS, detection_scale(read_header(data, MAX_PIXELS).size))
    return find_in(decoded, OPTIONS).faces


DETECTORS: dict[str, Callable[[bytes], list[Face]]] = {
    "mediapipe one pass": packaged_pass,
    "one pass, floor": floor_pass,
    "core": core,
}


def predict(name: str, run: Callable[[bytes], list[Face]], data: Path, files: list[str]) -> tuple[list[dict], float]:
    """Predictions for `files` and the median milliseconds `run` took per image."""
    predictions, times = [], []
    for i, file in enumerate(files, 1):
        body = (data / file).read_bytes()
        started = time.perf_counter()
        faces = run(body)
        times.append((time.perf_counter() - started) * 1000)
        predictions.append({"file": file, "boxes": [[*f.box.rounded(), round(f.score, 4)] for f in faces]})
        print(f"\r{name}: {i}/{len(files)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return predictions, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "faces-dev", help="folder with annotations.json")
    parser.add_argument("--scorer", type=Path, default=SHARED / "eval" / "score_faces.py")
    parser.add_argument("--out", type=Path, help="keep the predictions here (default: a temporary folder)")
    args = parser.parse_args()

    annotations = args.data / "annotations.json"
    files = [entry["file"] for entry in json.loads(annotations.read_text())]
    out = args.out or Path(tempfile.mkdtemp(prefix="eval_faces-"))
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, run in DETECTORS.items():
        predictions, median_ms = predict(name, run, args.data, files)
        path = out / (name.replace(" ", "_").replace(",", "") + ".json")
        path.write_text(json.dumps(predictions))
        scorer = [sys.executable, str(args.scorer), str(annotations), str(path)]
        scored = subprocess.run(scorer, check=True, capture_output=True, text=True).stdout.strip()
        rows.append((name, json.loads(scored), median_ms, scored))

    print(f"{len(files)} images in {args.data}; predictions in {out}; core score floor {SCORE_FLOOR}")
    print("| detector | AP | recall@30fp | median ms/image |\n|---|---|---|---|")
    for name, result, median_ms, _ in rows:
        print(f"| {name} | {result['ap']:.3f} | {result['recall@30fp']:.3f} | {median_ms:.1f} |")
    for name, _, _, scored in rows:
        print(f"{name}: {scored}")


if __name__ == "__main__":
    main()
