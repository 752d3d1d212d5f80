"""An HTTP origin served by real nginx: pooling, caching, revalidation and every way an origin fails."""

from __future__ import annotations

import concurrent.futures
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Nginx, Proxy, error_of, free_port, start_proxy, stop
from images import decode, faces_in

from imgproxy.samples import astronaut, grace_hopper, jpeg_bytes


@pytest.fixture(scope="module")
def via_nginx(nginx_origin: Nginx, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    running = start_proxy(nginx_origin.url, tmp_path_factory.mktemp("logs"))
    yield running
    stop(running.process)


@pytest.fixture(scope="module")
def impatient(nginx_origin: Nginx, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """A proxy that gives its origin 2 s, in front of nginx's /slow/, which takes two minutes."""
    running = start_proxy(nginx_origin.url, tmp_path_factory.mktemp("logs"), origin_timeout="2")
    yield running
    stop(running.process)


@pytest.fixture(scope="module")
def revalidating(nginx_origin: Nginx, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """A proxy that trusts an original's ETag for 0 seconds: every request revalidates with the origin."""
    running = start_proxy(nginx_origin.url, tmp_path_factory.mktemp("logs"), origin_ttl="0")
    yield running
    stop(running.process)


def copy(nginx_origin: Nginx, source: str, name: str) -> str:
    shutil.copy(nginx_origin.root / source, nginx_origin.root / name)
    return "/" + name


def test_crop_through_an_http_origin(via_nginx: Proxy):
    response = via_nginx.get("/grace_hopper.jpg?facecrop2/200x200")
    assert response.status_code == 200
    out = decode(response.content)
    assert out.size == (200, 200) and faces_in(out)


def test_original_is_proxied_with_the_origins_headers(via_nginx: Proxy, nginx_origin: Nginx):
    direct = httpx.get(nginx_origin.url + "/grace_hopper.jpg")
    proxied = via_nginx.get("/grace_hopper.jpg")
    assert proxied.status_code == 200 and proxied.content == direct.content
    for name in ("content-type", "etag", "last-modified", "content-length"):
        assert proxied.headers[name] == direct.headers[name]
    assert via_nginx.get("/grace_hopper.jpg", headers={"If-None-Match": direct.headers["etag"]}).status_code == 304


def test_processed_result_carries_the_origins_last_modified(via_nginx: Proxy, nginx_origin: Nginx):
    direct = httpx.head(nginx_origin.url + "/astronaut.jpg")
    response = via_nginx.get("/astronaut.jpg?facecrop2/100x100")
    assert response.headers["last-modified"] == direct.headers["last-modified"]
    again = via_nginx.get("/astronaut.jpg?facecrop2/100x100", headers={"If-Modified-Since": direct.headers["last-modified"]})
    assert again.status_code == 304


def test_a_repeated_request_does_not_touch_the_origin(via_nginx: Proxy, nginx_origin: Nginx):
    path = copy(nginx_origin, "grace_hopper.jpg", "repeat.jpg")
    first = via_nginx.get(path + "?facecrop2/120x120")
    hits = nginx_origin.hits(path) + nginx_origin.hits(path, "HEAD")
    second = via_nginx.get(path + "?facecrop2/120x120")
    assert second.status_code == 200 and second.content == first.content
    assert nginx_origin.hits(path) + nginx_origin.hits(path, "HEAD") == hits == 1


def test_identical_concurrent_requests_fetch_and_compute_once(via_nginx: Proxy, nginx_origin: Nginx):
    path = copy(nginx_origin, "large.jpg", "crowded.jpg")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: via_nginx.get(path + "?facecrop2/150x150"), range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert nginx_origin.hits(path) == 1


def test_revalidation_reuses_the_result_until_the_original_changes(revalidating: Proxy, nginx_origin: Nginx):
    target = nginx_origin.root / "changes.jpg"
    target.write_bytes(jpeg_bytes(grace_hopper()))
    path = "/changes.jpg"
    first = revalidating.get(path + "?facecrop2/200x200")
    assert first.status_code == 200
    # unchanged: a conditional HEAD answered 304 confirms the cached result; no new download
    assert revalidating.get(path + "?facecrop2/200x200").content == first.content
    assert (nginx_origin.hits(path), nginx_origin.hits(path, "HEAD")) == (1, 1)
    # changed: a new ETag at the origin, so a new download and a new result
    time.sleep(1.1)  # nginx's ETag has one-second resolution
    target.write_bytes(jpeg_bytes(astronaut()))
    changed = revalidating.get(path + "?facecrop2/200x200")
    assert changed.status_code == 200
    assert changed.headers["etag"] != first.headers["etag"] and changed.content != first.content
    assert nginx_origin.hits(path) == 2


def test_missing_object_is_404(via_nginx: Proxy):
    assert error_of(via_nginx.get("/nothing-here.jpg?facecrop2/100x100"), 404) == "Document not found"
    assert error_of(via_nginx.get("/nothing-here.jpg"), 404) == "Document not found"


def test_html_served_as_jpeg_is_415(via_nginx: Proxy, nginx_origin: Nginx):
    (nginx_origin.root / "html-as-jpeg.jpg").write_text("<html><body>Error page</body></html>")
    assert httpx.get(nginx_origin.url + "/html-as-jpeg.jpg").headers["content-type"] == "image/jpeg"
    message = error_of(via_nginx.get("/html-as-jpeg.jpg?facecrop2/100x100"), 415)
    assert message == "not an image, or a format this proxy cannot read"


def test_slow_origin_is_504_and_the_proxy_keeps_serving(impatient: Proxy):
    # nginx sends /slow/ at 20 kB/s: the 2.2 MB photo would take two minutes, the proxy waits 2 s.
    message = error_of(impatient.get("/slow/large.jpg?facecrop2/100x100"), 504)
    assert message == "origin timed out after 2 s"
    assert impatient.get("/grace_hopper.jpg?facecrop2/90x90").status_code == 200


def test_a_trickling_original_is_cut_off_at_the_origin_timeout(impatient: Proxy, nginx_origin: Nginx):
    """Without a pipeline the original streams through; the whole-fetch deadline still holds."""
    full = (nginx_origin.root / "large.jpg").stat().st_size
    received = 0
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("GET", impatient.url + "/slow/large.jpg", timeout=60) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_raw():
            received += len(chunk)
    assert received < full
    assert impatient.get("/grace_hopper.jpg?facecrop2/90x90").status_code == 200


@pytest.mark.parametrize("query", ["", "?facecrop2/100x100", "?imageInfo"])
def test_a_redirect_from_the_origin_is_not_followed(via_nginx: Proxy, query: str):
    # The redirect points at the proxy's own loopback, as one to a metadata service would.
    message = error_of(via_nginx.get("/redirect.jpg" + query), 502)
    assert message == "origin answered 302 (a redirect, which the proxy does not follow)"


def test_original_over_the_size_limit_is_413(nginx_origin: Nginx, tmp_path: Path):
    small_limit = start_proxy(nginx_origin.url, tmp_path, max_source_bytes="50000")
    try:
        message = error_of(small_limit.get("/grace_hopper.jpg?facecrop2/100x100"), 413)
        assert "over the limit of 50000" in message
    finally:
        stop(small_limit.process)


def test_unreachable_origin_is_502(tmp_path: Path):
    nobody = start_proxy(f"http://127.0.0.1:{free_port()}", tmp_path)
    try:
        assert error_of(nobody.get("/a.jpg?facecrop2/100x100"), 502) == "origin unreachable: ConnectError"
        assert error_of(nobody.get("/a.jpg"), 502) == "origin unreachable: ConnectError"
    finally:
        stop(nobody.process)


def test_sigterm_lets_a_request_in_flight_finish(nginx_origin: Nginx, tmp_path: Path):
    patient = start_proxy(nginx_origin.url, tmp_path, origin_timeout="30")
    outcome: dict[str, httpx.Response] = {}
    # /slow/ trickles the 86 kB photo over ~4 s, so the request is still running when SIGTERM arrives
    worker = threading.Thread(target=lambda: outcome.update(r=patient.get("/slow/grace_hopper.jpg?facecrop2/100x100")))
    worker.start()
    time.sleep(1.0)
    assert stop(patient.process) in (0, -15)
    worker.join(timeout=30)
    assert outcome["r"].status_code == 200
    assert decode(outcome["r"].content).size == (100, 100)
