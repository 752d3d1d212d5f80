"""Face-detection quality and speed on a labelled set (default ../shared/data/faces-dev).

    .venv/bin/python bench/eval_faces.py [--data DIR] [--out DIR]

Runs four detectors over every image and scores each with ../shared/eval/score_faces.py:
- "mediapipe one pass": MediaPipe's packaged full-range solution over the whole image, as the
  proxy did before the core (its graph keeps a score threshold of 0.6);
- "one pass, floor": the core's MediaPipe pass over the whole image, reporting down to the
  core's score floor, to tell the floor's gain from the fine search's;
- "yunet one pass": the core's fine search alone, YuNet over the image at its own size (boxes and
  scores already in MediaPipe's style and scale);
- "core": the detection core as the proxy runs it (shrink-on-load decode, MediaPipe's pass,
  YuNet's fine search, merge).
Each row gives AP, recall at 30 false positives and the median time per image, JPEG decode
included. Predictions are written in the scorer's format; the scorer's JSON is printed too.

Then, for the core, what an op answers at a fixed threshold (issue 13): the facedetect op's default
(`DetectOptions().min_score`, what `GET ?facedetect` answers) and facecrop2's (`framing.MIN_SCORE`).
Filtering the floor's detections by score is what the op does: without `min_face_ratio` its passes
do not depend on the faces found, and it thresholds after merging. Two tables: recall by labelled
face width (faces under 20 px included, which the scorer ignores), and overall recall and
precision as the scorer counts them (IoU >= 0.4; detections of faces under 20 px count neither way).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
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
from tqdm import tqdm

from imgproxy.faces import yunet
from imgproxy.faces.box import Box
from imgproxy.faces.detect import SCORE_FLOOR, DetectOptions, Face, detection_scale, whole_pass
from imgproxy.faces.finder import find_in
from imgproxy.imaging.decode import as_rgb, decode, read_header
from imgproxy.pipeline.framing import MIN_SCORE as CROP_MIN_SCORE

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MAX_PIXELS = 10**9
# AP ranks every detection by score, so the core reports all it finds down to its floor.
OPTIONS = DetectOptions(min_score=SCORE_FLOOR)
# The operating points reported for the core: what each op answers.
THRESHOLDS = {"facedetect default": DetectOptions().min_score, "facecrop2": CROP_MIN_SCORE}
# The scorer's defaults (its --iou and --min-face), as in the data set's README.
IOU = 0.4
MIN_FACE = 20
# Labelled face width bands, px: [low, high).
BANDS = [("under 20 px", 0, 20), ("20-40 px", 20, 40), ("40-80 px", 40, 80), ("80+ px", 80, math.inf)]


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
    return whole_pass(image)


def yunet_pass(data: bytes) -> list[Face]:
    image = as_rgb(decode(data, MAX_PIXELS).image)
    return [Face(box, score, points) for box, score, points in yunet.find(image, 1.0)]


def core(data: bytes) -> list[Face]:
    decoded = decode(data, MAX_PIXELS, detection_scale(read_header(data, MAX_PIXELS).size))
    return find_in(decoded, OPTIONS).faces


DETECTORS: dict[str, Callable[[bytes], list[Face]]] = {
    "mediapipe one pass": packaged_pass,
    "one pass, floor": floor_pass,
    "yunet one pass": yunet_pass,
    "core": core,
}


def predict(name: str, run: Callable[[bytes], list[Face]], data: Path, files: list[str]) -> tuple[list[dict], float]:
    """Predictions for `files` and the median milliseconds `run` took per image."""
    predictions, times = [], []
    for file in tqdm(files, desc=name, unit="image", file=sys.stderr):
        body = (data / file).read_bytes()
        started = time.perf_counter()
        faces = run(body)
        times.append((time.perf_counter() - started) * 1000)
        predictions.append({"file": file, "boxes": [[*f.box.rounded(), round(f.score, 4)] for f in faces]})
    return predictions, statistics.median(times)


def load_scorer(path: Path):  # -> the score_faces module, for its `score` and `iou`
    spec = importlib.util.spec_from_file_location("score_faces", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def matched_faces(scorer, gt: list[dict], predictions: list[dict]) -> list[list[bool]]:
    """For each image of `gt`, which labelled faces (of any width) a detection matched.

    The scorer's greedy rule, re-implemented because its `score` does not say which face a
    detection matched: detections by falling score each take the unmatched face of highest IoU
    with them, when that IoU is >= IOU. `operating_points` checks the count against `score`.
    """
    boxes = {p["file"]: p["boxes"] for p in predictions}
    out = []
    for entry in gt:
        faces = entry["boxes"]
        used = [False] * len(faces)
        for detection in sorted(boxes.get(entry["file"], []), key=lambda d: -d[4]):
            ious = [0.0 if used[i] else scorer.iou(detection, face) for i, face in enumerate(faces)]
            best = max(range(len(faces)), key=ious.__getitem__, default=None)
            if best is not None and ious[best] >= IOU:
                used[best] = True
        out.append(used)
    return out


def operating_points(scorer, gt: list[dict], predictions: list[dict]) -> None:
    """Print the core's recall by face width and its recall and precision at each of THRESHOLDS."""
    widths = [face[2] for entry in gt for face in entry["boxes"]]
    bands, overall = {}, []
    for name, threshold in THRESHOLDS.items():
        kept = [{"file": p["file"], "boxes": [b for b in p["boxes"] if b[4] >= threshold]} for p in predictions]
        found = [hit for used in matched_faces(scorer, gt, kept) for hit in used]
        all_faces = scorer.score(gt, kept, IOU, 0)  # every labelled face counts
        assert round(all_faces["recall_all"] * all_faces["faces"]) == sum(found), "matching differs from the scorer's"
        bands[name] = [
            (sum(hit for hit, w in zip(found, widths, strict=True) if low <= w < high), sum(low <= w < high for w in widths))
            for _, low, high in BANDS
        ]
        scored = scorer.score(gt, kept, IOU, MIN_FACE)  # the scorer's own rule
        true = round(scored["recall_all"] * scored["faces"])
        detections = sum(len(p["boxes"]) for p in kept)
        precision = true / (true + scored["fp_all"]) if true + scored["fp_all"] else 0.0
        overall.append((name, threshold, detections, true, scored["fp_all"], scored["recall_all"], precision))

    print(f"\ncore, recall by labelled face width (IoU >= {IOU}, every labelled face counted)")
    header = " | ".join(f"recall, {name} (score >= {threshold:g})" for name, threshold in THRESHOLDS.items())
    print(f"| face width | labelled faces | {header} |\n|---|---:|" + "---:|" * len(THRESHOLDS))
    for i, (label, _, _) in enumerate(BANDS):
        count = bands[next(iter(THRESHOLDS))][i][1]
        cells = " | ".join(f"{bands[name][i][0] / count:.3f} ({bands[name][i][0]})" for name in THRESHOLDS)
        print(f"| {label} | {count:,} | {cells} |")

    print(f"\ncore, overall at each threshold (the scorer's rule: faces {MIN_FACE}+ px, IoU >= {IOU})")
    print("| threshold | detections | true | false | recall | precision |\n|---|---:|---:|---:|---:|---:|")
    for name, threshold, detections, true, false, recall, precision in overall:
        print(f"| {name}, score >= {threshold:g} | {detections:,} | {true:,} | {false:,} | {recall:.3f} | {precision:.3f} |")


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
    rows, core_predictions = [], []
    for name, run in DETECTORS.items():
        predictions, median_ms = predict(name, run, args.data, files)
        path = out / (name.replace(" ", "_").replace(",", "") + ".json")
        path.write_text(json.dumps(predictions))
        if run is core:
            core_predictions = predictions
        scorer = [sys.executable, str(args.scorer), str(annotations), str(path)]
        scored = subprocess.run(scorer, check=True, capture_output=True, text=True).stdout.strip()
        rows.append((name, json.loads(scored), median_ms, scored))

    print(f"{len(files)} images in {args.data}; predictions in {out}; core score floor {SCORE_FLOOR}")
    print("| detector | AP | recall@30fp | median ms/image |\n|---|---|---|---|")
    for name, result, median_ms, _ in rows:
        print(f"| {name} | {result['ap']:.3f} | {result['recall@30fp']:.3f} | {median_ms:.1f} |")
    for name, _, _, scored in rows:
        print(f"{name}: {scored}")
    operating_points(load_scorer(args.scorer), json.loads(annotations.read_text()), core_predictions)


if __name__ == "__main__":
    main()
