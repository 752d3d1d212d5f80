"""What an operator sees of a request: its id in the answer, the error and every log line; the
access log as text or JSON lines with the cache outcome and face count; the detection metrics;
/metrics on a port of its own."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Proxy, free_port, start_proxy, stop

from imgproxy.http.observe import access_line, request_id_of
from imgproxy.logs import quoted


def test_a_plausible_client_id_is_kept_and_anything_else_replaced():
    assert request_id_of([(b"x-request-id", b"7f3a9c2e41b04d5e9a6b1c2d3e4f5a6b")]) == "7f3a9c2e41b04d5e9a6b1c2d3e4f5a6b"
    assert request_id_of([(b"X-Request-Id", b"trace-1:span/2")]) == "trace-1:span/2"
    for forged in (b'a" 200 0 "evil', b"a b", b"x" * 129, b""):
        replaced = request_id_of([(b"x-request-id", forged)])
        assert str(uuid.UUID(replaced)) == replaced
    assert uuid.UUID(request_id_of([]))


def test_a_text_access_line_cannot_be_forged_through_its_fields():
    fields = {
        "client": "127.0.0.1",
        "method": "GET",
        "path": '/a.jpg?x" 200 1 "y\n',
        "status": 404,
        "bytes": 37,
        "duration_ms": 1.5,
        "op": "original",
        "cache": None,
        "faces": None,
        "request_id": "r1",
        "user_agent": 'ua "quoted"',
    }
    line = access_line(fields)
    assert line == r'127.0.0.1 "GET /a.jpg?x\" 200 1 \"y\n" 404 37 1.5ms original "ua \"quoted\""'
    assert "\n" not in line
    assert quoted("caf\u00e9\t") == '"caf\\xe9\\t"'


@pytest.fixture(scope="module")
def json_proxy(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    proxy = start_proxy(str(samples_dir), tmp_path_factory.mktemp("logs"), log_format="json", log_level="debug")
    yield proxy
    stop(proxy.process)


def json_lines(proxy: Proxy) -> list[dict]:
    return [json.loads(line) for line in proxy.log.read_text().splitlines() if line.startswith("{")]


def access_of(proxy: Proxy, request_id: str) -> dict:
    (entry,) = [e for e in json_lines(proxy) if e.get("request_id") == request_id and "status" in e]
    return entry


def test_every_answer_carries_an_id_that_its_error_and_log_lines_carry(json_proxy: Proxy):
    answer = json_proxy.get("/no_such.jpg?facecrop2/100x100")
    request_id = answer.headers["x-request-id"]
    assert uuid.UUID(request_id)
    assert answer.status_code == 404 and answer.json() == {"error": answer.json()["error"], "request_id": request_id}
    assert access_of(json_proxy, request_id)["status"] == 404

    mine = json_proxy.get("/grace_hopper.jpg?imageInfo", headers={"X-Request-Id": "edge-42"})
    assert mine.headers["x-request-id"] == "edge-42" and access_of(json_proxy, "edge-42")["op"] == "imageInfo"


def test_a_log_line_written_in_a_worker_thread_carries_the_request_id(json_proxy: Proxy):
    # facecrop2 on a photo without a face fails in the thread pool; ignore-error logs it (debug).
    answer = json_proxy.get("/no_face.jpg?facecrop2/100x100/ignore-error/1", headers={"X-Request-Id": "thread-check"})
    assert answer.status_code == 200
    (line,) = [e for e in json_lines(json_proxy) if "ignored error" in e.get("message", "")]
    assert line["request_id"] == "thread-check" and line["logger"] == "imgproxy.pipeline"


def test_json_access_lines_say_what_happened(json_proxy: Proxy):
    path = "/astronaut.jpg?facecrop2/120x90&e=1700000000&token=AK:c2VjcmV0"
    first = json_proxy.get(path, headers={"User-Agent": "tester/1.0"})
    again = json_proxy.get(path)
    head = json_proxy.head("/astronaut.jpg?facecrop2/120x90")
    assert first.status_code == again.status_code == head.status_code == 200

    entry = access_of(json_proxy, first.headers["x-request-id"])
    assert entry["path"] == "/astronaut.jpg?facecrop2/120x90&e=[redacted]&token=[redacted]"
    assert "c2VjcmV0" not in json_proxy.log.read_text()
    assert entry["method"] == "GET" and entry["status"] == 200 and entry["bytes"] == len(first.content)
    assert entry["op"] == "facecrop2" and entry["cache"] == "miss" and entry["faces"] == 1
    assert entry["user_agent"] == "tester/1.0" and entry["duration_ms"] > 0 and entry["level"] == "info"
    assert access_of(json_proxy, again.headers["x-request-id"])["cache"] == "hit"
    head_entry = access_of(json_proxy, head.headers["x-request-id"])
    assert head_entry["method"] == "HEAD" and head_entry["bytes"] == 0


def test_text_access_lines_carry_the_request_id_outcome_and_faces(proxy: Proxy):
    answer = proxy.get("/grace_hopper.jpg?facecrop2/101x99", headers={"User-Agent": "text-check"})
    request_id = answer.headers["x-request-id"]
    (line,) = [line for line in proxy.log.read_text().splitlines() if f"[{request_id}]" in line]
    assert re.search(
        rf'\[{request_id}\]: 127\.0\.0\.1 "GET /grace_hopper\.jpg\?facecrop2/101x99" 200 {len(answer.content)} '
        r'[\d.]+ms facecrop2 cache=miss faces=1 "text-check"$',
        line,
    ), line


def metric(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{")
    )


def test_the_detection_cache_and_detector_passes_are_counted(samples_dir: Path, tmp_path: Path):
    proxy = start_proxy(str(samples_dir), tmp_path)
    try:
        for size in ("200x200", "120x160"):  # two crops of one photo: one detection, then the cache
            assert proxy.get(f"/grace_hopper.jpg?facecrop2/{size}").status_code == 200
        text = proxy.get("/metrics").text
        assert metric(text, 'imgproxy_cache_lookups_total{cache="detection",outcome="miss"}') == 1
        assert metric(text, 'imgproxy_cache_lookups_total{cache="detection",outcome="hit"}') == 1
        assert metric(text, 'imgproxy_cache_lookups_total{cache="result",outcome="miss"}') == 2
        assert metric(text, "imgproxy_detector_passes_count") == 2
        assert metric(text, 'imgproxy_detector_passes_bucket{le="0.0"}') == 1  # the cached one
        assert metric(text, "imgproxy_detector_passes_sum") >= 1
    finally:
        stop(proxy.process)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_metrics_on_a_port_of_their_own(samples_dir: Path, tmp_path: Path, workers: str):
    port = free_port()
    proxy = start_proxy(str(samples_dir), tmp_path, metrics_port=str(port), workers=workers)
    try:
        for _ in range(6):  # new connections: with two workers, both answer some
            assert httpx.get(proxy.url + "/healthz", timeout=30).status_code == 200
        assert proxy.get("/metrics").status_code == 404  # the public port no longer tells
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
        assert metric(text, 'imgproxy_requests_total{op="healthz",status="200"}') == 6
    finally:
        stop(proxy.process)
