"""The download path end to end: `imgproxy serve` under uvicorn over a folder of real photos."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import Proxy, error_of, start_proxy, stop
from images import decode, faces_in, png_bomb

from imgproxy.samples import astronaut, jpeg_bytes


def crop_box(response: httpx.Response) -> tuple[int, int, int, int]:
    x, y, w, h = (int(v) for v in response.headers["x-crop-box"].split(","))
    return x, y, w, h


@pytest.mark.parametrize(
    "name,size",
    [
        ("grace_hopper.jpg", (200, 200)),
        ("grace_hopper.jpg", (300, 150)),
        ("astronaut.jpg", (120, 200)),
        ("large.jpg", (200, 200)),
        ("edge.jpg", (300, 300)),
        ("small_face.jpg", (200, 200)),  # a ~140 px face on a 3000x2000 canvas
    ],
)
def test_crop_is_centred_on_the_face(proxy: Proxy, samples_dir: Path, name: str, size: tuple[int, int]):
    response = proxy.get(f"/{name}?facecrop2/{size[0]}x{size[1]}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    out = decode(response.content)
    assert (out.format, out.size) == ("JPEG", size)

    # The window (in source pixels) holds the largest face, centred on it unless an image edge is in the way.
    source = decode((samples_dir / name).read_bytes())
    face = faces_in(source)[0]
    x, y, w, h = crop_box(response)
    assert w / h == pytest.approx(size[0] / size[1], rel=0.02) and w >= size[0] and h >= size[1]
    assert x <= face.x and y <= face.y and x + w >= face.right and y + h >= face.bottom
    at_edge_x = x == 0 or x + w == source.width
    if not at_edge_x:
        assert abs((x + w / 2) - face.center[0]) < 0.1 * w

    # And the pixels: the answer shows a face near its middle.
    found = faces_in(out)
    assert found, "no face in the crop"
    cx, cy = found[0].center
    assert abs(cx - size[0] / 2) < size[0] * (0.3 if at_edge_x else 0.12)
    assert abs(cy - size[1] / 2) < size[1] * 0.2
    assert int(response.headers["x-face-count"]) >= 1


def test_exif_orientation_is_applied_before_cropping(proxy: Proxy):
    response = proxy.get("/rotated.jpg?facecrop2/200x200")
    assert response.status_code == 200
    x, y, w, h = crop_box(response)
    assert x + w <= 512 and y + h <= 600  # oriented (portrait) pixels, not the stored landscape ones
    face = faces_in(decode(response.content))
    assert face and abs(face[0].center[0] - 100) < 25


def test_caching_headers_on_success(proxy: Proxy):
    response = proxy.get("/grace_hopper.jpg?facecrop2/200x200")
    assert response.headers["cache-control"] == "public, max-age=2592000"
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert "last-modified" in response.headers
    # the ETag depends on the pipeline, and not on how it is spelled
    assert proxy.get("/grace_hopper.jpg?facecrop2/201x200").headers["etag"] != etag
    assert proxy.get("/grace_hopper.jpg?facecrop2/200x200/ignore-error/0").headers["etag"] == etag


def test_conditional_requests_answer_304(proxy: Proxy):
    first = proxy.get("/grace_hopper.jpg?facecrop2/200x200")
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"nope", {etag}'}, {"If-Modified-Since": last_modified}):
        again = proxy.get("/grace_hopper.jpg?facecrop2/200x200", headers=headers)
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
    assert proxy.get("/grace_hopper.jpg?facecrop2/200x200", headers={"If-None-Match": '"nope"'}).status_code == 200
    original = proxy.get("/grace_hopper.jpg")
    assert proxy.get("/grace_hopper.jpg", headers={"If-None-Match": original.headers["etag"]}).status_code == 304


def test_head_answers_the_headers_of_get_without_a_body(proxy: Proxy):
    get = proxy.get("/grace_hopper.jpg?facecrop2/150x150")
    head = proxy.head("/grace_hopper.jpg?facecrop2/150x150")
    assert head.status_code == 200 and head.content == b""
    for name in ("etag", "content-type", "content-length", "cache-control", "last-modified"):
        assert head.headers[name] == get.headers[name]
    original = proxy.head("/grace_hopper.jpg")
    assert original.status_code == 200 and original.content == b""
    assert int(original.headers["content-length"]) > 0


def test_without_a_pipeline_the_original_is_proxied_unchanged(proxy: Proxy, samples_dir: Path):
    for path in ("/grace_hopper.jpg", "/grace_hopper.jpg?v=3"):
        response = proxy.get(path)
        assert response.status_code == 200
        assert response.content == (samples_dir / "grace_hopper.jpg").read_bytes()
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["etag"] and response.headers["last-modified"]


def test_size_larger_than_the_image_is_a_400(proxy: Proxy):
    message = error_of(proxy.get("/grace_hopper.jpg?facecrop2/800x200"), 400)
    assert message == "facecrop2: 800x200 exceeds image size 512x600"


def test_no_face_is_a_422(proxy: Proxy):
    assert error_of(proxy.get("/no_face.jpg?facecrop2/200x200"), 422) == "facecrop2: no face detected"


@pytest.fixture(scope="module")
def bad_files(samples_dir: Path) -> dict[str, bytes]:
    good = (samples_dir / "grace_hopper.jpg").read_bytes()
    files = {
        "html.jpg": b"<!doctype html><html><body>Not here</body></html>",
        "truncated.jpg": good[: len(good) // 3],
        "garbage.jpg": good[:200] + os.urandom(5000),
        "bomb.png": png_bomb(),
        "empty.jpg": b"",
    }
    for name, data in files.items():
        (samples_dir / name).write_bytes(data)
    return files


@pytest.mark.parametrize(
    "name,status,message",
    [
        ("html.jpg", 415, "not an image, or a format this proxy cannot read"),
        ("truncated.jpg", 415, "image data is truncated or corrupt"),
        ("garbage.jpg", 415, ""),
        ("bomb.png", 413, "image is 30000x30000 (900.0 MP), over the limit of 50 MP"),
        ("empty.jpg", 415, "not an image: the body is empty"),
    ],
)
def test_bad_input_gets_a_clear_error_and_the_server_keeps_serving(proxy: Proxy, bad_files, name, status, message):
    assert message in error_of(proxy.get(f"/{name}?facecrop2/100x100"), status)
    # ignore-error answers the original bytes unchanged, with the original's type
    ignored = proxy.get(f"/{name}?facecrop2/100x100/ignore-error/1")
    assert ignored.status_code == 200 and ignored.content == bad_files[name]
    assert proxy.get("/grace_hopper.jpg?facecrop2/64x64").status_code == 200


@pytest.mark.parametrize(
    "path", ["/grace_hopper.jpg?facecrop2/800x200/ignore-error/1", "/no_face.jpg?facecrop2/200x200/ignore-error/1"]
)
def test_ignore_error_answers_the_original(proxy: Proxy, samples_dir: Path, path: str):
    response = proxy.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content == (samples_dir / path[1:].split("?")[0]).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/missing.jpg?facecrop2/100x100",
        "/missing.jpg",
        "/..%2F..%2Fetc%2Fpasswd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/a%2Fb.jpg",
        "//etc/passwd",
        "/escape.jpg",
        "/escape.jpg?facecrop2/10x10",
    ],
)
def test_missing_or_escaping_keys_are_404(proxy: Proxy, samples_dir: Path, tmp_path: Path, path: str):
    outside = tmp_path / "secret.jpg"
    outside.write_bytes((samples_dir / "grace_hopper.jpg").read_bytes())
    link = samples_dir / "escape.jpg"
    if not link.is_symlink():
        link.symlink_to(outside)
    assert error_of(httpx.get(proxy.url + path, timeout=30), 404) == "Document not found"


@pytest.mark.parametrize(
    "query,message",
    [
        ("facecrop2/abc", "facecrop2: size must be <W>x<H> with W and H from 1 to 9999, got 'abc'"),
        ("nosuchop/1", "unknown op 'nosuchop'"),
        ("|".join(["facecrop2/10x10"] * 31), "pipeline has 31 ops, over the limit of 30"),
    ],
)
def test_malformed_pipelines_are_400(proxy: Proxy, query: str, message: str):
    assert error_of(proxy.get(f"/grace_hopper.jpg?{query}"), 400) == message


def test_other_methods_get_a_json_405(proxy: Proxy):
    response = httpx.post(proxy.url + "/grace_hopper.jpg?facecrop2/100x100", timeout=10)
    assert error_of(response, 405) == "Method Not Allowed"


def metric(proxy: Proxy, name: str) -> float:
    for line in proxy.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_ten_crop_sizes_of_one_photo_run_detection_once(proxy: Proxy, samples_dir: Path):
    # bytes the proxy has not seen yet: detections are cached by content hash, not by key
    (samples_dir / "tens.jpg").write_bytes(jpeg_bytes(astronaut(), quality=77))
    before = metric(proxy, "imgproxy_detection_seconds_count")
    for side in range(100, 200, 10):
        assert proxy.get(f"/tens.jpg?facecrop2/{side}x{side}").status_code == 200
    assert metric(proxy, "imgproxy_detection_seconds_count") - before == 1


def test_a_changed_original_is_not_served_stale(proxy: Proxy, samples_dir: Path):
    target = samples_dir / "changing.jpg"
    target.write_bytes((samples_dir / "grace_hopper.jpg").read_bytes())
    first = proxy.get("/changing.jpg?facecrop2/200x200")
    target.write_bytes((samples_dir / "astronaut.jpg").read_bytes())
    second = proxy.get("/changing.jpg?facecrop2/200x200")
    assert second.status_code == 200
    assert second.headers["etag"] != first.headers["etag"]
    assert second.content != first.content


def test_metrics_and_health(proxy: Proxy):
    assert proxy.get("/healthz").json() == {"status": "ok"}
    assert proxy.get("/readyz").json() == {"status": "ready"}
    text = proxy.get("/metrics").text
    assert 'imgproxy_requests_total{op="facecrop2",status="200"}' in text
    assert "imgproxy_request_seconds_bucket" in text


def test_readiness_waits_for_both_detectors_networks(tmp_path: Path) -> None:
    """A service is ready once MediaPipe's and YuNet's networks are built, not on the first request
    that needs them (in a fresh interpreter: this one's tests may have built them already)."""
    script = (
        "import asyncio\n"
        "from imgproxy.config import Settings\n"
        "from imgproxy.faces import blazeface_net, yunet_net\n"
        "from imgproxy.service import Service\n"
        f"service = Service(Settings(origin={str(tmp_path)!r}))\n"
        "print(len(blazeface_net._session), len(yunet_net._sessions), service.ready)\n"
        "asyncio.run(service.start())\n"
        "print(len(blazeface_net._session), len(yunet_net._sessions), service.ready)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.split("\n")[:2] == ["0 0 False", "1 1 True"]


def test_access_log_has_one_line_per_request(proxy: Proxy):
    proxy.get("/grace_hopper.jpg?facecrop2/111x111")
    lines = [line for line in proxy.log.read_text().splitlines() if "GET /grace_hopper.jpg?facecrop2/111x111" in line]
    assert len(lines) == 1 and " 200 " in lines[0]


def test_overload_is_shed_with_429_and_the_server_recovers(samples_dir: Path, tmp_path: Path):
    busy = start_proxy(str(samples_dir), tmp_path, threads="1", queue="1", cache_bytes="0", access_log="0")
    try:

        def crop(side: int) -> httpx.Response:
            return busy.get(f"/large.jpg?facecrop2/{side}x{side}")

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            responses = list(pool.map(crop, range(300, 332)))
        statuses = {r.status_code for r in responses}
        assert statuses <= {200, 429} and 429 in statuses and 200 in statuses
        shed = next(r for r in responses if r.status_code == 429)
        assert shed.headers["retry-after"] == "1" and "too many requests" in shed.json()["error"]
        assert busy.get("/grace_hopper.jpg?facecrop2/100x100").status_code == 200
        metrics = busy.get("/metrics").text.splitlines()
        refused = sum(1 for r in responses if r.status_code == 429)
        assert f"imgproxy_shed_total {float(refused)}" in metrics
        assert "imgproxy_jobs_pending 0.0" in metrics and "imgproxy_requests_in_flight 1.0" in metrics  # the scrape
    finally:
        stop(busy.process)


def test_sigterm_shuts_down_cleanly(samples_dir: Path, tmp_path: Path):
    short_lived = start_proxy(str(samples_dir), tmp_path)
    assert short_lived.get("/grace_hopper.jpg?facecrop2/100x100").status_code == 200
    # uvicorn finishes its graceful shutdown, then re-raises SIGTERM: systemd counts that as a clean exit
    assert stop(short_lived.process) in (0, -15)
    assert "Application shutdown complete" in short_lived.log.read_text()


def test_several_worker_processes_serve_and_stop_together(samples_dir: Path, tmp_path: Path):
    pair = start_proxy(str(samples_dir), tmp_path, workers="2")
    try:
        # /readyz answered as soon as one worker was up; the other may still be loading its models
        deadline = time.monotonic() + 60
        while pair.log.read_text().count("Application startup complete") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pair.log.read_text().count("Application startup complete") == 2
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda side: pair.get(f"/astronaut.jpg?facecrop2/{side}x{side}"), range(100, 108)))
        assert {r.status_code for r in responses} == {200}
    finally:
        stop(pair.process)
    assert pair.log.read_text().count("Application shutdown complete") == 2
