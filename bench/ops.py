"""imageView2/2/w/200 on a ~12 MP JPEG against its floor: the bare Pillow draft decode at the scale the op uses.

    .venv/bin/python bench/ops.py [--runs 60] [--op imageView2/2/w/200]

In-process (parse + run, caches off), so it measures the work, not HTTP: decode, resample, encode.
Prints medians and the ratio of the op to the floor. For scale: thumbor's plain /unsafe/200x200/
takes 111 ms on a 4000x3000 photo on the same machine.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import floor_decode, timed
from imgproxy.config import Settings
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.resize import Region, imageview2
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.imageview2 import ImageView2
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import run
from imgproxy.pipeline.values import Encoded
from imgproxy.samples import jpeg_bytes, large_photo

SIZE = (4000, 3000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--op", default="imageView2/2/w/200", help="an imageView2 op (its scale gives the floor)")
    args = parser.parse_args()

    data = jpeg_bytes(large_photo(SIZE), quality=90)
    settings = Settings(cache_bytes=0)
    pipeline = parse_pipeline(args.op, settings.max_pipeline_ops)
    op = pipeline.ops[0]
    assert isinstance(op, ImageView2), "--op must be an imageView2 op"
    scale = min(1.0, Region.of(SIZE, *imageview2(SIZE, op.mode, op.width, op.height)).scale)
    original = Encoded(data, "image/jpeg")

    def process() -> bytes:
        return run(pipeline, original, Context(settings, FaceFinder(0))).body

    out = Image.open(io.BytesIO(process()))
    decoded = floor_decode(data, scale)
    op_ms = timed(process, args.runs)
    floor_ms = timed(lambda: floor_decode(data, scale), args.runs)
    full_ms = timed(lambda: floor_decode(data, 1.0), max(5, args.runs // 6))

    print(
        f"source: {SIZE[0]}x{SIZE[1]} JPEG, {len(data) / 1e6:.1f} MB; {args.op} gives {out.width}x{out.height} "
        f"{out.format}, decoding at {decoded.width}x{decoded.height}"
    )
    print(f"{'what':<34}{'median ms':>10}{'p90 ms':>9}")
    for name, values in ((args.op, op_ms), ("floor: draft decode, same scale", floor_ms), ("full decode (for scale)", full_ms)):
        print(f"{name:<34}{statistics.median(values):>10.1f}{statistics.quantiles(values, n=10)[-1]:>9.1f}")
    print(f"ratio op / floor: {statistics.median(op_ms) / statistics.median(floor_ms):.2f}")


if __name__ == "__main__":
    main()
