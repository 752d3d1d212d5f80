"""What the benchmarks share: a timing loop with a progress line, the shrink-on-load floor, and the
command line a benchmark prints beside its numbers."""

from __future__ import annotations

import io
import math
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence

from PIL import Image


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds of `runs` calls of `fn`, after one warm-up call (detector graph, allocator)."""
    fn()
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
        print(f"\r  {i + 1}/{runs}", end="", file=sys.stderr)
    print("\r" + " " * 20 + "\r", end="", file=sys.stderr)
    return samples


def alternated(calls: Mapping[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Milliseconds of each of `calls` over `rounds` rounds, each round calling every one once in
    turn, after one first call of each (graphs built, memory allocated)."""
    for call in calls.values():
        call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def paired_ratio(tops: Sequence[float], bottoms: Sequence[float]) -> float:
    """The median of the per-round ratios of two timings made in the same rounds: steadier than the
    ratio of their medians on a shared machine."""
    return statistics.median(top / bottom for top, bottom in zip(tops, bottoms, strict=True))


def floor_decode(data: bytes, min_scale: float) -> Image.Image:
    """What any shrink-on-load pipeline must do at least: the same draft request the proxy makes."""
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (math.ceil(image.width * min_scale), math.ceil(image.height * min_scale)))
    image.load()
    return image


def command() -> str:
    """The command that ran this benchmark, as a reader would type it from the repository's root."""
    python = os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd() + os.sep) else sys.executable
    return shlex.join([python, os.path.relpath(sys.argv[0]), *sys.argv[1:]])
