"""Cold facecrop2 over an s3:// origin against the same over a folder origin, on the same 12 MP photo.

    .venv/bin/python bench/origins.py [--runs 30]

Starts moto's S3 server on loopback with the photo in a bucket, and two proxies with their caches
off: one over the bucket (every request a signed GET of 2.5 MB), one over a folder holding the same
file. Requests alternate between the two, so both see the same machine. Prints the medians, their
ratio, and the share of the S3 proxy's time that the origin adds.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load import free_port, start

from imgproxy.samples import write_samples

PHOTO = "large.jpg"
PATH = f"/{PHOTO}?facecrop2/200x200"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "samples"
        print("building samples...", file=sys.stderr)
        write_samples(folder)
        port = free_port()
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{port}"
        keys = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret"}
        proxies = []
        try:
            for _ in range(100):
                try:
                    httpx.get(endpoint + "/moto-api/", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            s3 = boto3.client(
                "s3",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
            )
            s3.create_bucket(Bucket="photos")
            s3.put_object(Bucket="photos", Key=PHOTO, Body=(folder / PHOTO).read_bytes())
            os.environ.update(keys)
            proxies = [
                ("s3://photos", *start("s3://photos", 1, cache_bytes="0", s3_endpoint=endpoint)),
                ("folder", *start(folder, 1, cache_bytes="0")),
            ]
            times: dict[str, list[float]] = {name: [] for name, _, _ in proxies}
            for run in range(args.runs + 2):
                for name, _, url in proxies:
                    started = time.perf_counter()
                    response = httpx.get(url + PATH, timeout=60)
                    assert response.status_code == 200, response.text
                    if run >= 2:  # the first two warm the pools and the detector
                        times[name].append((time.perf_counter() - started) * 1000)
            s3_ms, folder_ms = statistics.median(times["s3://photos"]), statistics.median(times["folder"])
            megabytes = (folder / PHOTO).stat().st_size / 1e6
            print(f"facecrop2/200x200 of a 4000x3000 JPEG ({megabytes:.1f} MB), caches off, {args.runs} runs each")
            print(f"{'origin':<14}{'median ms':>10}")
            print(f"{'folder':<14}{folder_ms:>10.1f}")
            print(f"{'s3 (moto)':<14}{s3_ms:>10.1f}")
            print(
                f"s3 / folder: {s3_ms / folder_ms:.2f}; the origin's share of the S3 request: {(s3_ms - folder_ms) / s3_ms:.0%}"
            )
        finally:
            for _, process, _ in proxies:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
            moto.terminate()
            moto.wait(timeout=30)


if __name__ == "__main__":
    main()
