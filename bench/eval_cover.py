"""What faceblur and facemosaic cover, by score threshold, on ../shared/data/faces-dev and on
scikit-image photos without people.

    .venv/bin/python bench/eval_cover.py [--data DIR] [--limit N] [--thresholds 0.35 0.45 ...] [--workers N]

Both ops find the faces of a still image with `imgproxy.pipeline.faceblur.still_faces`: upright faces
down to the narrowest the pass budget allows, plus the faces of a turned orientation whose best face
scores >= TURNED_SCORE, each kept when it scores >= `faceblur.MIN_SCORE`. For each threshold that
search runs on every photo of the labelled set and on the NO_PEOPLE photos of scikit-image, and what
the ops would cover, the full-strength head ellipses at the default pad of 1 (`cover.head_ellipse`;
the feather outside them is not counted), is scored:
- a labelled face at least MIN_WIDTH px wide is covered when >= COVERED of its inscribed ellipse lies
  inside the head ellipses;
- a false cover is a face found whose box overlaps no labelled box (some are faces nobody labelled);
- a photo without people is covered when any face is found on it.

Prints a markdown table (the one in the README, under faceblur; the ops' MIN_SCORE in bold) and the
false covers each face gained costs from one threshold to the next lower one.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eval_faces import SHARED
from bench.timing import command
from imgproxy.config import Settings
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.cover import head_ellipse
from imgproxy.pipeline import faceblur
from imgproxy.pipeline.context import Context, image_size
from imgproxy.pipeline.values import Encoded

THRESHOLDS = (0.35, 0.4, 0.45, 0.5, 0.6)
MIN_WIDTH = 20  # labelled faces narrower than this are not scored
COVERED = 0.95  # share of a labelled face's inscribed ellipse the covers must hold
# scikit-image's bundled photos with no person in them (astronaut, camera... have one).
NO_PEOPLE = (
    "coffee", "chelsea", "coins", "rocket", "horse", "page", "text", "moon", "hubble_deep_field",
    "immunohistochemistry", "retina", "brick", "grass", "gravel", "colorwheel", "logo", "clock", "cell",
)  # fmt: skip
SKIMAGE = "skimage:"  # prefix of a NO_PEOPLE photo's name

Rect = tuple[float, float, float, float]  # x, y, width, height
Found = list[tuple[Rect, int]]  # the faces still_faces found: box and clockwise turn


@dataclass
class Row:
    """One threshold's counts."""

    faces: int = 0  # labelled faces >= MIN_WIDTH
    covered: int = 0
    false_covers: int = 0
    photos_with_false: int = 0
    no_people_covered: int = 0


@contextmanager
def min_score(threshold: float) -> Iterator[None]:
    """`faceblur.MIN_SCORE` set to `threshold` within the block.

    A monkeypatch: still_faces takes no threshold, it reads this module constant when called. It is
    set only in this script's worker processes, around one call, and put back afterwards.
    """
    saved = faceblur.MIN_SCORE
    faceblur.MIN_SCORE = threshold
    try:
        yield
    finally:
        faceblur.MIN_SCORE = saved


def encoded(data_dir: Path, name: str) -> Encoded:
    """The photo `name` as the ops receive it: a file of the set, or a NO_PEOPLE photo as a PNG."""
    if not name.startswith(SKIMAGE):
        return Encoded((data_dir / name).read_bytes(), "image/jpeg")
    from skimage import data

    out = io.BytesIO()
    Image.fromarray(getattr(data, name.removeprefix(SKIMAGE))()).convert("RGB").save(out, "PNG")
    return Encoded(out.getvalue(), "image/png")


def search(job: tuple[Path, str, Sequence[float]]) -> tuple[str, tuple[int, int], dict[float, Found]]:
    """In a worker: the size of one photo and the faces still_faces finds on it at each threshold."""
    data_dir, name, thresholds = job
    state = encoded(data_dir, name)
    size = image_size(state, Context(Settings(), FaceFinder(0)), faceblur.NAME)
    found = {}
    for threshold in thresholds:
        ctx = Context(Settings(), FaceFinder(0))  # no cache: each threshold detects afresh
        with min_score(threshold):
            faces = faceblur.still_faces(state, ctx, size, faceblur.NAME)
        found[threshold] = [((box.x, box.y, box.w, box.h), turn) for box, turn in faces]
    return name, size, found


def coverage(size: tuple[int, int], faces: Found, boxes: Sequence[Rect]) -> list[float]:
    """For each labelled box, the share of its inscribed ellipse's pixels inside the full-strength
    head ellipses of `faces`, drawn as the ops draw them at the default pad."""
    mask = Image.new("1", size, 0)
    draw = ImageDraw.Draw(mask)
    for box, turn in faces:
        e = head_ellipse(box, faceblur.PAD, turn)
        draw.ellipse((e.cx - e.rx, e.cy - e.ry, e.cx + e.rx, e.cy + e.ry), fill=1)
    inside_covers = np.asarray(mask)
    shares = []
    for x, y, w, h in boxes:
        left, top = int(x), int(y)
        part = inside_covers[top : int(y + h), left : int(x + w)]
        rows, cols = np.mgrid[top : top + part.shape[0], left : left + part.shape[1]] + 0.5  # pixel centres
        in_face = ((cols - x - w / 2) / (w / 2)) ** 2 + ((rows - y - h / 2) / (h / 2)) ** 2 <= 1
        shares.append(float(part[in_face].mean()) if in_face.any() else 1.0)
    return shares


def overlaps(a: Rect, b: Rect) -> bool:
    return min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0]) and min(a[1] + a[3], b[1] + b[3]) > max(a[1], b[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "faces-dev", help="folder with annotations.json")
    parser.add_argument("--limit", type=int, help="only the first N labelled photos (a quick run)")
    parser.add_argument("--thresholds", type=float, nargs="+", default=THRESHOLDS, help="min scores to compare")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="processes (each loads the detector)")
    args = parser.parse_args()

    entries = json.loads((args.data / "annotations.json").read_text())[: args.limit]
    labels: dict[str, list[Rect]] = {entry["file"]: [tuple(box) for box in entry["boxes"]] for entry in entries}
    thresholds = sorted(args.thresholds)
    names = [*labels, *(SKIMAGE + name for name in NO_PEOPLE)]
    started = time.perf_counter()
    rows = {threshold: Row() for threshold in thresholds}
    with Pool(args.workers) as pool:
        jobs = [(args.data, name, thresholds) for name in names]
        for name, size, found in tqdm(
            pool.imap_unordered(search, jobs), total=len(jobs), desc="eval_cover", unit="photo", file=sys.stderr
        ):
            for threshold, faces in found.items():
                row = rows[threshold]
                if name.startswith(SKIMAGE):
                    row.no_people_covered += bool(faces)
                    continue
                boxes = labels[name]
                for box, share in zip(boxes, coverage(size, faces, boxes), strict=True):
                    if box[2] >= MIN_WIDTH:
                        row.faces += 1
                        row.covered += share >= COVERED
                false = [box for box, _ in faces if not any(overlaps(box, label) for label in boxes)]
                row.false_covers += len(false)
                row.photos_with_false += bool(false)
    minutes, seconds = divmod(round(time.perf_counter() - started), 60)

    labelled = rows[thresholds[0]].faces
    print(
        f"{len(labels)} photos in {args.data} with {labelled:,} labelled faces {MIN_WIDTH} px or wider, and "
        f"{len(NO_PEOPLE)} scikit-image photos without people; turned orientations from score "
        f"{faceblur.TURNED_SCORE}; {minutes}m{seconds:02d}s on {args.workers} workers; command: {command()}"
    )
    print(
        f"A face is covered when >= {COVERED:.0%} of its inscribed ellipse lies inside the head ellipses; "
        "a false cover overlaps no labelled box. Bold: the ops' MIN_SCORE."
    )
    print()
    print("| min score | faces covered | false covers (photos with one) | photos without people covered |")
    print("|---|---|---|---|")
    for threshold, row in rows.items():
        cells = [
            f"{threshold:.2f}",
            f"{row.covered / row.faces:.0%} ({row.covered:,})" if row.faces else "-",
            f"{row.false_covers:,} ({row.photos_with_false:,})",
            f"{row.no_people_covered} of {len(NO_PEOPLE)}",
        ]
        if threshold == faceblur.MIN_SCORE:
            cells = [f"**{cell}**" for cell in cells]
        print(f"| {' | '.join(cells)} |")
    print()
    for high, low in zip(thresholds[1:], thresholds, strict=False):
        gained = rows[low].covered - rows[high].covered
        cost = rows[low].false_covers - rows[high].false_covers
        each = f"{cost / gained:.1f} false covers each" if gained > 0 else "none gained"
        print(f"{high:.2f} -> {low:.2f}: {gained:+} faces covered, {cost:+} false covers ({each})")


if __name__ == "__main__":
    main()
