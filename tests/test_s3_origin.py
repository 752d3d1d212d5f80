"""An s3:// origin in front of a real S3-compatible server that checks Signature V4: moto's server
mode with IAM authentication on. A user, its policy and its access key are made first (the only
unauthenticated actions the server allows), then the photos are uploaded with that key."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import Proxy, error_of, free_port, start_proxy, stop, wait_until_up
from images import decode

BUCKET = "photos"
POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
PHOTOS = ("grace_hopper.jpg", "astronaut.jpg", "no_face.jpg")


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str

    def client(self, secret: str | None = None) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret or self.secret_key,
        )


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> Iterator[S3Server]:
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}  # create user, its policy, its key
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(endpoint + "/moto-api/", process)
        iam = boto3.client(
            "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        iam.create_user(UserName="imgproxy")
        iam.put_user_policy(UserName="imgproxy", PolicyName="s3", PolicyDocument=POLICY)
        key = iam.create_access_key(UserName="imgproxy")["AccessKey"]
        server = S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
        client = server.client()
        client.create_bucket(Bucket=BUCKET)
        for name in PHOTOS:
            client.put_object(Bucket=BUCKET, Key=f"users/{name}", Body=(samples_dir / name).read_bytes())
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def s3_proxy(s3: S3Server, log_dir: Path, secret: str | None = None, **settings: str) -> Proxy:
    """The proxy over the bucket's users/ prefix, its credentials in the standard AWS variables."""
    credentials = {"AWS_ACCESS_KEY_ID": s3.access_key, "AWS_SECRET_ACCESS_KEY": secret or s3.secret_key}
    return start_proxy(f"s3://{BUCKET}/users", log_dir, credentials, s3_endpoint=s3.endpoint, **settings)


@pytest.fixture(scope="module")
def proxy_s3(s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    running = s3_proxy(s3, tmp_path_factory.mktemp("logs"))
    yield running
    stop(running.process)


def test_the_server_really_checks_signatures(s3: S3Server):
    with pytest.raises(ClientError) as refused:
        s3.client(secret="wrong").get_object(Bucket=BUCKET, Key="users/grace_hopper.jpg")
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_facecrop2_and_imageview2_from_a_private_bucket(proxy_s3: Proxy):
    crop = proxy_s3.get("/grace_hopper.jpg?facecrop2/200x200")
    assert crop.status_code == 200 and decode(crop.content).size == (200, 200)
    assert crop.headers["x-face-count"] == "1"
    thumb = proxy_s3.get("/astronaut.jpg?imageView2/2/w/100")
    assert thumb.status_code == 200 and decode(thumb.content).size == (100, 100)


def test_the_original_passes_through_byte_for_byte_with_ranges_and_304(proxy_s3: Proxy, samples_dir: Path):
    original = (samples_dir / "grace_hopper.jpg").read_bytes()
    whole = proxy_s3.get("/grace_hopper.jpg")
    assert whole.status_code == 200 and whole.content == original
    etag = whole.headers["etag"]
    part = proxy_s3.get("/grace_hopper.jpg", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == original[:100]
    assert proxy_s3.get("/grace_hopper.jpg", headers={"If-None-Match": etag}).status_code == 304


def test_a_processed_result_is_304_on_its_etag(proxy_s3: Proxy):
    first = proxy_s3.get("/no_face.jpg?imageView2/2/w/50")
    again = proxy_s3.get("/no_face.jpg?imageView2/2/w/50", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_a_missing_key_is_404(proxy_s3: Proxy):
    assert error_of(proxy_s3.get("/missing.jpg?facecrop2/100x100"), 404) == "Document not found"
    assert error_of(proxy_s3.get("/missing.jpg"), 404) == "Document not found"


def test_a_wrong_secret_is_refused_by_the_server_and_says_so(s3: S3Server, tmp_path: Path):
    wrong = s3_proxy(s3, tmp_path, secret="not-the-secret")
    try:
        for path in ("/grace_hopper.jpg?facecrop2/100x100", "/grace_hopper.jpg"):
            assert error_of(wrong.get(path), 502) == "origin refused the proxy's credentials (403)"
        log = wrong.log.read_text()
        assert "SignatureDoesNotMatch" in log and "not-the-secret" not in log
    finally:
        stop(wrong.process)


def test_an_object_over_the_size_limit_is_413(s3: S3Server, tmp_path: Path):
    small = s3_proxy(s3, tmp_path, max_source_bytes="10000")
    try:
        assert "over the limit of 10000" in error_of(small.get("/grace_hopper.jpg?facecrop2/100x100"), 413)
    finally:
        stop(small.process)


def test_without_credentials_the_proxy_does_not_start(tmp_path: Path):
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")})
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    done = subprocess.run(
        [sys.executable, "-m", "imgproxy", "serve", "--origin", "s3://photos"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "an s3:// origin needs AWS credentials" in done.stderr


def test_s3_error_codes_are_read_from_the_body():
    from imgproxy.origin.http import error_code

    body = b'<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
    assert error_code(body) == "AccessDenied" and error_code(b"") == "-"


def test_an_unreached_bucket_answers_502_after_its_retries(tmp_path: Path):
    credentials = {"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"}
    nobody = start_proxy("s3://photos", tmp_path, credentials, s3_endpoint=f"http://127.0.0.1:{free_port()}")
    try:
        assert error_of(nobody.get("/a.jpg?facecrop2/100x100"), 502) == "origin unreachable: ConnectError"
    finally:
        stop(nobody.process)


class Throttling(ThreadingHTTPServer):
    """A real HTTP proxy in front of the S3 server that answers S3's 503 SlowDown to the first
    `throttled` requests, then forwards each request as it came (Host included, so its signature
    still holds)."""

    def __init__(self, upstream: str, throttled: int) -> None:
        self.upstream, self.throttled, self.seen = upstream, throttled, 0
        super().__init__(("127.0.0.1", 0), ThrottlingHandler)


class ThrottlingHandler(BaseHTTPRequestHandler):
    server: Throttling

    def do_GET(self) -> None:
        self.server.seen += 1
        if self.server.seen <= self.server.throttled:
            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            self.send_response(503)
        else:
            answer = httpx.get(self.server.upstream + self.path, headers=dict(self.headers), timeout=30)
            body = answer.content
            self.send_response(answer.status_code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("throttled,status", [(2, 200), (10, 502)])
def test_throttling_is_retried_then_a_502(s3: S3Server, tmp_path: Path, throttled: int, status: int):
    """Two SlowDowns are retried away (IMGPROXY_ORIGIN_RETRIES=2); a bucket that keeps throttling is a 502."""
    server = Throttling(s3.endpoint, throttled)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    throttled_s3 = S3Server(f"http://127.0.0.1:{server.server_address[1]}", s3.access_key, s3.secret_key)
    proxy = s3_proxy(throttled_s3, tmp_path)
    try:
        response = proxy.get("/grace_hopper.jpg?imageView2/2/w/50")
        assert response.status_code == status, response.text
        assert server.seen == min(throttled + 1, 3)  # the first try and two retries at most
        if status == 502:
            assert error_of(response, 502) == "origin answered 503"
        metrics = httpx.get(proxy.url + "/metrics", timeout=30).text
        assert f'imgproxy_origin_retries_total{{origin="s3://{BUCKET}/users"}} 2.0' in metrics
    finally:
        stop(proxy.process)
        server.shutdown()


class ExpiredToken(BaseHTTPRequestHandler):
    """What S3 answers a request signed with an expired session token (moto does not expire them)."""

    def do_GET(self) -> None:
        body = b"<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>"
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_expired_session_token_is_refused_credentials(tmp_path: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), ExpiredToken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    credentials = {"AWS_ACCESS_KEY_ID": "ASIA", "AWS_SECRET_ACCESS_KEY": "SK", "AWS_SESSION_TOKEN": "stale-session-token"}
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    proxy = start_proxy("s3://photos", tmp_path, credentials, s3_endpoint=endpoint)
    try:
        assert error_of(proxy.get("/a.jpg?facecrop2/100x100"), 502) == "origin refused the proxy's credentials (400)"
        log = proxy.log.read_text()
        assert "ExpiredToken" in log and "stale-session-token" not in log
    finally:
        stop(proxy.process)
        server.shutdown()
