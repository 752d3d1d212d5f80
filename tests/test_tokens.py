"""Qiniu private-download tokens, signed by the official SDK and sent by real HTTP clients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
from conftest import Proxy, error_of, start_proxy, stop
from qiniu import Auth

from imgproxy.errors import Unauthorized
from imgproxy.http.tokens import check_download_token

AK, SK = "test-access-key", "test-secret-key"
KEYS = {AK: SK}


def test_a_url_signed_by_the_sdk_is_accepted():
    signed = Auth(AK, SK).private_download_url("http://cdn.example.com/a.jpg?facecrop2/200x200", expires=60)
    base, query = signed.split("?", 1)
    check_download_token(base, query, KEYS, time.time())


@pytest.mark.parametrize(
    "mangle,message",
    [
        (lambda q: q.split("&e=")[0], "download token required"),
        (lambda q: q.replace("facecrop2/200x200", "facecrop2/900x900"), "download token is invalid"),
        (lambda q: q.replace(AK, "someone-else"), "download token is invalid"),
        (lambda q: q + "x", "download token is invalid"),
        (lambda q: q.replace("&e=", "&e=x"), "download token has a malformed deadline"),
    ],
)
def test_tampered_or_missing_tokens_are_refused(mangle, message):
    signed = Auth(AK, SK).private_download_url("http://cdn.example.com/a.jpg?facecrop2/200x200", expires=60)
    base, query = signed.split("?", 1)
    with pytest.raises(Unauthorized, match=message):
        check_download_token(base, mangle(query), KEYS, time.time())


def test_an_expired_token_is_refused():
    signed = Auth(AK, SK).private_download_url("http://cdn.example.com/a.jpg", expires=60)
    base, query = signed.split("?", 1)
    with pytest.raises(Unauthorized, match="download token expired"):
        check_download_token(base, query, KEYS, time.time() + 120)


@pytest.fixture(scope="module")
def private(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    running = start_proxy(str(samples_dir), tmp_path_factory.mktemp("logs"), private_downloads="1", api_keys=f"{AK}:{SK}")
    yield running
    stop(running.process)


@pytest.mark.parametrize(
    "path", ["/grace_hopper.jpg?facecrop2/120x120", "/grace_hopper.jpg?facecrop2/120x120|facecrop2/60x60", "/grace_hopper.jpg"]
)
def test_private_proxy_serves_sdk_signed_urls(private: Proxy, path: str):
    signed = Auth(AK, SK).private_download_url(private.url + path, expires=3600)
    for get in (requests.get, httpx.get):
        response = get(signed, timeout=30)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"


@pytest.mark.parametrize("path", ["/grace_hopper.jpg?facecrop2/120x120", "/grace_hopper.jpg"])
def test_private_proxy_refuses_unsigned_and_expired_urls(private: Proxy, path: str):
    unsigned = private.get(path)
    assert unsigned.status_code == 401 and unsigned.headers["cache-control"] == "no-store"
    assert "download token required" in unsigned.json()["error"]
    expired = Auth(AK, SK).private_download_url(private.url + path, expires=-10)
    assert httpx.get(expired, timeout=30).json()["error"] == "download token expired"


def test_an_origin_key_signs_every_fetch_from_a_private_bucket(private: Proxy, samples_dir: Path, tmp_path: Path):
    front = start_proxy(private.url, tmp_path, origin_qiniu_key=f"{AK}:{SK}")
    try:
        crop = front.get("/grace_hopper.jpg?facecrop2/100x100")
        assert crop.status_code == 200 and crop.headers["x-face-count"] == "1"
        assert front.get("/grace_hopper.jpg").content == (samples_dir / "grace_hopper.jpg").read_bytes()
    finally:
        stop(front.process)


def test_without_the_origin_key_the_private_bucket_refuses(private: Proxy, tmp_path: Path):
    front = start_proxy(private.url, tmp_path)
    try:
        assert error_of(front.get("/grace_hopper.jpg?facecrop2/100x100"), 502) == "origin refused the proxy's credentials (401)"
    finally:
        stop(front.process)


def test_private_download_urls_are_the_official_sdks(monkeypatch: pytest.MonkeyPatch):
    from imgproxy.origin.kodo import private_download_url

    url = "http://bucket.example.com/a.jpg?imageView2/2/w/100"
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000 - 3600)  # the SDK adds its expiry to the clock
    assert private_download_url(url, AK, SK, 1_800_000_000) == Auth(AK, SK).private_download_url(url, expires=3600)
