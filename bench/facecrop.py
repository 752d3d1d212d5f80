"""facecrop2/200x200 on a ~12 MP JPEG against its floor: the bare Pillow draft decode it needs.

    .venv/bin/python bench/facecrop.py [--runs 60] [--size 200x200]

In-process (parse + run, caches off), so it measures the work, not HTTP. Prints medians and the
ratio of facecrop2 to the floor. For scale: thumbor 7.8 with its OpenCV face detector takes a
median 164 ms for /unsafe/200x200/smart/ on a 4000x3000 photo on the same machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import floor_decode, timed
from imgproxy.config import Settings
from imgproxy.faces.detect import detection_scale
from imgproxy.faces.finder import FaceFinder
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import run
from imgproxy.pipeline.values import Encoded
from imgproxy.samples import jpeg_bytes, large_photo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--size", default="200x200")
    args = parser.parse_args()

    data = jpeg_bytes(large_photo((4000, 3000)), quality=90)
    settings = Settings(cache_bytes=0)
    pipeline = parse_pipeline(f"facecrop2/{args.size}", settings.max_pipeline_ops)
    original = Encoded(data, "image/jpeg")

    def crop() -> None:
        run(pipeline, original, Context(settings, FaceFinder(0)))

    scale = detection_scale((4000, 3000))
    decoded = floor_decode(data, scale)
    crop_ms = timed(crop, args.runs)
    floor_ms = timed(lambda: floor_decode(data, scale), args.runs)
    full_ms = timed(lambda: floor_decode(data, 1.0), max(5, args.runs // 6))

    median_crop, median_floor = statistics.median(crop_ms), statistics.median(floor_ms)
    print(f"source: 4000x3000 JPEG, {len(data) / 1e6:.1f} MB; facecrop2 decodes at {decoded.width}x{decoded.height}")
    print(f"{'what':<34}{'median ms':>10}{'p90 ms':>9}")
    for name, values in (
        (f"facecrop2/{args.size}", crop_ms),
        ("floor: draft decode, same scale", floor_ms),
        ("full decode (for scale)", full_ms),
    ):
        print(f"{name:<34}{statistics.median(values):>10.1f}{statistics.quantiles(values, n=10)[-1]:>9.1f}")
    print(f"ratio facecrop2 / floor: {median_crop / median_floor:.2f}  (aim: <= 1.6 and < 30 ms)")


if __name__ == "__main__":
    main()
