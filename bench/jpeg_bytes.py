"""JPEG answers with and without optimized Huffman tables: bytes and encoding time, per pipeline.

    .venv/bin/python bench/jpeg_bytes.py [--runs 15]

Each pipeline runs in-process on every sample photo (imgproxy.samples) up to the pixels it would
answer; those pixels are then written the way `encode` writes a JPEG (its quality, progressive
flag and colour profile), once as before issue 14 (`optimize=False`) and once as now. Prints, per
pipeline, the summed bytes of the photos' answers and the median encoding time summed over them.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imgproxy.config import Settings
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.decode import as_rgb
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.values import Encoded, Raster, State
from imgproxy.samples import sample_files

PIPELINES = ("facecrop2/200x200", "imageView2/2/w/800", "imageView2/2/w/800/q/10!", "imageMogr2/quality/75!")


def raster_of(text: str, data: bytes, settings: Settings) -> Raster | None:
    """The pixels `text` would answer for `data`, or None when it answers no image (no face)."""
    ctx = Context(settings, FaceFinder(0))
    state: State = Encoded(data, "image/jpeg")
    for op in parse_pipeline(text, settings.max_pipeline_ops).ops:
        try:
            state = op.apply(state, ctx)
        except Exception:  # facecrop2 without a face: that photo has no answer to measure
            return None
    return state if isinstance(state, Raster) else None


def write(raster: Raster, optimize: bool) -> bytes:
    out = io.BytesIO()
    as_rgb(raster.image).save(
        out,
        "JPEG",
        quality=raster.quality,
        progressive=raster.progressive,
        optimize=optimize,
        icc_profile=raster.image.info.get("icc_profile"),
    )
    return out.getvalue()


def median_ms(raster: Raster, optimize: bool, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        write(raster, optimize)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    settings = Settings(cache_bytes=0)
    samples = sample_files()
    print("| pipeline | photos | bytes before | bytes after | change | encode ms before | encode ms after | change |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for text in PIPELINES:
        rasters = [r for data in samples.values() if (r := raster_of(text, data, settings)) is not None]
        before = sum(len(write(r, False)) for r in rasters)
        after = sum(len(write(r, True)) for r in rasters)
        ms_before = sum(median_ms(r, False, args.runs) for r in rasters)
        ms_after = sum(median_ms(r, True, args.runs) for r in rasters)
        print(
            f"| `{text}` | {len(rasters)} | {before:,} | {after:,} | {(after / before - 1) * 100:+.1f}% "
            f"| {ms_before:.1f} | {ms_after:.1f} | {(ms_after / ms_before - 1) * 100:+.1f}% |"
        )


if __name__ == "__main__":
    main()
