"""The proxy under concurrent load on loopback: throughput, latency percentiles and load shedding.

    apt-get install wrk
    .venv/bin/python bench/load.py [--seconds 10] [--connections 32] [--workers 1]

Starts `imgproxy serve` over a temporary samples folder and drives it with wrk (which takes
little CPU from the two cores the proxy shares with it) through three scenarios, each bounded in
time: cached results (the LRU answers), uncached facecrop2 on a 512 px photo (decode + detect +
encode every time: each request asks another size, so nothing is shared), and an overload of
uncached 12 MP crops, where the bounded queue should shed load with 429s instead of letting
latency grow.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imgproxy.samples import write_samples

SCENARIOS = [
    ("cached facecrop2 (LRU hits)", {}, ["/grace_hopper.jpg?facecrop2/200x200"]),
    ("uncached facecrop2, 512 px photo", {"cache_bytes": "0"}, [f"/grace_hopper.jpg?facecrop2/{s}x{s}" for s in range(64, 512)]),
    ("overload: uncached 12 MP crops", {"cache_bytes": "0"}, [f"/large.jpg?facecrop2/{s}x{s}" for s in range(200, 1000)]),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(origin: Path | str, workers: int, **settings: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "IMGPROXY_ACCESS_LOG": "0", **{"IMGPROXY_" + k.upper(): v for k, v in settings.items()}}
    process = subprocess.Popen(
        [sys.executable, "-m", "imgproxy", "serve", "--port", str(port), "--origin", str(origin), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    problem = wait_until_ready(process, url + "/readyz")
    if problem is not None:
        raise SystemExit(f"the proxy did not start: {problem}")
    return process, url


def wait_until_ready(process: subprocess.Popen, probe: str, seconds: float = 60) -> str | None:
    """None once `probe` answers 200, else why not (the process exited, or never answered; it is
    then killed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"it exited with {process.returncode} on start"
        try:
            if httpx.get(probe, timeout=1).status_code == 200:
                return None
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    return f"{probe} did not answer within {seconds:g} s"


def wrk_script(paths: list[str], folder: Path) -> Path:
    """A wrk Lua script that cycles through `paths`, each wrk thread from its own place in the list:
    threads walking it in step would send identical requests together, which the proxy computes once."""
    listed = ",".join(f'"{p}"' for p in paths)
    script = folder / "paths.lua"
    script.write_text(f"""
paths = {{{listed}}}
threads = 0
function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end
function init(args)
  i = offset
end
function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
""")
    return script


def run_wrk(url: str, script: Path, seconds: float, connections: int) -> dict[str, str]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {"req/s": re.search(r"Requests/sec:\s+([\d.]+)", out)[1]}
    for pct in ("50", "99"):
        found[pct] = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)[1]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out)[1])
    refused = int(errors[1]) if errors else 0
    found["ok/s"] = f"{(total - refused) / seconds:.0f}"
    found["shed"] = f"{refused / total:.0%}"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/load.py drives the proxy with wrk: apt-get install wrk")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("building samples...", file=sys.stderr)
        write_samples(folder / "samples")
        # wrk's clients retry at once, ignoring Retry-After: under overload most answers are fast 429s.
        print(f"{'scenario':<34}{'req/s':>9}{'200/s':>8}{'shed':>6}{'p50':>10}{'p99':>10}")
        for name, settings, paths in SCENARIOS:
            print(f"  {name}: {args.seconds:g} s...", file=sys.stderr)
            process, url = start(folder / "samples", args.workers, **settings)
            try:
                found = run_wrk(url, wrk_script(paths, folder), args.seconds, args.connections)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
            print(
                f"{name:<34}{float(found['req/s']):>9.0f}{found['ok/s']:>8}{found['shed']:>6}{found['50']:>10}{found['99']:>10}"
            )


if __name__ == "__main__":
    main()
