"""Connection-level defences, against a real server over raw sockets: clients that say nothing, send
their headers a byte at a time, send too many header bytes, open too many connections, or withhold
the end of an upload.

Every client here is slow or hostile on purpose; the bounds the tests wait for are generous
(`PATIENCE`) and never a measure of how fast the server is.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from http.client import HTTPResponse
from pathlib import Path

import pytest
from conftest import Proxy, start_proxy, stop

PATIENCE = 30.0  # seconds a test waits for the server to do what it must, at most
HEAD_LIMIT = 4096


@pytest.fixture(scope="module")
def impatient(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """A proxy that gives clients 1 s for their headers and for a detect API body, and keeps an idle
    connection 6 s."""
    running = start_proxy(
        str(samples_dir), tmp_path_factory.mktemp("logs"),
        header_timeout="1", body_timeout="1", keep_alive_timeout="6", api_open="1",
    )  # fmt: skip
    yield running
    stop(running.process)


@pytest.fixture(scope="module")
def small(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """A proxy with few connections and small headers, which never times the tests' headers out."""
    running = start_proxy(
        str(samples_dir), tmp_path_factory.mktemp("logs"),
        max_connections="20", max_header_bytes=str(HEAD_LIMIT), header_timeout="600",
    )  # fmt: skip
    yield running
    stop(running.process)


def connect(proxy: Proxy) -> socket.socket:
    host, port = proxy.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=PATIENCE)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closing)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return int(status_line.split(" ")[1]), headers, body


def error_answer(answer: bytes, status: int) -> str:
    """The message of a proxy error answer that closes its connection, after checking it is one."""
    got, headers, body = parse(answer)
    assert got == status, answer[:300]
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store"
    assert headers["connection"] == "close"
    return json.loads(body)["error"]


def send_until_answered(sock: socket.socket, pieces: Iterator[bytes], pause: float) -> bytes:
    """Sends `pieces` one at a time, `pause` seconds apart, until the server answers or closes;
    then what it sent. Fails if it is still listening after PATIENCE seconds."""
    deadline = time.monotonic() + PATIENCE
    for piece in pieces:
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            break  # closed while we were sending
        readable, _, _ = select.select([sock], [], [], pause)
        if readable:
            break
        assert time.monotonic() < deadline, "the server still reads a client that never finishes"
    return read_until_closed(sock)


def forever(piece: bytes) -> Iterator[bytes]:
    while True:
        yield piece


def request(sock: socket.socket, path: str, extra: str = "") -> tuple[HTTPResponse, bytes]:
    """One GET on a connection that stays open, and its answer's body."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: proxy\r\n{extra}\r\n".encode())
    response = HTTPResponse(sock)
    response.begin()
    return response, response.read()


# Clients that take too long over their headers.


def test_a_connection_that_sends_nothing_is_closed(impatient: Proxy):
    with connect(impatient) as sock:
        assert read_until_closed(sock) == b""  # nothing was asked, so nothing is answered


def test_headers_sent_a_byte_at_a_time_are_cut_off(impatient: Proxy):
    with connect(impatient) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: proxy\r\nX-Slow: ")
        answer = send_until_answered(sock, forever(b"a"), pause=0.3)
    if answer:  # the 408 may be lost to a reset when a byte arrives after the server closed
        assert error_answer(answer, 408) == "request headers not received within 1 s"


def test_a_keep_alive_client_pausing_between_requests_is_served(impatient: Proxy):
    with connect(impatient) as sock:
        for _ in range(3):
            response, _ = request(sock, "/healthz")
            assert response.status == 200
            assert response.getheader("connection") is None  # kept alive
            time.sleep(2)  # longer than the header timeout: keep-alive governs the idle time


def test_an_idle_keep_alive_connection_is_closed(impatient: Proxy):
    with connect(impatient) as sock:
        response, _ = request(sock, "/healthz")
        assert response.status == 200
        assert read_until_closed(sock) == b""


# Too many header bytes.


def test_a_header_over_the_limit_is_refused_with_431(small: Proxy):
    with connect(small) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: proxy\r\nX-Big: " + b"a" * 2 * HEAD_LIMIT + b"\r\n\r\n")
        answer = read_until_closed(sock)
    assert error_answer(answer, 431) == f"request headers are over the limit of {HEAD_LIMIT} bytes"


def test_many_tiny_headers_are_refused_with_431(small: Proxy):
    with connect(small) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: proxy\r\n" + b"x:\r\n" * 3000 + b"\r\n")
        answer = read_until_closed(sock)
    assert error_answer(answer, 431) == f"request headers are over the limit of {HEAD_LIMIT} bytes"


def test_a_long_url_is_refused_with_431(small: Proxy):
    with connect(small) as sock:
        sock.sendall(b"GET /" + b"a" * 2 * HEAD_LIMIT + b" HTTP/1.1\r\nHost: proxy\r\n\r\n")
        answer = read_until_closed(sock)
    assert error_answer(answer, 431) == f"request headers are over the limit of {HEAD_LIMIT} bytes"


def test_a_header_that_never_ends_is_refused_as_it_grows(small: Proxy):
    # httptools holds a header until its end: the limit must apply to the bytes still coming.
    with connect(small) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: proxy\r\nX-Endless: ")
        answer = send_until_answered(sock, forever(b"a" * 1024), pause=0.05)
    if answer:  # the 431 may be lost to a reset when a piece arrives after the server closed
        assert error_answer(answer, 431) == f"request headers are over the limit of {HEAD_LIMIT} bytes"


def test_headers_within_the_limit_are_served(small: Proxy):
    with connect(small) as sock:
        response, _ = request(sock, "/healthz", "X-Fine: " + "a" * (HEAD_LIMIT // 2) + "\r\n")
        assert response.status == 200


# Too many connections.


def test_connections_beyond_the_limit_are_closed_at_once(small: Proxy):
    socks = [connect(small) for _ in range(40)]
    try:
        served, refused = [], 0
        for sock in socks:  # a request on each: the connections kept are served, the others were closed
            try:
                response, body = request(sock, "/healthz")  # kept alive: no connection frees a place meanwhile
            except ConnectionError:  # closed before the request, or reset: its 503 was lost
                refused += 1
                continue
            if response.status == 200:
                served.append(sock)
            else:
                refused += 1
                assert response.status == 503
                assert response.getheader("connection") == "close"
                assert json.loads(body) == {"error": "too many open connections; retry later"}
        assert 0 < len(served) <= 20
        assert len(served) + refused == 40
        for sock in served:  # the server has let go of a connection once it closes its end too
            sock.shutdown(socket.SHUT_WR)
            assert read_until_closed(sock) == b""
    finally:
        for sock in socks:
            sock.close()
    assert small.get("/healthz").status_code == 200  # so a new connection is served again


# A detect API upload that stops halfway.


def test_an_upload_that_stalls_gets_408_and_others_are_served(impatient: Proxy):
    head = (
        "POST /v1/face/detect HTTP/1.1\r\nHost: proxy\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000000\r\n\r\n"
    )
    with connect(impatient) as sock:
        sock.sendall(head.encode() + b"--x\r\n" + b"a" * 500_000)
        assert impatient.get("/healthz").status_code == 200  # while the upload hangs
        answer = read_until_closed(sock)
    assert error_answer(answer, 408) == "request body not received within 1 s"


@pytest.mark.parametrize("path, content_type, status, code", [
    ("/face/detect", "multipart/form-data; boundary=x", 200, ("code", 3)),
    ("/v2/facedetect", "application/json", 200, ("error_code", 216100)),
    ("/facepp/v3/detect", "multipart/form-data; boundary=x", 400, ("error_message", "BAD_ARGUMENTS:request_body")),
    ("/faceid/v1/detect", "multipart/form-data; boundary=x", 400, ("error", "BAD_ARGUMENTS:request_body")),
])  # fmt: skip
def test_a_vendor_upload_that_stalls_gets_the_vendors_error(
    impatient: Proxy, path: str, content_type: str, status: int, code: tuple[str, object]
):
    head = f"POST {path} HTTP/1.1\r\nHost: proxy\r\nContent-Type: {content_type}\r\nContent-Length: 1000\r\n\r\n"
    with connect(impatient) as sock:
        sock.sendall(head.encode() + b"{" * 500)
        response = HTTPResponse(sock)
        response.begin()
        assert response.status == status
        name, value = code
        assert json.loads(response.read())[name] == value
