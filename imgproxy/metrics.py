"""The proxy's Prometheus metrics, and the registry that reads them: with several workers, the
counts of them all (prometheus-client's multiprocess mode, which `imgproxy serve` turns on), so
a scrape never sees one worker's alone."""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess, start_http_server

from imgproxy.config import METRICS_DIR_ENV

REQUESTS = Counter("imgproxy_requests_total", "Requests answered, by first op and status.", ["op", "status"])
LATENCY = Histogram(
    "imgproxy_request_seconds",
    "Time to answer a request, by first op.",
    ["op"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# Gauges add up across workers in multiprocess mode ("livesum": the live processes' values).
QUEUED = Gauge("imgproxy_jobs_pending", "CPU jobs submitted and not finished: running and queued.", multiprocess_mode="livesum")
IN_FLIGHT = Gauge("imgproxy_requests_in_flight", "Requests being answered.", multiprocess_mode="livesum")
SHED = Counter("imgproxy_shed_total", "Requests refused with 429 because the CPU queue was full.")
CACHE_LOOKUPS = Counter(
    "imgproxy_cache_lookups_total",
    "Cache lookups by cache (result: processed answers; detection: faces found) and outcome (hit, miss).",
    ["cache", "outcome"],
)
ORIGIN_FETCH = Histogram(
    "imgproxy_origin_fetch_seconds",
    "Time to fetch an original whole, retries included, by origin.",
    ["origin"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ORIGIN_BYTES = Counter("imgproxy_origin_bytes_total", "Bytes of originals fetched, by origin.", ["origin"])
ORIGIN_RETRIES = Counter("imgproxy_origin_retries_total", "Origin requests tried again, by origin.", ["origin"])
ORIGIN_ERRORS = Counter(
    "imgproxy_origin_errors_total",
    "Failed fetches of originals, by origin and kind: not_found, denied, timeout, 5xx (an error answer), connect.",
    ["origin", "kind"],
)
DETECTION = Histogram(
    "imgproxy_detection_seconds",
    "Face detection time per image (cache misses only).",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
DETECTOR_PASSES = Histogram(
    "imgproxy_detector_passes",
    "Detector runs per detection asked for: MediaPipe's pass and YuNet's coarse and fine runs, per orientation tried; "
    "0 when the detection cache answered.",
    buckets=(0, 1, 2, 3, 4, 8, 12),
)


def registry() -> CollectorRegistry:
    if METRICS_DIR_ENV not in os.environ:
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    return collected


def serve_metrics(host: str, port: int) -> None:
    """/metrics (any path, in fact) on its own port, from a thread of this process: the one process
    that outlives the workers and sees all of them."""
    start_http_server(port, host, registry())
