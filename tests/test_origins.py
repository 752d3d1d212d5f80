"""Several buckets behind one proxy, chosen by the request's Host, as Qiniu binds a domain to each
bucket; and the metrics of origin fetches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from conftest import Proxy, error_of, start_proxy, stop
from images import decode

from imgproxy.config import ConfigError, parse_origin_hosts
from imgproxy.origin import host_name


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> Iterator[Proxy]:
    """avatars.example serves one folder and photos.example another, each with its own photo.jpg;
    no other Host has an origin."""
    avatars, photos = tmp_path_factory.mktemp("avatars"), tmp_path_factory.mktemp("photos")
    (avatars / "photo.jpg").write_bytes((samples_dir / "grace_hopper.jpg").read_bytes())
    (photos / "photo.jpg").write_bytes((samples_dir / "astronaut.jpg").read_bytes())
    table = f"avatars.example={avatars},photos.example={photos}"
    running = start_proxy("none", tmp_path_factory.mktemp("logs"), origin_by_host=table)
    yield running
    stop(running.process)


def test_each_host_answers_its_own_bucket(routed: Proxy, samples_dir: Path):
    for host, name in (("avatars.example", "grace_hopper.jpg"), ("photos.example:8080", "astronaut.jpg")):
        response = routed.get("/photo.jpg", headers={"Host": host})
        assert response.status_code == 200 and response.content == (samples_dir / name).read_bytes()


def test_results_of_the_same_key_never_mix_between_buckets(routed: Proxy):
    """The same pipeline on the same key of two buckets: two results, from the result cache too."""
    sizes = {}
    for _ in range(2):
        for host in ("avatars.example", "photos.example"):
            response = routed.get("/photo.jpg?imageView2/2/w/64", headers={"Host": host})
            assert response.status_code == 200
            sizes.setdefault(host, set()).add(decode(response.content).size)
    assert sizes == {"avatars.example": {(64, 75)}, "photos.example": {(64, 64)}}


def test_a_host_without_an_origin_is_404(routed: Proxy):
    assert error_of(routed.get("/photo.jpg", headers={"Host": "elsewhere.example"}), 404) == "Document not found"
    assert error_of(routed.get("/photo.jpg?imageInfo"), 404) == "Document not found"


def test_origin_fetches_are_counted_per_origin(routed: Proxy):
    routed.get("/photo.jpg?imageView2/2/w/33", headers={"Host": "avatars.example"})
    routed.get("/missing.jpg?imageView2/2/w/33", headers={"Host": "avatars.example"})
    metrics = httpx.get(routed.url + "/metrics", timeout=30).text
    avatars = next(line for line in metrics.splitlines() if line.startswith("imgproxy_origin_bytes_total{") and "avatars" in line)
    assert float(avatars.rsplit(" ", 1)[1]) > 0
    assert any(line.startswith("imgproxy_origin_errors_total{") and 'kind="not_found"' in line for line in metrics.splitlines())


@pytest.mark.parametrize(
    "header,name",
    [("img.example.com", "img.example.com"), ("Img.Example.COM:8080", "img.example.com"), ("[::1]:80", "[::1]"), (None, "")],
)
def test_host_name(header: str | None, name: str):
    assert host_name(header) == name


def test_the_host_table_is_read_and_checked():
    assert parse_origin_hosts("a.example=s3://a, B.example.=https://b.example/x") == {
        "a.example": "s3://a",
        "b.example": "https://b.example/x",
    }
    with pytest.raises(ConfigError, match="IMGPROXY_ORIGIN_BY_HOST: expected host=origin pairs"):
        parse_origin_hosts("a.example")


class Plain(BaseHTTPRequestHandler):
    """An origin that sends neither ETag nor Last-Modified, counting what it serves."""

    served = 0
    photo = b""

    def do_GET(self) -> None:
        type(self).served += 1
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.photo)))
        self.end_headers()
        self.wfile.write(self.photo)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_origin_without_validators_is_downloaded_again_but_not_processed_again(samples_dir: Path, tmp_path: Path):
    Plain.photo = (samples_dir / "grace_hopper.jpg").read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = start_proxy(f"http://127.0.0.1:{server.server_address[1]}", tmp_path)
    try:
        first, second = (proxy.get("/photo.jpg?facecrop2/120x120") for _ in range(2))
        assert first.status_code == second.status_code == 200 and first.content == second.content
        assert first.headers["etag"] == second.headers["etag"]  # the content hash names the original
        assert Plain.served == 2  # nothing tells the proxy the original is unchanged: it must look
        metrics = httpx.get(proxy.url + "/metrics", timeout=30).text
        assert 'imgproxy_cache_lookups_total{cache="result",outcome="hit"} 1.0' in metrics
        assert 'imgproxy_cache_lookups_total{cache="result",outcome="miss"} 1.0' in metrics
    finally:
        stop(proxy.process)
        server.shutdown()
