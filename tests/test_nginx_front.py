"""nginx in front, with the repo's own nginx.conf.example: shared cache and consistent hashing."""

from __future__ import annotations

import base64
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import qiniu
import requests
from conftest import REPO, Proxy, free_port, start_nginx, start_proxy, stop
from qiniu import Auth
from qiniu.auth import QiniuMacRequestsAuth

AK, SK = "front-ak", "front-sk"


def local_config(example: str, port: int, upstreams: list[Proxy], prefix: Path) -> str:
    """The example as written, with this test's port, instances and folders put in."""
    servers = [line for line in example.splitlines() if line.strip().startswith("server 127.0.0.1:808")]
    assert len(servers) == 2, "the example names two upstream instances"
    config = example.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    for line, proxy in zip(servers, upstreams, strict=True):
        config = config.replace(line, line.replace(line.split()[1], proxy.url.removeprefix("http://")))
    config = config.replace("/var/cache/nginx", str(prefix / "cache")).replace("/var/log/nginx", str(prefix))
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix}/tmp-{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = config.replace("http {\n", "http {\n" + temp_paths, 1)
    # As root (CI), nginx workers would drop to `nobody`, who cannot read pytest's private temp folders.
    return ("user root;\n" if os.geteuid() == 0 else "") + config


def nginx_in_front(samples_dir: Path, prefix: Path, **settings: str) -> Iterator[tuple[str, list[Proxy]]]:
    """nginx with the example's configuration in front of two instances with `settings`."""
    (prefix / "cache").mkdir()
    upstreams: list[Proxy] = []
    try:
        upstreams += [start_proxy(str(samples_dir), prefix, **settings) for _ in range(2)]
        port = free_port()
        example = (REPO / "nginx.conf.example").read_text()
        nginx = start_nginx(local_config(example, port, upstreams, prefix), prefix, f"http://127.0.0.1:{port}/healthz")
        try:
            yield f"http://127.0.0.1:{port}", upstreams
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    finally:
        for proxy in upstreams:
            stop(proxy.process)


@pytest.fixture(scope="module")
def front(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Proxy]]]:
    yield from nginx_in_front(samples_dir, tmp_path_factory.mktemp("front"))


@pytest.fixture(scope="module")
def private_front(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Proxy]]]:
    """Private downloads and signed APIs behind nginx: every URL needs a token."""
    yield from nginx_in_front(samples_dir, tmp_path_factory.mktemp("private"), private_downloads="1", api_keys=f"{AK}:{SK}")


@pytest.fixture(scope="module")
def modern_front(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Proxy]]]:
    """IMGPROXY_AUTO_WEBP=1 behind nginx: one URL, a WebP or a JPEG by the request's Accept."""
    yield from nginx_in_front(samples_dir, tmp_path_factory.mktemp("modern"), auto_webp="1")


def served_by(upstreams: list[Proxy], path: str) -> list[int]:
    return [i for i, proxy in enumerate(upstreams) if f'"GET {path}"' in proxy.log.read_text()]


def test_results_are_cached_by_nginx(front):
    url, upstreams = front
    path = "/grace_hopper.jpg?facecrop2/160x160"
    first = httpx.get(url + path, timeout=30)
    second = httpx.get(url + path, timeout=30)
    assert first.status_code == second.status_code == 200
    assert (first.headers["x-cache-status"], second.headers["x-cache-status"]) == ("MISS", "HIT")
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    assert len(served_by(upstreams, path)) == 1
    assert sum(proxy.log.read_text().count(f'"GET {path}"') for proxy in upstreams) == 1


def test_errors_are_never_cached(front):
    url, _ = front
    for _ in range(2):
        response = httpx.get(url + "/no_face.jpg?facecrop2/100x100", timeout=30)
        assert response.status_code == 422 and response.headers["x-cache-status"] == "MISS"


def test_each_url_goes_to_one_instance_and_both_share_the_work(front):
    url, upstreams = front
    paths = [f"/astronaut.jpg?facecrop2/{side}x{side}" for side in range(100, 140)]
    for path in paths:
        assert httpx.get(url + path, timeout=30).status_code == 200
    owners = [served_by(upstreams, path) for path in paths]
    assert all(len(owner) == 1 for owner in owners)
    counts = [sum(1 for owner in owners if owner == [i]) for i in range(2)]
    assert min(counts) >= 5, counts


def test_a_token_url_is_never_served_from_nginx_past_its_token(private_front):
    """A URL signed for 3 s answers 200 through nginx, and 401 once expired, though nginx saw the 200."""
    url, _ = private_front
    signed = Auth(AK, SK).private_download_url(url + "/grace_hopper.jpg?facecrop2/130x130", expires=3)
    first = httpx.get(signed, timeout=30)
    assert first.status_code == 200 and first.headers["cache-control"].startswith("private, max-age=")
    deadline = int(signed.split("&e=")[1].split("&")[0])
    threading.Event().wait(max(0, deadline - time.time()) + 1.5)  # the token expires on purpose
    expired = httpx.get(signed, timeout=30)
    assert expired.status_code == 401 and expired.json()["error"] == "download token expired"


def test_signed_downloads_and_apis_keep_the_port_of_the_host(private_front, samples_dir: Path):
    url, _ = private_front
    assert ":" in url.removeprefix("http://")  # the Host the client signs has a port
    signed = Auth(AK, SK).private_download_url(url + "/grace_hopper.jpg", expires=3600)
    assert httpx.get(signed, timeout=30).content == (samples_dir / "grace_hopper.jpg").read_bytes()
    auth = QiniuMacRequestsAuth(qiniu.QiniuMacAuth(AK, SK))
    image = base64.b64encode((samples_dir / "grace_hopper.jpg").read_bytes()).decode()
    answer = requests.post(url + "/v2/facedetect", json={"image": image, "image_type": "BASE64"}, auth=auth, timeout=60)
    assert answer.status_code == 200 and answer.json()["error_code"] == 0, answer.text


def test_tokens_never_reach_the_access_log(private_front):
    url, upstreams = private_front
    signed = Auth(AK, SK).private_download_url(url + "/astronaut.jpg?imageInfo", expires=3600)
    assert httpx.get(signed, timeout=30).status_code == 200
    token = signed.split("&token=")[1]
    logs = "".join(proxy.log.read_text() for proxy in upstreams)
    assert "/astronaut.jpg?imageInfo&e=[redacted]&token=[redacted]" in logs
    assert token not in logs and token.split(":")[1] not in logs


def test_nginx_and_imgproxy_log_one_request_id_and_nginx_logs_no_token(private_front):
    url, upstreams = private_front
    signed = Auth(AK, SK).private_download_url(url + "/grace_hopper.jpg?imageInfo", expires=3600)
    request_id = httpx.get(signed, timeout=30).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # nginx's $request_id, the client sent none
    assert any(f"[{request_id}]" in proxy.log.read_text() for proxy in upstreams)
    nginx_log = upstreams[0].log.parent / "imgproxy.access.log"
    # nginx writes its line once the answer is sent: wait for it (a minute at most).
    for _ in range(600):
        if f"id={request_id}" in nginx_log.read_text():
            break
        threading.Event().wait(0.1)
    (line,) = [line for line in nginx_log.read_text().splitlines() if f"id={request_id}" in line]
    assert '"GET /grace_hopper.jpg?imageInfo&[redacted] HTTP/1.1" 200' in line
    assert signed.split("&token=")[1].split(":")[1] not in nginx_log.read_text()


def test_an_answer_from_the_nginx_cache_carries_its_own_request_id(front):
    url, _ = front
    path = url + "/astronaut.jpg?facecrop2/64x64"
    answers = [httpx.get(path, timeout=30, headers={"X-Request-Id": f"client-{n}"}) for n in range(2)]
    assert [a.headers["x-cache-status"] for a in answers] == ["MISS", "HIT"]
    assert [a.headers["x-request-id"] for a in answers] == ["client-0", "client-1"]


# Chrome's and Firefox's Accept for an <img>: both list WebP, so they share nginx's entry.
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
FIREFOX = "image/avif,image/webp,*/*"


def test_nginx_keeps_one_answer_per_format_the_accept_chooses(modern_front):
    url, upstreams = modern_front
    path = "/grace_hopper.jpg?imageView2/2/w/240"
    rounds = [
        {accept: httpx.get(url + path, headers={"Accept": accept}, timeout=30) for accept in (CHROME, "*/*")} for _ in range(2)
    ]
    assert [answer.headers["x-cache-status"] for answer in rounds[0].values()] == ["MISS", "MISS"]
    assert [answer.headers["x-cache-status"] for answer in rounds[1].values()] == ["HIT", "HIT"]
    for answers in rounds:
        assert answers[CHROME].headers["content-type"] == "image/webp" and answers["*/*"].headers["content-type"] == "image/jpeg"
        assert answers[CHROME].content != answers["*/*"].content
        assert all(answer.headers["vary"] == "Accept" for answer in answers.values())
    assert rounds[1][CHROME].content == rounds[0][CHROME].content and rounds[1]["*/*"].content == rounds[0]["*/*"].content
    # Another browser listing the same formats is served the same entry, though its header differs.
    firefox = httpx.get(url + path, headers={"Accept": FIREFOX}, timeout=30)
    assert firefox.headers["x-cache-status"] == "HIT" and firefox.content == rounds[0][CHROME].content
    # A client that refuses WebP by weight never gets the cached WebP.
    refusing = httpx.get(url + path, headers={"Accept": "image/webp;q=0,*/*"}, timeout=30)
    assert refusing.headers["x-cache-status"] == "MISS" and refusing.headers["content-type"] == "image/jpeg"
    assert sum(proxy.log.read_text().count(f'"GET {path}"') for proxy in upstreams) == 3


def test_with_the_settings_off_every_accept_gets_the_same_answer(front):
    url, _ = front
    path = "/grace_hopper.jpg?imageView2/2/w/180"
    answers = [httpx.get(url + path, headers={"Accept": accept}, timeout=30) for accept in (CHROME, "*/*")]
    assert all(a.headers["content-type"] == "image/jpeg" and "vary" not in a.headers for a in answers)
    assert answers[0].content == answers[1].content and answers[0].headers["etag"] == answers[1].headers["etag"]
