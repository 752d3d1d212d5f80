"""YuNet's network on two engines: yuface's own compiled one and onnxruntime running the graph
`imgproxy.faces.yunet_net` builds from yuface's weights (what the proxy runs).

    .venv/bin/python bench/yunet_engines.py [--rounds 30]

For each input size, the median time of one run on a photo-like image (Grace Hopper pasted on a
grainy background), each engine timed once per round in alternation, and the ratio of the medians
of the per-round pairs. onnxruntime is timed on one thread and on THREADS, as the proxy sets them
up (threads that sleep while waiting, glibc's allocator tuned as a worker tunes it); the proxy
takes one thread for inputs under PARALLEL_PIXELS. Its time includes making the float planes it
takes from the image's bytes, which yuface reads as they are.
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

from yuface.yuface import detect as yuface_detect

from bench.timing import alternated, paired_ratio
from imgproxy import memory
from imgproxy.faces import yunet_net
from imgproxy.faces.onnx_session import planes
from imgproxy.samples import background, grace_hopper, place, with_grain

SIZES = [(320, 240), (384, 288), (640, 480), (1280, 960)]


def photo(size: tuple[int, int]) -> np.ndarray:
    canvas = place(background(size, seed=3), grace_hopper(), size[0] // 4, (size[0] // 3, size[1] // 5))
    return np.asarray(with_grain(canvas))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    memory.tune_allocator()
    engines = {f"onnxruntime, {n} thread{'s' * (n > 1)}": yunet_net.session(n) for n in (1, yunet_net.THREADS)}
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {args.rounds} rounds; ms are medians")
    print()
    print(
        "| input | yuface ms | "
        + " | ".join(f"{name} ms" for name in engines)
        + " | yuface / "
        + " | yuface / ".join(engines)
        + " |"
    )
    print("|---|---:|" + "---:|" * (2 * len(engines)))
    for size in SIZES:
        rgb = photo(size)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        side = (yunet_net.padded_side(size[1]), yunet_net.padded_side(size[0]))
        calls: dict[str, Callable[[], object]] = {"yuface": lambda bgr=bgr: yuface_detect(bgr)}
        for name, engine in engines.items():
            calls[name] = lambda engine=engine, rgb=rgb, side=side: engine.run(None, {"image": planes(rgb, *side)})
        times = alternated(calls, args.rounds)
        medians = [statistics.median(times[name]) for name in calls]
        ratios = [paired_ratio(times["yuface"], times[name]) for name in engines]
        cells = [f"{m:.2f}" for m in medians] + [f"{r:.1f}" for r in ratios]
        print(f"| {size[0]}x{size[1]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
