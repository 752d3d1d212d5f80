"""Do face crops keep the face? facecrop2 on the labelled photos of ../shared/data/faces-dev.

    .venv/bin/python bench/crop_eval.py [--data DIR] [--seed 12] [--limit N]

For each photo with a labelled face: its largest labelled face (by area) and a target of a random
aspect (seeded per photo: an aspect from ASPECTS, the shorter side from SHORT_SIDES px, scaled down
to fit the photo). facecrop2/<W>x<H> runs in-process as the server runs it (parse_pipeline, run,
debug headers on), with the default options and with each `faces`, `pad` and `fallback` variant in
MODES; the window is read from X-Crop-Box. A crop "holds" the face when its window covers >= 90%
of the face box's area. Two fallback-free baselines get the same score: the centre crop (the
largest window of the aspect, centred) and the `attention` saliency window alone (that size too).

Prints markdown tables: per mode, the share of photos holding the largest face, answered "no face"
(422), landing on another labelled face instead (holds >= 90% of one, < 90% of the largest) or
elsewhere, and the ceiling (photos where any window of the aspect can hold the face); per width
band of the largest face, for the default and the baselines; then the files where the default lands
on another face, elsewhere or finds none, to look at, and each mode's X-Crop-Reason counts.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eval_faces import SHARED
from bench.timing import command
from imgproxy.config import Settings
from imgproxy.errors import ProxyError
from imgproxy.faces.box import Box
from imgproxy.faces.crop import centred_window, largest_window
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.decode import decode
from imgproxy.imaging.saliency import MAP_SIDE, attention_window
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import run
from imgproxy.pipeline.values import Encoded

ASPECTS = ((1, 1), (4, 3), (3, 4), (16, 9), (9, 16), (2, 1))
SHORT_SIDES = (64, 128)  # inclusive range of the target's shorter side, in px
HOLDS = 0.9
MODES = {
    "default": "",
    "faces/largest": "/faces/largest",
    "faces/all": "/faces/all",
    "faces/1": "/faces/1",
    "pad/0.5": "/pad/0.5",
    "pad/2": "/pad/2",
    "fallback/attention": "/fallback/attention",
}
BASELINES = ("centre crop", "attention window alone")
BANDS = (("under 20 px", 0, 20), ("20-40 px", 20, 40), ("40-80 px", 40, 80), ("80+ px", 80, 10**9))
# What became of one crop: it holds the largest face, holds another labelled face instead, holds
# neither, or there was no crop (422: no face found; "error" for any other refusal).
OUTCOMES = ("holds", "no face", "other face", "elsewhere", "error")


@dataclass(frozen=True)
class Photo:
    file: str
    size: tuple[int, int]
    faces: list[Box]  # labelled, clipped to the image, largest first


def load_photos(data: Path) -> list[Photo]:
    """The photos of annotations.json (the format eval_faces.py reads) with at least one labelled face."""
    photos = []
    for entry in json.loads((data / "annotations.json").read_text()):
        size = (entry["width"], entry["height"])
        faces = sorted((Box(*box).clipped(size) for box in entry["boxes"]), key=lambda b: b.area, reverse=True)
        if faces and faces[0].area > 0:
            photos.append(Photo(entry["file"], size, faces))
    return photos


def target_for(photo: Photo, seed: int) -> tuple[int, int]:
    """A random target (w, h) for `photo`: reproducible per file, whatever else is run."""
    rng = random.Random(f"{seed}:{photo.file}")
    aw, ah = rng.choice(ASPECTS)
    short = rng.randint(*SHORT_SIDES)
    w, h = (short * aw / ah, short) if aw >= ah else (short, short * ah / aw)
    shrink = min(1.0, photo.size[0] / w, photo.size[1] / h)
    return max(1, int(w * shrink)), max(1, int(h * shrink))


def covered(face: Box, window: Box) -> float:
    """The share of `face`'s area inside `window`."""
    w = min(face.right, window.right) - max(face.x, window.x)
    h = min(face.bottom, window.bottom) - max(face.y, window.y)
    return max(0.0, w) * max(0.0, h) / face.area


def outcome(photo: Photo, window: Box) -> str:
    if covered(photo.faces[0], window) >= HOLDS:
        return "holds"
    if any(face.area > 0 and covered(face, window) >= HOLDS for face in photo.faces[1:]):
        return "other face"
    return "elsewhere"


def crop_window(
    data: bytes, target: tuple[int, int], options: str, settings: Settings, finder: FaceFinder
) -> tuple[Box | None, str]:
    """The window facecrop2 cuts (X-Crop-Box) and why (X-Crop-Reason: faces, attention...), or no
    window and "no face" (422) or "error" (another refusal)."""
    pipeline = parse_pipeline(f"facecrop2/{target[0]}x{target[1]}{options}", settings.max_pipeline_ops)
    try:
        result = run(pipeline, Encoded(data, "image/jpeg"), Context(settings, finder))
    except ProxyError as exc:
        return None, "no face" if exc.status == 422 else "error"
    return Box(*(float(v) for v in result.headers["X-Crop-Box"].split(","))), result.headers["X-Crop-Reason"]


def baselines(data: bytes, size: tuple[int, int], target: tuple[int, int], settings: Settings) -> dict[str, Box]:
    """The windows of the two crops users would pick instead of a face crop, at the largest size."""
    centred = centred_window(size, target)
    # Decoded as the attention fallback decodes it: about MAP_SIDE on the longer side.
    decoded = decode(data, settings.max_source_pixels, min(1.0, MAP_SIDE / max(size)))
    x, y = attention_window(decoded.image, size, (round(centred.w), round(centred.h)))
    return {"centre crop": centred, "attention window alone": Box(x, y, centred.w, centred.h)}


def ceiling(photo: Photo, target: tuple[int, int]) -> bool:
    """Whether any window of the target's aspect can hold the largest face: the largest one can
    when it is wide and tall enough (a portrait face in a 2:1 crop of a portrait photo may not fit)."""
    w, h = largest_window(photo.size, target)
    face = photo.faces[0]
    return min(1.0, w / face.w) * min(1.0, h / face.h) >= HOLDS


def share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "faces-dev", help="folder with annotations.json")
    parser.add_argument("--seed", type=int, default=12, help="seed of the random targets")
    parser.add_argument("--limit", type=int, help="only the first N photos with a labelled face (a quick run)")
    parser.add_argument("--show", type=int, default=15, help="how many files to list per kind of miss")
    args = parser.parse_args()

    photos = load_photos(args.data)[: args.limit]
    settings = Settings(debug_headers=True)
    names = [*MODES, *BASELINES]
    results: dict[str, list[str]] = {name: [] for name in [*names, "ceiling"]}
    reasons: dict[str, Counter[str]] = {name: Counter() for name in MODES}  # X-Crop-Reason, or the refusal
    fallbacks: dict[str, list[str]] = {name: [] for name in MODES}  # outcomes of the crops placed without a face
    aspects: Counter[str] = Counter()
    for photo in tqdm(photos, desc="crop_eval", unit="photo", file=sys.stderr):
        data = (args.data / photo.file).read_bytes()
        target = target_for(photo, args.seed)
        aspects[f"{target[0]}x{target[1]}"] += 1
        finder = FaceFinder(256)  # shared by the modes: one detection per photo and set of detection options
        for name, options in MODES.items():
            window, reason = crop_window(data, target, options, settings, finder)
            results[name].append(reason if window is None else outcome(photo, window))
            reasons[name][reason] += 1
            if window is not None and reason != "faces":
                fallbacks[name].append(results[name][-1])
        for name, window in baselines(data, photo.size, target, settings).items():
            results[name].append(outcome(photo, window))
        results["ceiling"].append("holds" if ceiling(photo, target) else "elsewhere")

    total = len(photos)
    widths = [photo.faces[0].w for photo in photos]
    print(f"{total} photos with a labelled face in {args.data}; command: {command()}")
    print(
        f"targets: aspect drawn from {', '.join(f'{w}:{h}' for w, h in ASPECTS)}, shorter side from "
        f"{SHORT_SIDES[0]}-{SHORT_SIDES[1]} px (scaled down to fit), seeded per file with --seed {args.seed}; "
        f"{len(aspects)} distinct sizes. 'Holds': the window covers >= {HOLDS:.0%} of the largest labelled face's area."
    )
    print()
    print("| crop | holds the largest face | no face (422) | on another face instead | elsewhere |")
    print("|---|---|---|---|---|")
    for name in names:
        counts = Counter(results[name])
        label = f"`facecrop2/WxH{MODES[name]}`" if name in MODES else name + " (no detection)"
        if name == "default":
            label += " (default)"
        print(
            f"| {label} | {share(counts['holds'], total)} | {share(counts['no face'], total)} | "
            f"{share(counts['other face'], total)} | {share(counts['elsewhere'], total)} |"
        )
    print(f"| ceiling: the best window of the aspect | {share(Counter(results['ceiling'])['holds'], total)} | | | |")
    errors = {name: Counter(results[name])["error"] for name in MODES if Counter(results[name])["error"]}
    if errors:
        print(f"\nother refusals (not 422), counted in no column: {errors}")

    print()
    print("| largest face | photos | default holds | default: no face | centre crop holds | attention alone holds |")
    print("|---|---|---|---|---|---|")
    for band, low, high in BANDS:
        rows = [i for i, width in enumerate(widths) if low <= width < high]
        counts = {name: Counter(results[name][i] for i in rows) for name in ("default", *BASELINES)}
        print(
            f"| {band} wide | {len(rows)} | {share(counts['default']['holds'], len(rows))} | "
            f"{share(counts['default']['no face'], len(rows))} | {share(counts['centre crop']['holds'], len(rows))} | "
            f"{share(counts['attention window alone']['holds'], len(rows))} |"
        )

    for kind in ("other face", "elsewhere", "no face"):
        files = [photo for photo, result in zip(photos, results["default"], strict=True) if result == kind]
        shown = ", ".join(
            f"{Path(p.file).name} ({target_for(p, args.seed)[0]}x{target_for(p, args.seed)[1]}, face {p.faces[0].w:.0f} px)"
            for p in files[: args.show]
        )
        print(f"\ndefault, {kind} ({len(files)}): {shown}{' ...' if len(files) > args.show else ''}")
    print()
    for name in MODES:
        placed = Counter(fallbacks[name])
        tail = f"; of the {sum(placed.values())} fallback crops {placed['holds']} hold the face" if placed else ""
        print(f"{name}: X-Crop-Reason {dict(reasons[name].most_common())}{tail}")


if __name__ == "__main__":
    main()
