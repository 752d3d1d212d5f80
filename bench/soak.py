"""Resident memory of one worker under a mixed uncached load, and after it goes idle.

    apt-get install wrk
    .venv/bin/python bench/soak.py [--seconds 60] [--connections 8]

Starts `imgproxy serve` (one worker) over a temporary samples folder with a 256 MiB and then a
32 MiB cache, drives each with wrk through a mix of 12 MP crops and thumbnails, 512 px blurs and
rotations, and detections, every URL a new size so most work is uncached, and samples the
process's VmRSS twice a second. Prints the RSS spread under load and what is left 3 s after.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load import start, wrk_script

from imgproxy.samples import write_samples

PATHS = [
    path
    for size in range(100, 700, 7)
    for path in (
        f"/large.jpg?facecrop2/{size}x{size}",
        f"/large.jpg?imageView2/2/w/{size * 3}",
        f"/grace_hopper.jpg?imageMogr2/rotate/{size % 359 + 1}/blur/5x{size % 9 + 1}",
        f"/astronaut.jpg?facedetect/minsize/{size // 4}",
    )
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def soak(folder: Path, script: Path, cache_bytes: int, seconds: float, connections: int) -> tuple[list[float], float]:
    process, url = start(folder, 1, cache_bytes=str(cache_bytes))
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            samples.append(rss_mb(process.pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), url],
            capture_output=True,
            check=True,
        )
        done.set()
        sampler.join()
        time.sleep(3)
        return samples, rss_mb(process.pid)
    finally:
        done.set()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/soak.py drives the proxy with wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("building samples...", file=sys.stderr)
        write_samples(folder / "samples")
        script = wrk_script(PATHS, folder)
        print(f"{'cache':>8}{'RSS min':>10}{'median':>10}{'max':>10}{'idle 3 s':>10}   (MB, {args.seconds:g} s of load)")
        for cache in (256 * 2**20, 32 * 2**20):
            print(f"  cache {cache >> 20} MiB: {args.seconds:g} s...", file=sys.stderr)
            samples, idle = soak(folder / "samples", script, cache, args.seconds, args.connections)
            print(
                f"{cache >> 20:>5} MiB{min(samples):>10.0f}{statistics.median(samples):>10.0f}{max(samples):>10.0f}{idle:>10.0f}"
            )


if __name__ == "__main__":
    main()
