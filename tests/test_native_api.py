"""POST /v1/face/detect: the image from a multipart file, base64 or a URL; the SSRF-safe fetch; errors."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from conftest import Proxy, error_of, start_proxy, stop
from images import png_bomb
from PIL import Image

from imgproxy import samples
from imgproxy.api.fetch import (
    MAX_REDIRECTS,
    FetchPolicy,
    URLRefused,
    URLTooLarge,
    URLUnreachable,
    allowed_address,
    checked_url,
    fetch,
    is_public,
)
from imgproxy.api.inputs import BadBase64, EmptyImage, ImageTooLarge, NotAFile, base64_bytes
from imgproxy.config import ConfigError, Settings, parse_allowlist

DETECT = "/v1/face/detect"
KEYPOINTS = {"right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion"}


def post(proxy: Proxy, **kwargs) -> httpx.Response:
    return httpx.post(proxy.url + DETECT, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def hopper(samples_dir: Path) -> bytes:
    return (samples_dir / "grace_hopper.jpg").read_bytes()


# Addresses and URLs, without a network.


@pytest.mark.parametrize(
    "address, public",
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("127.0.0.2", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("2002:7f00:1::1", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b::808:808", True),
    ],
)
def test_only_public_unicast_addresses_are_public(address: str, public: bool):
    assert is_public(ipaddress.ip_address(address)) is public


def test_the_allowlist_names_hosts_and_networks():
    allow = parse_allowlist("images.internal, 10.0.0.0/8, 127.0.0.1")
    loopback, private, other = (ipaddress.ip_address(a) for a in ("127.0.0.1", "10.9.9.9", "192.168.0.1"))
    assert allowed_address("images.internal", [other], allow) == other  # the name is trusted whatever it resolves to
    assert allowed_address("x", [private, loopback], allow) == private
    with pytest.raises(URLRefused, match=r"192\.168\.0\.1"):
        allowed_address("x", [private, other], allow)  # one bad address refuses the host
    with pytest.raises(URLRefused):
        allowed_address("x", [], allow)


def test_the_allowlist_setting_is_checked_at_start():
    assert Settings(url_allowlist="127.0.0.1,[::1],localhost").url_allowed.hosts == {"localhost"}
    for bad in ("10.0.0.300", "a b", "1.2.3.4/33"):
        with pytest.raises(ConfigError, match="IMGPROXY_URL_ALLOWLIST"):
            Settings(url_allowlist=bad)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.jpg", "file:///etc/passwd", "example.com/a.jpg", "http:///a.jpg", "http://[::1/"]
)
def test_only_http_urls_with_a_host(url: str):
    with pytest.raises(URLRefused):
        checked_url(url)


PUBLIC = ipaddress.ip_address("93.184.216.34")
POLICY = FetchPolicy(parse_allowlist(""), max_bytes=1000, timeout=5, connect_timeout=5)


async def resolve_public(host: str, port: int) -> list:
    return [ipaddress.ip_address("10.0.0.1")] if host == "internal.example" else [PUBLIC]


def fetch_with(handler, url: str = "http://images.example/a.jpg", policy: FetchPolicy = POLICY) -> bytes:
    return asyncio.run(fetch(url, policy, resolve_public, httpx.MockTransport(handler)))


def test_each_hop_connects_to_the_checked_address_with_the_real_host():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers["host"], request.extensions.get("sni_hostname")))
        if request.url.path == "/a.jpg":
            return httpx.Response(302, headers={"Location": "https://cdn.example:8443/b.jpg"})
        return httpx.Response(200, content=b"image bytes")

    assert fetch_with(handler) == b"image bytes"
    assert seen == [(str(PUBLIC), "images.example", "images.example"), (str(PUBLIC), "cdn.example:8443", "cdn.example")]


def test_a_redirect_to_a_private_address_is_refused():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": "http://internal.example/secret"})

    with pytest.raises(URLRefused, match=r"10\.0\.0\.1"):
        fetch_with(handler)


def test_redirects_are_limited_and_errors_are_bad_gateway():
    hops = []

    def loop(request: httpx.Request) -> httpx.Response:
        hops.append(request.url)
        return httpx.Response(302, headers={"Location": "/again"})

    with pytest.raises(URLUnreachable, match="redirected more than"):
        fetch_with(loop)
    assert len(hops) == MAX_REDIRECTS + 1
    with pytest.raises(URLUnreachable, match="answered 404"):
        fetch_with(lambda request: httpx.Response(404))
    with pytest.raises(URLRefused, match="ftp"):
        fetch_with(lambda request: httpx.Response(302, headers={"Location": "ftp://images.example/a.jpg"}))
    with pytest.raises(URLUnreachable):
        fetch_with(lambda request: httpx.Response(302, headers={"Location": "http://images.example:abc/"}))


def test_the_body_is_capped_declared_or_not():
    with pytest.raises(URLTooLarge):
        fetch_with(lambda request: httpx.Response(200, content=b"x" * 1001))

    async def chunks() -> AsyncIterator[bytes]:
        yield b"x" * 600
        yield b"x" * 600

    def undeclared(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())  # streamed: no Content-Length

    with pytest.raises(URLTooLarge):
        fetch_with(undeclared)


# base64 text.


def test_base64_in_its_common_spellings():
    data = bytes(range(256)) * 3
    standard = base64.b64encode(data).decode()
    assert base64_bytes(standard, "image_base64", 10_000) == data
    assert base64_bytes(base64.urlsafe_b64encode(data).decode().rstrip("="), "image_base64", 10_000) == data
    assert base64_bytes("data:image/jpeg;base64," + standard, "image_base64", 10_000) == data
    wrapped = "\n".join(standard[i : i + 76] for i in range(0, len(standard), 76))
    assert base64_bytes(wrapped, "image_base64", 10_000) == data


@pytest.mark.parametrize(
    "value, error",
    [("not base64!", BadBase64), ("QUJD\u00e9", BadBase64), ("", EmptyImage), (12, NotAFile), ("A" * 2000, ImageTooLarge)],
)
def test_bad_base64(value: object, error: type):
    with pytest.raises(error):
        base64_bytes(value, "image_base64", 1000)


# The endpoint, on a real server.


def test_multipart_upload_answers_what_the_op_answers(proxy: Proxy, hopper: bytes):
    response = post(proxy, files={"image": ("photo.jpg", hopper, "image/jpeg")})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body == proxy.get("/grace_hopper.jpg?facedetect").json()
    assert (body["width"], body["height"], body["orientation"]) == (512, 600, 0)
    assert set(body["faces"][0]["keypoints"]) == KEYPOINTS


def test_options_as_form_fields(proxy: Proxy, hopper: bytes):
    files = {"image": ("photo.jpg", hopper, "image/jpeg")}
    body = post(proxy, files=files, data={"landmarks": "1", "max": "1"}).json()
    (face,) = body["faces"]
    assert len(face["landmarks"]) == 478 and "pose" not in face
    assert all(0 <= x < 512 and 0 <= y < 600 for x, y in face["landmarks"])


def test_json_base64_with_options(proxy: Proxy, hopper: bytes):
    payload = {"image_base64": base64.b64encode(hopper).decode(), "attributes": True, "max": 1, "minsize": 100}
    (face,) = post(proxy, json=payload).json()["faces"]
    assert {"pose", "eyes", "mouth", "quality"} <= face.keys() and "landmarks" not in face
    assert face["box"][2] >= 100 and face["eyes"]["left_open"] is True


def test_exif_rotated_upload_reports_oriented_pixels(proxy: Proxy, samples_dir: Path):
    rotated = (samples_dir / "rotated.jpg").read_bytes()
    body = post(proxy, files={"image": ("r.jpg", rotated, "image/jpeg")}, data={"max": "1"}).json()
    assert (body["width"], body["height"]) == (512, 600)
    assert body["faces"][0]["box"] == proxy.get("/rotated.jpg?facedetect/max/1").json()["faces"][0]["box"]


def test_rotate_reports_the_orientation(proxy: Proxy):
    sideways = samples.jpeg_bytes(samples.grace_hopper().transpose(Image.Transpose.ROTATE_270))
    body = post(proxy, json={"image_base64": base64.b64encode(sideways).decode(), "rotate": 1}).json()
    assert body["orientation"] == 270 and body["faces"]


@pytest.mark.parametrize(
    "kwargs, status, says",
    [
        ({}, 400, "no image"),
        ({"content": b"", "headers": {"content-type": "application/json"}}, 400, "no image"),
        ({"files": {"image": ("empty.jpg", b"", "image/jpeg")}}, 400, "empty"),
        ({"data": {"image": "not a file"}}, 400, "file upload"),
        ({"files": {"image": ("a.jpg", b"<html>hello</html>", "image/jpeg")}}, 415, "not an image"),
        ({"files": {"image": ("bomb.png", png_bomb(), "image/png")}}, 413, "MP"),
        ({"json": {"image_base64": "!!not base64!!"}}, 400, "image_base64 is not valid base64"),
        ({"json": {"image_base64": "QUJD", "max": -1}}, 400, "max"),
        ({"json": {"image_base64": "QUJD", "max": 100000}}, 400, "max"),
        ({"json": {"image_base64": "QUJD", "minsize": 2}}, 400, "minsize"),
        ({"json": {"image_base64": "QUJD", "landmarks": "yes"}}, 400, "landmarks"),
        ({"json": {"image_base64": "QUJD", "max": 1.5}}, 400, "max"),
        ({"json": {"image_base64": "QUJD", "max_faces": 1}}, 400, "unknown field 'max_faces'"),
        ({"json": {"image_base64": "QUJD", "image_url": "http://example.com/a.jpg"}}, 400, "one image"),
        ({"json": ["image_base64"]}, 400, "object"),
        ({"content": b"--x--", "headers": {"content-type": "multipart/form-data"}}, 400, "boundary"),
        ({"files": [("image", ("a.jpg", b"1", "image/jpeg")), ("image", ("b.jpg", b"2", "image/jpeg"))]}, 400, "twice"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
        ({"content": b"[" * 100_000, "headers": {"content-type": "application/json"}}, 400, "JSON"),
        ({"content": b"raw bytes", "headers": {"content-type": "image/jpeg"}}, 415, "Content-Type"),
        ({"json": {"image_url": "ftp://example.com/a.jpg"}}, 400, "http or https"),
        ({"json": {"image_url": 42}}, 400, "image_url"),
    ],
)
def test_bad_requests_answer_json_errors(proxy: Proxy, kwargs: dict, status: int, says: str):
    assert says in error_of(post(proxy, **kwargs), status)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/grace_hopper.jpg",
        "http://localhost:{port}/grace_hopper.jpg",
        "http://[::1]/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_image_url_to_a_local_address_is_refused(proxy: Proxy, url: str):
    port = httpx.URL(proxy.url).port
    assert "refused" in error_of(post(proxy, json={"image_url": url.format(port=port)}), 400)


def test_get_is_not_the_api(proxy: Proxy):
    assert proxy.get(DETECT).status_code == 404  # the download path: no object of that name


# image_url where the operator allows it, and a small web server that misbehaves.


class Misbehaving(BaseHTTPRequestHandler):
    proxy_url = ""

    def do_GET(self) -> None:
        if self.path == "/to-proxy":
            self.redirect(self.proxy_url + "/grace_hopper.jpg")
        elif self.path == "/to-other-loopback":
            self.redirect(f"http://127.0.0.2:{self.server.server_port}/to-proxy")
        elif self.path == "/loop":
            self.redirect("/loop")
        elif self.path == "/slow":
            threading.Event().wait(60)
            self.answer(200, b"late")
        elif self.path == "/html":
            self.answer(200, b"<html>sorry</html>")
        else:
            self.answer(404, b"")

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def allowing(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proxy, str]]:
    """A proxy that may fetch from 127.0.0.1 (not from the rest of 127/8), with small limits, and a
    misbehaving web server on 127.0.0.1 beside it."""
    proxy = start_proxy(
        str(samples_dir),
        tmp_path_factory.mktemp("logs"),
        url_allowlist="127.0.0.1",
        max_request_bytes=str(400_000),
        max_source_bytes=str(150_000),
        origin_timeout="5",  # far longer than any fetch here takes, far shorter than /slow
        api_open="1",
    )
    Misbehaving.proxy_url = proxy.url
    server = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    server.daemon_threads = True  # a /slow answer may still be waiting when the module is done
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        stop(proxy.process)


def test_image_url_from_an_allowed_address(allowing: tuple[Proxy, str], hopper: bytes):
    proxy, _ = allowing
    body = post(proxy, json={"image_url": proxy.url + "/grace_hopper.jpg", "max": 1}).json()
    uploaded = post(proxy, files={"image": ("photo.jpg", hopper, "image/jpeg")}, data={"max": "1"}).json()
    assert body == uploaded and len(body["faces"]) == 1


def test_redirects_are_followed_and_each_hop_is_checked(allowing: tuple[Proxy, str]):
    proxy, server = allowing
    followed = post(proxy, json={"image_url": server + "/to-proxy"})
    assert followed.status_code == 200 and followed.json()["faces"]
    refused = error_of(post(proxy, json={"image_url": server + "/to-other-loopback"}), 400)
    assert "127.0.0.2" in refused


@pytest.mark.parametrize(
    "path, status, says",
    [
        ("/loop", 502, "redirected more than"),
        ("/missing", 502, "answered 404"),
        ("/slow", 504, "timed out"),
        ("/html", 415, "not an image"),
    ],
)
def test_image_url_failures(allowing: tuple[Proxy, str], path: str, status: int, says: str):
    proxy, server = allowing
    assert says in error_of(post(proxy, json={"image_url": server + path}), status)


def test_an_unreachable_image_url_is_bad_gateway(allowing: tuple[Proxy, str]):
    proxy, _ = allowing
    with socket_closed_port() as port:
        assert "could not be fetched" in error_of(post(proxy, json={"image_url": f"http://127.0.0.1:{port}/a.jpg"}), 502)


def test_size_limits(allowing: tuple[Proxy, str], samples_dir: Path):
    proxy, _ = allowing
    large = (samples_dir / "large.jpg").read_bytes()  # over both limits of this proxy
    assert "request body" in error_of(post(proxy, files={"image": ("large.jpg", large, "image/jpeg")}), 413)
    middle = samples.jpeg_bytes(samples.large_photo((1000, 750)))
    assert 150_000 < len(middle) < 390_000  # under the body limit, over the image limit
    assert "over the limit" in error_of(post(proxy, files={"image": ("m.jpg", middle, "image/jpeg")}), 413)
    assert "over the limit" in error_of(post(proxy, json={"image_url": proxy.url + "/large.jpg"}), 413)


class socket_closed_port:
    """A loopback port nothing listens on."""

    def __enter__(self) -> int:
        import socket

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        return self.socket.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.socket.close()


@pytest.fixture(scope="module")
def keyed(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    proxy = start_proxy(str(samples_dir), tmp_path_factory.mktemp("logs"), api_keys="ak1:sk1,ak2:sk2")
    yield proxy
    stop(proxy.process)


def test_without_keys_the_api_is_closed_unless_opened(closed: Proxy, hopper: bytes):
    message = error_of(post(closed, files={"image": ("photo.jpg", hopper, "image/jpeg")}), 401)
    assert message == "the detect APIs are closed: set IMGPROXY_API_KEYS, or IMGPROXY_API_OPEN=1"


@pytest.mark.parametrize("auth", [None, ("ak1", "wrong"), ("nobody", "sk1"), ("ak1", "sk2")])
def test_with_keys_a_configured_pair_is_required(keyed: Proxy, hopper: bytes, auth):
    response = httpx.post(keyed.url + "/v1/face/detect", files={"image": ("p.jpg", hopper, "image/jpeg")}, auth=auth, timeout=60)
    assert "HTTP Basic" in error_of(response, 401)
    assert response.headers["www-authenticate"] == 'Basic realm="imgproxy"'


def test_a_configured_pair_is_accepted(keyed: Proxy, hopper: bytes):
    response = httpx.post(
        keyed.url + "/v1/face/detect", files={"image": ("p.jpg", hopper, "image/jpeg")}, auth=("ak2", "sk2"), timeout=60
    )
    assert response.status_code == 200 and len(response.json()["faces"]) == 1
