"""Metrics that add up across worker processes: with --workers 2 every scrape, whichever worker
answers it, sees the counts of both (prometheus-client's multiprocess mode)."""

from __future__ import annotations

from pathlib import Path

import httpx
from conftest import start_proxy, stop


def healthz_count(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("imgproxy_requests_total{") and 'op="healthz"' in line
    )


def test_every_scrape_sees_the_true_total_under_two_workers(samples_dir: Path, tmp_path: Path):
    proxy = start_proxy(str(samples_dir), tmp_path, workers="2")
    try:
        for _ in range(20):  # a new connection each: the kernel spreads them over both workers
            assert httpx.get(proxy.url + "/healthz", timeout=30).status_code == 200
        # /readyz answered start_proxy's polls; /healthz counts only these 20.
        scrapes = [healthz_count(httpx.get(proxy.url + "/metrics", timeout=30).text) for _ in range(6)]
        assert scrapes == [20.0] * 6
    finally:
        stop(proxy.process)
