"""POST /face/detect, Tencent's dialect: signatures made by an independent signer following Tencent's
documented algorithm, JSON and multipart bodies built by httpx, on real servers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from conftest import Proxy, answer_when_work_fails, start_proxy, stop
from images import png_bomb
from PIL import Image

from imgproxy import samples
from imgproxy.api import tencent, tencent_schema
from imgproxy.api.access import authorize
from imgproxy.api.fetch import URLRefused, URLTimeout, URLTooLarge, URLUnreachable
from imgproxy.api.inputs import BodyTooLarge, EmptyImage, ImageTooLarge, MalformedBody, MissingImage, NotAFile
from imgproxy.api.tencent import TencentError, parse_signature, read_params, tencent_pose, verify_signature
from imgproxy.api.vendor import code_of
from imgproxy.config import Settings
from imgproxy.errors import BadRequest, Overloaded, TooLarge, Unsupported

APPID = "1251000000"
AK, SK = "AKIDtest", "tencent-secret"
KEYS = {AK: SK}
UNSUPPORTED = {"gender", "age", "expression", "glass", "beauty", "Beauty"}
# Every answer of these tests is checked against the dialect's OpenAPI: documented status, exact schema.
OPERATION = schemathesis.openapi.from_dict(
    {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": tencent_schema.OPENAPI}
)[tencent.PATH]["POST"]


def sign(appid: str = APPID, secret_id: str = AK, secret_key: str = SK, lifetime: int = 3600, fileid: str = "") -> str:
    """Tencent's reusable signature, written from the documentation (鉴权签名), not from the proxy."""
    now = int(time.time())
    original = f"a={appid}&b=bucket&k={secret_id}&e={now + lifetime}&t={now}&r=270494647&u=0&f={fileid}"
    digest = hmac.new(secret_key.encode(), original.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest + original.encode()).decode()


def post(proxy: Proxy, authorization: str | None = None, headers: dict[str, str] | None = None, **kwargs) -> httpx.Response:
    headers = {**(headers or {}), **({"Authorization": authorization} if authorization is not None else {})}
    return httpx.post(proxy.url + "/face/detect", headers=headers, timeout=60, **kwargs)


def answer(response: httpx.Response, code: int = 0, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    response.request.read()  # a multipart upload was streamed; the validator reads it back
    OPERATION.validate_response(response)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and isinstance(body["data"], dict)
    return body


def upload(data: bytes, **fields: str) -> dict:
    return {"files": {"image": ("photo.jpg", data, "image/jpeg")}, "data": {"appid": APPID, **fields}}


@pytest.fixture(scope="module")
def keyed(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """Keys configured; url may fetch from 127.0.0.1, where the proxy itself serves the samples."""
    proxy = start_proxy(str(samples_dir), tmp_path_factory.mktemp("logs"), api_keys=f"{AK}:{SK}", url_allowlist="127.0.0.1")
    yield proxy
    stop(proxy.process)


@pytest.fixture(scope="module")
def opened(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """No keys, IMGPROXY_API_OPEN=1, no allowlist, request bodies up to 1.5 MB."""
    proxy = start_proxy(str(samples_dir), tmp_path_factory.mktemp("logs"), api_open="1", max_request_bytes="1500000")
    yield proxy
    stop(proxy.process)


@pytest.fixture(scope="module")
def hopper(samples_dir: Path) -> bytes:
    return (samples_dir / "grace_hopper.jpg").read_bytes()


# The endpoint.


def test_json_url_and_multipart_upload_answer_the_same_faces(keyed: Proxy, hopper: bytes):
    by_url = answer(post(keyed, sign(), json={"appid": APPID, "mode": 0, "url": keyed.url + "/grace_hopper.jpg"}))
    by_file = answer(post(keyed, sign(), **upload(hopper)))
    assert by_url == by_file
    assert by_url["message"] == "OK"
    data = by_url["data"]
    assert data["session_id"] == "" and (data["image_width"], data["image_height"]) == (512, 600)
    (face,) = data["face"]
    assert set(face) == {"face_id", "x", "y", "width", "height", "pitch", "yaw", "roll"}
    assert not UNSUPPORTED & set(face)  # attributes the core cannot measure are never invented
    assert face["face_id"].isdigit()
    assert all(type(face[k]) is int for k in ("x", "y", "pitch", "yaw", "roll"))
    assert all(type(face[k]) is float for k in ("width", "height"))
    assert 150 < face["x"] < 190 and 110 < face["y"] < 150 and 170 < face["width"] < 230
    assert -30 <= face["pitch"] <= 30 and -30 <= face["yaw"] <= 30 and abs(face["roll"]) < 10


def test_mode_1_answers_only_the_largest_face(keyed: Proxy, samples_dir: Path):
    large = (samples_dir / "large.jpg").read_bytes()  # Grace Hopper beside the astronaut, 12 MP
    every = answer(post(keyed, sign(), **upload(large)))["data"]["face"]
    widths = [face["width"] for face in every]
    assert len(every) >= 2 and widths == sorted(widths, reverse=True)
    (largest,) = answer(post(keyed, sign(), **upload(large, mode="1")))["data"]["face"]
    assert largest == every[0]


def test_face_ids_are_stable_and_distinct(keyed: Proxy, samples_dir: Path):
    large = (samples_dir / "large.jpg").read_bytes()
    first = [f["face_id"] for f in answer(post(keyed, sign(), **upload(large)))["data"]["face"]]
    again = [f["face_id"] for f in answer(post(keyed, sign(), **upload(large)))["data"]["face"]]
    assert first == again and len(set(first)) == len(first) > 1


def test_roll_is_clockwise_in_the_image(opened: Proxy):
    tilted = samples.grace_hopper().rotate(-15, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128))
    (face,) = answer(post(opened, **upload(samples.jpeg_bytes(tilted))))["data"]["face"]
    assert 10 <= face["roll"] <= 20


def test_a_url_at_the_proxy_itself_needs_the_allowlist(opened: Proxy):
    body = {"appid": APPID, "bucket": "photos", "url": opened.url + "/grace_hopper.jpg"}  # SDKs send a bucket too
    assert "refused" in answer(post(opened, json=body), tencent.URL_DOWNLOAD_FAILED)["message"]


# Every error of the seed that can occur here: HTTP 200 and Tencent's code.


@pytest.mark.parametrize(
    "kwargs, code",
    [
        (upload(samples.jpeg_bytes(samples.background((800, 600), seed=3))), tencent.NO_FACE),
        (upload(b"<html><body>not an image</body></html>"), tencent.DECODE_FAILED),
        (upload(png_bomb()), tencent.BAD_IMAGE_FORMAT),
        (upload(b"\xff" * 1_600_000), tencent.BODY_TOO_LARGE),
        (upload(b""), tencent.IMAGE_EMPTY),
        ({"json": {"appid": APPID}}, tencent.IMAGE_EMPTY),
        ({"json": {"appid": APPID, "url": "http://127.0.0.1:9/a.jpg"}}, tencent.URL_DOWNLOAD_FAILED),
        ({"json": {"appid": APPID, "url": "ftp://example.com/a.jpg"}}, tencent.URL_DOWNLOAD_FAILED),
        ({"json": {"appid": APPID, "url": 42}}, tencent.INVALID_PARAMETER),
        ({"json": {"appid": APPID, "mode": 2, "url": "http://example.com/a.jpg"}}, tencent.INVALID_PARAMETER),
        ({"json": {"appid": APPID, "mode": True, "url": "http://example.com/a.jpg"}}, tencent.INVALID_PARAMETER),
        ({"json": {"url": "http://example.com/a.jpg"}}, tencent.INVALID_PARAMETER),
        ({"data": {"appid": APPID, "image": "not a file"}}, tencent.INVALID_PARAMETER),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, tencent.BAD_REQUEST),
        ({"content": b"--x--", "headers": {"content-type": "multipart/form-data"}}, tencent.BAD_REQUEST),
        ({"content": b"raw", "headers": {"content-type": "image/jpeg"}}, tencent.BAD_REQUEST),
    ],
)
def test_errors_answer_the_seed_codes(opened: Proxy, kwargs: dict, code: int):
    answer(post(opened, **kwargs), code)


def test_a_url_at_a_missing_object_is_a_download_failure(keyed: Proxy):
    answer(post(keyed, sign(), json={"appid": APPID, "url": keyed.url + "/missing.jpg"}), tencent.URL_DOWNLOAD_FAILED)


@pytest.mark.parametrize(
    "authorization, code",
    [
        (None, tencent.SIGNATURE_EMPTY),
        ("", tencent.SIGNATURE_EMPTY),
        ("FCHXdPTEwMDAwMzc5Jms9QUtJRGVRZDBrRU1yM2J4ZjhRckJi==", tencent.SIGNATURE_MALFORMED),  # the seed's example
        ("not base64 at all!", tencent.SIGNATURE_MALFORMED),
        (sign(secret_key="wrong"), tencent.SIGNATURE_WRONG),
        (sign(secret_id="AKIDnobody"), tencent.SECRET_ID_UNKNOWN),
        (sign(lifetime=-10), tencent.SIGNATURE_EXPIRED),
        (sign(appid="1250999999"), tencent.TARGET_MISMATCH),
        (sign(fileid="/1251000000/photos/a.jpg"), tencent.TARGET_MISMATCH),
    ],
)
def test_signature_errors(keyed: Proxy, hopper: bytes, authorization: str | None, code: int):
    answer(post(keyed, authorization, **upload(hopper)), code)


def test_a_tampered_signed_text_fails_the_check(keyed: Proxy, hopper: bytes):
    raw = base64.b64decode(sign())
    later = raw.replace(b"&e=", b"&e=9", 1)  # a later expiry, not signed by the secret
    answer(post(keyed, base64.b64encode(later).decode(), **upload(hopper)), tencent.SIGNATURE_WRONG)


def test_an_open_proxy_takes_no_signature(opened: Proxy, hopper: bytes):
    assert len(answer(post(opened, **upload(hopper)))["data"]["face"]) == 1


def test_without_keys_and_not_opened_every_request_is_refused(closed: Proxy, hopper: bytes):
    assert "IMGPROXY_API_KEYS" in answer(post(closed, sign(), **upload(hopper)), tencent.AUTH_UNAVAILABLE)["message"]


def test_shed_load_is_429_with_code_15():
    response = answer_when_work_fails(tencent, Overloaded("too many requests queued"))
    assert response.headers["retry-after"] == "1"
    answer(response, tencent.TOO_FREQUENT, 429)


def test_an_internal_error_is_500_with_code_213():
    body = answer(answer_when_work_fails(tencent, RuntimeError("secret detail")), tencent.INTERNAL, 500)
    assert "secret" not in json.dumps(body)


# The pure parts.


class Closed(Exception):
    pass


@pytest.mark.parametrize(
    "settings, outcome",
    [
        (Settings(api_keys="A:B"), "verified"),
        (Settings(api_keys="A:B", api_open=True), "verified"),
        (Settings(api_open=True), None),
        (Settings(), "closed"),
    ],
)
def test_the_access_rule_of_the_detect_apis(settings: Settings, outcome: str | None):
    """Configured keys win and are verified; without keys the APIs are open only when opened."""
    try:
        result = authorize(settings, lambda pairs: "verified", Closed)
    except Closed:
        result = "closed"
    assert result == outcome


def test_parse_and_verify_a_signature():
    signature = parse_signature(sign())
    assert (signature.appid, signature.secret_id, signature.fileid) == (APPID, AK, "")
    verify_signature(signature, KEYS, time.time())
    with pytest.raises(TencentError) as expired:
        verify_signature(signature, KEYS, signature.expires)
    assert expired.value.code == tencent.SIGNATURE_EXPIRED


def test_the_signature_without_u_parses_too():
    now = int(time.time())
    original = f"a={APPID}&b=&k={AK}&e={now + 60}&t={now}&r=1&f=".encode()
    header = base64.b64encode(hmac.new(SK.encode(), original, hashlib.sha1).digest() + original).decode()
    verify_signature(parse_signature(header), KEYS, now)


@pytest.mark.parametrize(
    "original",
    [
        b"a=1&k=AK&e=10&t=1",
        b"a=1&k=AK&e=ten&t=1&r=1",
        b"a=1&k=AK&e=10&t=1&r=12345678901",
        b"a=1&a=2&k=AK&e=1&t=1&r=1",
        b"garbage",
    ],
)
def test_malformed_signed_texts(original: bytes):
    with pytest.raises(TencentError) as error:
        parse_signature(base64.b64encode(b"\0" * 20 + original).decode())
    assert error.value.code == tencent.SIGNATURE_MALFORMED


@pytest.mark.parametrize(
    "fields, largest_only",
    [({"appid": APPID}, False), ({"appid": 1251000000, "mode": 1}, True), ({"appid": APPID, "mode": "0"}, False)],
)
def test_read_params(fields: dict, largest_only: bool):
    assert read_params(fields) == tencent.Params(APPID, largest_only)


@pytest.mark.parametrize(
    "fields", [{}, {"appid": " "}, {"appid": True}, {"appid": APPID, "mode": 1.0}, {"appid": APPID, "mode": "2"}]
)
def test_bad_params(fields: dict):
    with pytest.raises(TencentError) as error:
        read_params(fields)
    assert error.value.code == tencent.INVALID_PARAMETER


def test_pose_is_whole_degrees_held_to_the_seed_ranges():
    assert tencent_pose(12.4, -3.6, 170.5) == {"pitch": -4, "yaw": 12, "roll": 170}
    assert tencent_pose(-55.0, 41.0, -179.6) == {"pitch": 30, "yaw": -30, "roll": -180}


@pytest.mark.parametrize(
    "error, code",
    [
        (MissingImage("x"), -1300),
        (EmptyImage("x"), -1300),
        (NotAFile("x"), 21),
        (MalformedBody("x"), 3),
        (BodyTooLarge("x"), 23),
        (URLRefused("x"), -1308),
        (URLUnreachable("x"), -1308),
        (URLTimeout("x"), -1308),
        (URLTooLarge("x"), -1308),
        (ImageTooLarge("x"), -1400),
        (TooLarge("x"), -1400),
        (Unsupported("x"), -1102),
        (Overloaded("x"), 15),
        (BadRequest("x"), 21),
        (ValueError("x"), None),
    ],
)
def test_the_error_table(error: Exception, code: int | None):
    assert code_of(tencent.ERRORS, error) == code
