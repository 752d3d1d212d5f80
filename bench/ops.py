"""imageView2/2/w/200 on a ~12 MP JPEG against its floor (the bare Pillow draft decode at the scale
the op uses) and against libvips doing the same.

    .venv/bin/python bench/ops.py [--runs 60] [--op imageView2/2/w/200]

In-process (parse + run, caches off), so it measures the work, not HTTP: decode, resample, encode.
Prints medians and the ratio of the op to the floor. With pyvips installed (the `bench` extra),
it then times the op and libvips in alternation: `thumbnail_buffer` to the size the op gives
(shrink-on-load included; `crop="centre"` when the mode crops), and a JPEG at Q75, on one thread
with no cache, as the Go imgproxy runs libvips; the ratio is the median of the per-round ratios.
For scale: thumbor's plain /unsafe/200x200/ takes 111 ms on a 4000x3000 photo on the same machine.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peers import load_pyvips
from bench.timing import alternated, floor_decode, paired_ratio, timed
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

    pyvips = load_pyvips()
    if isinstance(pyvips, str):
        print(f"libvips skipped: {pyvips}")
        return
    resized, crop = imageview2(SIZE, op.mode, op.width, op.height)

    def libvips() -> bytes:
        if crop is None:
            image = pyvips.Image.thumbnail_buffer(data, resized[0], height=resized[1])
        else:
            image = pyvips.Image.thumbnail_buffer(data, crop[2] - crop[0], height=crop[3] - crop[1], crop="centre")
        return bytes(image.jpegsave_buffer(Q=75))

    times = alternated({"this": process, "libvips": libvips}, args.runs)
    print(
        f"libvips ({pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}) the same, alternating: "
        f"this {statistics.median(times['this']):.1f} ms, libvips {statistics.median(times['libvips']):.1f} ms, "
        f"this/libvips {paired_ratio(times['this'], times['libvips']):.2f}"
    )


if __name__ == "__main__":
    main()
