"""POST /faceid/v1/detect, FaceID Detect v1: its pure parts, then real clients against a real server."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from conftest import REPO, Proxy, start_proxy, stop
from images import analysis, png_bomb
from PIL import Image

from imgproxy import samples
from imgproxy.api.faceid import FACEID, QUALITY_THRESHOLD, orientation, quality, read_rotation
from imgproxy.api.inputs import EmptyImage, ImageTooLarge, NotAFile
from imgproxy.api.megvii import Failure, MegviiError, face_quality
from imgproxy.errors import Overloaded, TooLarge, Unsupported

DETECT = "/faceid/v1/detect"
KEYS = {"api_key": "k", "api_secret": "s"}
SEED = REPO.parent / "shared" / "seeds" / "faceid-detect-v1.md"


def hopper_bytes() -> bytes:
    return samples.jpeg_bytes(samples.grace_hopper())


def sideways_hopper() -> bytes:
    """Grace Hopper turned 90 degrees clockwise: the top of her head points right."""
    return samples.jpeg_bytes(samples.grace_hopper().transpose(Image.Transpose.ROTATE_270))


# The pure parts.


def test_multi_oriented_detection_is_0_or_1_and_nothing_else():
    assert read_rotation({}) is False
    assert read_rotation({"multi_oriented_detection": "0"}) is False
    assert read_rotation({"multi_oriented_detection": "1"}) is True
    for value in ("", "2", "true", " 1", "yes"):
        with pytest.raises(MegviiError) as raised:
            read_rotation({"multi_oriented_detection": value})
        assert raised.value.failure == Failure(400, "BAD_ARGUMENTS:multi_oriented_detection")


def test_quality_moves_face_plus_plus_threshold_onto_faceids():
    face = analysis()
    assert quality(None) == 0.0
    assert quality(face) == pytest.approx(100)
    at_threshold = replace(face, completeness=0.701)
    assert face_quality(at_threshold) == pytest.approx(70.1)
    assert quality(at_threshold) == pytest.approx(QUALITY_THRESHOLD)
    values = [quality(replace(face, blur=blur / 10)) for blur in range(11)]
    assert values == sorted(values, reverse=True) and values[-1] == 0


def test_orientation_is_how_far_the_face_is_turned_clockwise():
    # The core reports how far it turned the image clockwise to make the face upright.
    assert [orientation(core) for core in (0, 90, 180, 270)] == [0, 270, 180, 90]


@pytest.mark.parametrize(
    "exc, failure",
    [
        (Unsupported("x"), Failure(400, "IMAGE_ERROR_UNSUPPORTED_FORMAT")),
        (EmptyImage("x"), Failure(400, "IMAGE_ERROR_UNSUPPORTED_FORMAT")),
        (NotAFile("x"), Failure(400, "BAD_ARGUMENTS:image")),
        (TooLarge("x"), Failure(400, "INVALID_IMAGE_SIZE:image")),
        (ImageTooLarge("x"), Failure(413, "Request Entity Too Large")),
        (Overloaded("x"), Failure(403, "CONCURRENCY_LIMIT_EXCEEDED")),
    ],
)
def test_the_family_codes_in_faceids_spelling(exc: Exception, failure: Failure):
    assert FACEID.failure_of(exc, "image") == failure


# The endpoint, on a real server.


@pytest.fixture(scope="module")
def keyed(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    proxy = start_proxy(str(samples_dir), tmp_path_factory.mktemp("logs"), api_keys="k:s")
    yield proxy
    stop(proxy.process)


@pytest.fixture(scope="module")
def open_api(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """No keys, IMGPROXY_API_OPEN=1; small body and image limits."""
    proxy = start_proxy(
        str(samples_dir),
        tmp_path_factory.mktemp("logs"),
        api_open="1",
        max_request_bytes=str(3_000_000),
        max_source_bytes=str(1_000_000),
    )
    yield proxy
    stop(proxy.process)


def post(proxy: Proxy, **kwargs: Any) -> httpx.Response:
    return httpx.post(proxy.url + DETECT, timeout=60, **kwargs)


def upload(proxy: Proxy, data: bytes, **fields: str) -> httpx.Response:
    return post(proxy, data={**KEYS, **fields}, files={"image": ("customer.jpg", data, "image/jpeg")})


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "request_id", "time_used"}
    assert isinstance(body["time_used"], float) and re.fullmatch(r"\d+,[0-9a-f-]{36}", body["request_id"])
    return body["error"]


def seed_example() -> str:
    """The seed's curl example, with the two en dashes it has for "-F" typed as the hyphens curl needs."""
    if not SEED.exists():
        pytest.skip(f"the seed {SEED} is not checked out beside the repository")
    line = next(line for line in SEED.read_text().splitlines() if line.startswith("curl "))
    return line.replace("\N{EN DASH}F", "-F")


def test_the_seeds_curl_example(keyed: Proxy, tmp_path: Path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed: the seed's example needs it")
    (tmp_path / "customer.jpg").write_bytes(hopper_bytes())
    command = seed_example().replace("https://api.faceid.com", keyed.url)
    command = command.replace("<api_key>", "k").replace("<api_secret>", "s")
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True)
    body = httpx.Response(200, content=done.stdout).json()
    assert set(body) == {"request_id", "time_used", "faces"}
    (face,) = body["faces"]
    assert set(face) == {"quality", "quality_threshold", "rect", "token"}  # no orientation without rotation


def test_answer_has_faceids_types_and_shapes(keyed: Proxy):
    response = upload(keyed, hopper_bytes())
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert isinstance(body["time_used"], float)
    (face,) = body["faces"]
    assert face["quality_threshold"] == QUALITY_THRESHOLD < face["quality"] <= 100  # a sharp frontal portrait
    rect = face["rect"]
    assert set(rect) == {"left", "top", "width", "height"} and all(isinstance(v, float) for v in rect.values())
    # Grace Hopper's face, about 196 px of her 512x600 photo.
    assert rect["width"] == pytest.approx(196 / 512, abs=0.03) and rect["height"] == pytest.approx(196 / 600, abs=0.03)
    assert 0 < rect["left"] < rect["left"] + rect["width"] < 1 and 0 < rect["top"] < rect["top"] + rect["height"] < 1
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}=", face["token"])


def test_the_token_is_stable_across_calls_and_clients(keyed: Proxy):
    data = hopper_bytes()
    first = upload(keyed, data).json()["faces"][0]["token"]
    again = requests.post(keyed.url + DETECT, data=KEYS, files={"image": ("a.jpg", data, "image/jpeg")}, timeout=60)
    assert again.status_code == 200 and again.json()["faces"][0]["token"] == first


def test_faces_come_largest_first(keyed: Proxy):
    canvas = samples.place(samples.background((1200, 700), seed=7), samples.grace_hopper(), 300, (20, 40))
    canvas = samples.place(canvas, samples.astronaut(), 500, (600, 100))
    faces = upload(keyed, samples.jpeg_bytes(canvas)).json()["faces"]
    assert len(faces) == 2
    areas = [face["rect"]["width"] * face["rect"]["height"] for face in faces]
    assert areas == sorted(areas, reverse=True) and faces[0]["token"] != faces[1]["token"]


def test_a_sideways_photo_is_found_only_with_multi_oriented_detection(keyed: Proxy):
    data = sideways_hopper()
    assert upload(keyed, data).json()["faces"] == []
    assert upload(keyed, data, multi_oriented_detection="0").json()["faces"] == []
    (face,) = upload(keyed, data, multi_oriented_detection="1").json()["faces"]
    assert face["orientation"] == 90  # the top of her head points right
    # The box is in the sideways photo (600x512): wider on its short side than the upright one.
    assert face["rect"]["width"] == pytest.approx(196 / 600, abs=0.03) and face["rect"]["height"] == pytest.approx(
        196 / 512, abs=0.03
    )
    # Quality is measured on the face turned upright, so a sideways photo loses nothing.
    assert face["quality"] > QUALITY_THRESHOLD
    upright = upload(keyed, hopper_bytes(), multi_oriented_detection="1").json()["faces"][0]
    assert upright["orientation"] == 0


def test_a_tiny_image_is_no_face_not_an_error(keyed: Proxy):
    response = upload(keyed, samples.jpeg_bytes(samples.background((20, 20))))
    assert response.status_code == 200 and response.json()["faces"] == []


@pytest.mark.parametrize(
    "kwargs, status, code",
    [
        ({"data": {"api_secret": "s"}}, 400, "MISSING_ARGUMENTS:api_key"),
        ({"data": {"api_key": "k"}}, 400, "MISSING_ARGUMENTS:api_secret"),
        ({"data": {"api_key": "k", "api_secret": "wrong"}}, 403, "AUTHORIZATION_ERROR"),
        ({"data": KEYS}, 400, "MISSING_ARGUMENTS:image"),
        ({"data": {**KEYS, "image": "not a file"}}, 400, "BAD_ARGUMENTS:image"),
        (
            {"data": {**KEYS, "multi_oriented_detection": "2"}, "files": {"image": ("a.jpg", b"x")}},
            400,
            "BAD_ARGUMENTS:multi_oriented_detection",
        ),
        ({"data": KEYS, "files": {"image": ("a.jpg", b"<html>hello</html>")}}, 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT"),
        ({"data": KEYS, "files": {"image": ("a.txt", b"plain text")}}, 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT"),
        (
            {"data": KEYS, "files": {"image": ("a.jpg", samples.jpeg_bytes(samples.background((5000, 100))))}},
            400,
            "INVALID_IMAGE_SIZE:image",
        ),
        ({"data": KEYS, "files": {"image": ("a.png", png_bomb())}}, 400, "INVALID_IMAGE_SIZE:image"),
    ],
)
def test_errors_have_the_seeds_codes_and_statuses(keyed: Proxy, kwargs: dict, status: int, code: str):
    assert error_of(post(keyed, **kwargs), status) == code


def test_other_paths_are_api_not_found(keyed: Proxy):
    assert error_of(httpx.post(keyed.url + "/faceid/v1/verify", data=KEYS), 404) == "API_NOT_FOUND"
    wrong_method = keyed.get(DETECT)
    assert error_of(wrong_method, 405) == "API_NOT_FOUND" and wrong_method.headers["allow"] == "POST"


def test_without_keys_and_not_open_the_api_is_refused(closed: Proxy):
    assert error_of(upload(closed, hopper_bytes()), 403) == "AUTHORIZATION_ERROR"


def test_an_open_api_checks_no_keys(open_api: Proxy):
    response = post(open_api, files={"image": ("a.jpg", hopper_bytes(), "image/jpeg")})
    assert response.status_code == 200 and len(response.json()["faces"]) == 1


@pytest.mark.parametrize("size", [3_100_000, 1_500_000], ids=["body over the request limit", "image over the file limit"])
def test_too_large_is_413_in_plain_text(open_api: Proxy, size: int):
    response = post(open_api, files={"image": ("big.jpg", b"\xff" * size, "image/jpeg")})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Request Entity Too Large"
