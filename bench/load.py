"""The proxy under concurrent load on loopback: throughput, latency percentiles and load shedding.

    .venv/bin/python bench/load.py [--seconds 8] [--concurrency 32] [--workers 1]

Starts `imgproxy serve` over a temporary samples folder and runs three scenarios, each for a
bounded time: cached results (the LRU answers), uncached facecrop2 on a 512 px photo (decode +
detect + encode every time), and an overload of uncached 12 MP crops, where the bounded queue
should shed load with 429s instead of letting latency grow. The load generator runs on the same
2 cores, so absolute numbers are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imgproxy.samples import write_samples  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(folder: Path, workers: int, **settings: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "IMGPROXY_ACCESS_LOG": "0", **{"IMGPROXY_" + k.upper(): v for k, v in settings.items()}}
    process = subprocess.Popen(
        [sys.executable, "-m", "imgproxy", "serve", "--port", str(port), "--origin", str(folder), "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the proxy did not start")


async def hammer(url: str, paths: list[str], seconds: float, concurrency: int) -> tuple[list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        async def user(offset: int) -> None:
            i = offset
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                response = await client.get(paths[i % len(paths)])
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                i += concurrency

        await asyncio.gather(*(user(n) for n in range(concurrency)))
    return latencies, statuses


def report(name: str, seconds: float, latencies: list[float], statuses: dict[int, int]) -> None:
    q = statistics.quantiles(latencies, n=100)
    codes = " ".join(f"{code}:{count}" for code, count in sorted(statuses.items()))
    print(f"{name:<34}{len(latencies) / seconds:>9.0f}{q[49]:>9.1f}{q[98]:>9.1f}   {codes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("building samples...", file=sys.stderr)
        write_samples(folder)
        print(f"{'scenario':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}   statuses")
        scenarios = [
            ("cached facecrop2 (LRU hits)", {}, ["/grace_hopper.jpg?facecrop2/200x200"]),
            ("uncached facecrop2, 512 px photo", {"cache_bytes": "0"}, ["/grace_hopper.jpg?facecrop2/200x200"]),
            ("overload: uncached 12 MP crops", {"cache_bytes": "0"}, [f"/large.jpg?facecrop2/{s}x{s}" for s in range(200, 264)]),
        ]
        for name, settings, paths in scenarios:
            print(f"  {name}: running {args.seconds:g} s...", file=sys.stderr)
            process, url = start(folder, args.workers, **settings)
            try:
                latencies, statuses = asyncio.run(hammer(url, paths, args.seconds, args.concurrency))
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
            report(name, args.seconds, latencies, statuses)


if __name__ == "__main__":
    main()
