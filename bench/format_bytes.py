"""Bytes vs quality of the default answers: JPEG (q75, optimized tables), WebP, AVIF and HEIC (issue 14).

    .venv/bin/python bench/format_bytes.py [--data DIR] [--limit N] [--runs 3]

Two representative pipelines run in-process as the server runs them (parse_pipeline, run), on the
sample photos (imgproxy.samples) and on the photos of ../shared/data/faces-dev (read in place):
`imageView2/2/w/800` (photos narrower than 800 px skipped: every faces-dev photo is) and
`facecrop2/200x200` (photos it refuses skipped: no face, 422, or smaller than 200x200, 400).
Each answer is made five times from the same pixels, as the server writes it for a client whose
Accept chose a format (IMGPROXY_AUTO_WEBP/AVIF, `Context.auto_format`): as is (JPEG), WebP, AVIF,
HEIC (never chosen by Accept: browsers other than Safari cannot show it; `format/heic` asks for it)
and PNG, the lossless reference. For imageView2 that is byte for byte what `/format/webp` in the URL answers, and for
facecrop2 what `|imageView2/0/format/webp` answers (checked on every photo).

SSIM: each lossy answer decoded to RGB against the PNG answer's pixels (skimage, channel_axis=2,
data_range=255), so it scores the encoding alone, not the resize. Prints a markdown table per
pipeline and set: summed and median bytes, the summed bytes relative to JPEG's and the median of
the per-photo ratios, the median SSIM, and the median time of `encode` alone on the PNG-decoded
pixels at the answer's quality (the median of `--runs` per photo; noisy, a shared machine).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eval_faces import SHARED
from bench.timing import command
from imgproxy.config import Settings
from imgproxy.errors import ProxyError
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.decode import read_header
from imgproxy.imaging.encode import encode, jpeg_quality
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import Result, run
from imgproxy.pipeline.values import Encoded
from imgproxy.samples import sample_files

# (pipeline, the op chain spelling that names the format explicitly, the narrowest photo it takes)
PIPELINES = (
    ("imageView2/2/w/800", "imageView2/2/w/800/format/{}", 800),
    ("facecrop2/200x200", "facecrop2/200x200|imageView2/0/format/{}", 0),
)
FORMATS = {"JPEG": "jpg", "WEBP": "webp", "AVIF": "avif", "HEIF": "heic"}  # Pillow name: URL name
LABELS = {"JPEG": "JPEG q75 (as is)", "WEBP": "WebP", "AVIF": "AVIF (speed 9)", "HEIF": "HEIC (format/heic, x265 ultrafast)"}


@dataclass
class Tally:
    photos: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    bytes: dict[str, list[int]] = field(default_factory=lambda: {f: [] for f in [*FORMATS, "PNG"]})
    ssim: dict[str, list[float]] = field(default_factory=lambda: {f: [] for f in FORMATS})
    ms: dict[str, list[float]] = field(default_factory=lambda: {f: [] for f in FORMATS})


def answer(text: str, data: bytes, settings: Settings, finder: FaceFinder, auto_format: str | None) -> Result:
    return run(
        parse_pipeline(text, settings.max_pipeline_ops), Encoded(data, "image/jpeg"), Context(settings, finder, auto_format)
    )


def rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def encode_ms(image: Image.Image, format: str, quality: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        encode(image, format, quality)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(text: str, explicit: str, data: bytes, settings: Settings, finder: FaceFinder, runs: int, tally: Tally) -> None:
    """One photo's four answers of `text` into `tally`; nothing when `text` answers no image."""
    try:
        reference = answer(text, data, settings, finder, "PNG")
    except ProxyError as exc:  # no answer to measure
        if exc.status == 422:
            tally.skipped["no face (422)"] += 1
        elif "exceeds image size" in exc.message:
            tally.skipped["photo smaller than the crop (400)"] += 1
        else:
            raise
        return
    answers = {format: answer(text, data, settings, finder, format) for format in FORMATS}
    for format, name in FORMATS.items():
        spelled = answer(explicit.format(name), data, settings, finder, None)
        if spelled.body != answers[format].body:
            raise SystemExit(f"{explicit.format(name)} answers other bytes than {text} negotiated to {format}")
    pixels = rgb(reference.body)
    source = Image.open(io.BytesIO(reference.body))
    source.load()
    quality = jpeg_quality(answers["JPEG"].body)
    assert quality is not None
    # The timed encodings write the answers' pixels: the JPEG's bytes may differ only in markers
    # (the source's COM comment, which Pillow carries over).
    if not np.array_equal(rgb(encode(source, "JPEG", quality)), rgb(answers["JPEG"].body)):
        print(f"\nnote: the PNG pixels at q{quality} do not decode as the JPEG answer does", file=sys.stderr)
    tally.photos += 1
    tally.bytes["PNG"].append(len(reference.body))
    window = min(7, *pixels.shape[:2]) | 1  # skimage's default 7, odd and within a tiny crop
    for format, result in answers.items():
        tally.bytes[format].append(len(result.body))
        score = structural_similarity(pixels, rgb(result.body), channel_axis=2, data_range=255, win_size=window)
        tally.ssim[format].append(float(score))
        tally.ms[format].append(encode_ms(source, format, quality, runs))


def photos(data_dir: Path, limit: int | None) -> dict[str, dict[str, bytes]]:
    samples = dict(sample_files())
    files = sorted((data_dir / "images").iterdir()) if (data_dir / "images").is_dir() else []
    if limit is not None:
        samples = dict(list(samples.items())[:limit])
        files = files[:limit]
    return {"samples": samples, "faces-dev": {f.name: f.read_bytes() for f in files}}


def table(rows: dict[tuple[str, str], Tally]) -> None:
    columns = ("bytes, total", "bytes, median", "total vs JPEG", "ratio to JPEG, median", "SSIM, median", "encode ms (noisy)")
    print(f"| pipeline | photos | format | {' | '.join(columns)} |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for (text, set_name), tally in rows.items():
        if not tally.photos:
            print(f"| `{text}` | {set_name}: 0 | | | | | | | |")
            continue
        jpeg = tally.bytes["JPEG"]
        for format in [*FORMATS, "PNG"]:
            sizes = tally.bytes[format]
            ratios = [a / b for a, b in zip(sizes, jpeg, strict=True)]
            lossy = format in FORMATS
            print(
                f"| `{text}` | {set_name}: {tally.photos} | {LABELS.get(format, 'PNG (the reference)')} "
                f"| {sum(sizes):,} | {statistics.median(sizes):,.0f} | {sum(sizes) / sum(jpeg):.2f} "
                f"| {statistics.median(ratios):.2f} "
                f"| {f'{statistics.median(tally.ssim[format]):.4f}' if lossy else '1'} "
                f"| {f'{statistics.median(tally.ms[format]):.1f}' if lossy else ''} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "faces-dev", help="folder with images/")
    parser.add_argument("--limit", type=int, help="at most N photos of each set")
    parser.add_argument("--runs", type=int, default=3, help="encodings timed per photo and format")
    args = parser.parse_args()
    settings = Settings()
    finder = FaceFinder(0)
    sets = photos(args.data, args.limit)
    rows: dict[tuple[str, str], Tally] = {}
    for text, explicit, narrowest in PIPELINES:
        for set_name, files in sets.items():
            tally = rows.setdefault((text, set_name), Tally())
            for data in tqdm(files.values(), desc=f"{text} {set_name}", file=sys.stderr):
                if read_header(data, settings.max_source_pixels).size[0] < narrowest:  # as displayed
                    tally.skipped[f"narrower than {narrowest} px"] += 1
                    continue
                measure(text, explicit, data, settings, finder, args.runs, tally)
    print(command())
    print()
    table(rows)
    print()
    for (text, set_name), tally in rows.items():
        if tally.skipped:
            skipped = ", ".join(f"{count} {why}" for why, count in tally.skipped.most_common())
            print(f"- `{text}` on {set_name}: skipped {skipped}")


if __name__ == "__main__":
    main()
