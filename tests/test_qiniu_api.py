"""POST /v2/facedetect, Qiniu's dialect: requests signed by the official SDK's QiniuMacAuth through
`requests`, on real servers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import qiniu
import requests
import schemathesis
from conftest import Proxy, answer_when_work_fails, start_proxy, stop
from images import png_bomb
from PIL import Image
from qiniu.auth import QiniuMacRequestsAuth
from starlette.datastructures import Headers

from imgproxy import samples
from imgproxy.api import qiniu as dialect, qiniu_schema
from imgproxy.api.fetch import URLRefused, URLTimeout, URLTooLarge, URLUnreachable
from imgproxy.api.inputs import BadBase64, BodyTooLarge, EmptyImage, ImageTooLarge, MalformedBody, UnsupportedBody
from imgproxy.api.qiniu import QiniuError, canonical_header, fresh, ordered, read_params, signing_data
from imgproxy.api.qiniu_landmarks import LANDMARK4, LANDMARK72, LANDMARK150
from imgproxy.api.vendor import Pose, code_of, vendor_pose
from imgproxy.errors import BadRequest, Overloaded, TooLarge, Unsupported
from imgproxy.faces.box import Box
from imgproxy.faces.detect import Face
from imgproxy.faces.mesh import FACE_OVAL, LEFT_EYE, LEFT_IRIS, MESH_POINTS, MOUTH, RIGHT_EYE, RIGHT_IRIS, FaceAnalysis

AK, SK = "qiniu-ak", "qiniu-sk"
MESH_SIZE = MESH_POINTS + len(LEFT_IRIS) + len(RIGHT_IRIS)
# Every answer of these tests is checked against the dialect's OpenAPI: documented status, exact schema.
OPERATION = schemathesis.openapi.from_dict(
    {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": qiniu_schema.OPENAPI}
)[dialect.PATH]["POST"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def post(
    proxy: Proxy, body: object, auth: requests.auth.AuthBase | None = None, path: str = "/v2/facedetect", **kwargs
) -> requests.Response:
    return requests.post(proxy.url + path, json=body, auth=auth, timeout=60, **kwargs)


def signed(access_key: str = AK, secret_key: str = SK) -> QiniuMacRequestsAuth:
    return QiniuMacRequestsAuth(qiniu.QiniuMacAuth(access_key, secret_key))


def result(response: requests.Response | httpx.Response, code: int = 0, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    OPERATION.validate_response(response)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error_code"] == code, body
    assert type(body["log_id"]) is int and isinstance(body["error_msg"], str)
    if code == 0:
        assert body["error_msg"] == "SUCCESS" and body["result"]["face_num"] == len(body["result"]["face_list"])
        return body["result"]
    assert body["result"] is None
    return body


def group_photo() -> bytes:
    """Three faces: the largest top left, a middle-sized one near the centre, the smallest bottom right."""
    canvas = samples.background((1500, 900), seed=5)
    canvas = samples.place(canvas, samples.grace_hopper(), 440, (0, 0))
    canvas = samples.place(canvas, samples.astronaut(), 380, (1110, 480))
    canvas = samples.place(canvas, samples.grace_hopper(), 260, (620, 300))
    return samples.jpeg_bytes(canvas)


@pytest.fixture(scope="module")
def keyed(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """Keys configured; image URLs may point at 127.0.0.1, where the proxy itself serves the samples."""
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


@pytest.fixture(scope="module")
def group() -> bytes:
    return group_photo()


# The endpoint, called as Qiniu's clients call it.


def test_base64_answers_the_default_fields(keyed: Proxy, hopper: bytes):
    found = result(post(keyed, {"image": b64(hopper), "image_type": "BASE64"}, signed()))
    (face,) = found["face_list"]
    assert set(face) == {"face_token", "location", "face_probability", "angle"}
    assert len(face["face_token"]) == 32 and int(face["face_token"], 16) >= 0
    location = face["location"]
    assert set(location) == {"left", "top", "width", "height", "rotation"} and location["rotation"] == 0
    assert 150 < location["left"] < 190 and 110 < location["top"] < 150 and 170 < location["width"] < 230
    assert 0.6 <= face["face_probability"] <= 1
    assert set(face["angle"]) == {"yaw", "pitch", "roll"} and all(abs(v) < 20 for v in face["angle"].values())


def test_url_finds_the_same_face_with_the_same_token(keyed: Proxy, hopper: bytes):
    by_url = result(post(keyed, {"image": keyed.url + "/grace_hopper.jpg", "image_type": "URL"}, signed()))
    by_base64 = result(post(keyed, {"image": b64(hopper), "image_type": "BASE64"}, signed()))
    assert by_url == by_base64


def test_face_token_round_trip(keyed: Proxy, hopper: bytes):
    fields = "landmark,landmark150,quality,eye_status"
    (detected,) = result(post(keyed, {"image": b64(hopper), "image_type": "BASE64", "face_field": fields}, signed()))["face_list"]
    token = detected["face_token"]
    (again,) = result(post(keyed, {"image": token, "image_type": "FACE_TOKEN", "face_field": fields}, signed()))["face_list"]
    assert again == detected
    (plain,) = result(post(keyed, {"image": token, "image_type": "FACE_TOKEN"}, signed()))["face_list"]
    assert plain == {key: detected[key] for key in ("face_token", "location", "face_probability", "angle")}
    result(post(keyed, {"image": "0" * 32, "image_type": "FACE_TOKEN"}, signed()), dialect.FACE_TOKEN_NOT_EXIST)


def test_face_fields(keyed: Proxy, hopper: bytes):
    body = {"image": b64(hopper), "image_type": "BASE64", "face_field": "landmark, landmark150,quality,eye_status"}
    (face,) = result(post(keyed, body, signed()))["face_list"]
    assert {"landmark", "landmark72", "landmark150", "quality", "eye_status"} <= set(face)
    assert [len(face[k]) for k in ("landmark", "landmark72", "landmark150")] == [4, 72, 150]
    box = face["location"]
    for point in face["landmark72"] + face["landmark150"]:
        assert set(point) == {"x", "y"}
        assert box["left"] - 40 < point["x"] < box["left"] + box["width"] + 40
        assert box["top"] - 60 < point["y"] < box["top"] + box["height"] + 40
    left_eye, right_eye, nose, mouth = face["landmark"]
    assert left_eye["x"] < nose["x"] < right_eye["x"]  # landmark's left eye is the one on the image's left
    assert max(left_eye["y"], right_eye["y"]) < nose["y"] < mouth["y"]
    named = {name: point for (name, _), point in zip(LANDMARK150, face["landmark150"], strict=True)}
    assert named["eye_right_eyeball_center"]["x"] < named["eye_left_eyeball_center"]["x"]  # the subject's right
    assert named["chin_2"]["y"] > named["nose_tip"]["y"] > named["eyebrow_right_upper_3"]["y"]
    assert set(face["quality"]) == {"blur", "illumination", "completeness"}  # no occlusion: not measured
    assert 0 <= face["quality"]["blur"] < 0.5 and 60 < face["quality"]["illumination"] < 255
    assert face["quality"]["completeness"] == 1
    assert face["eye_status"]["left_eye"] > 0.9 and face["eye_status"]["right_eye"] > 0.9


def test_max_face_num_and_face_sort_type(opened: Proxy, group: bytes):
    def faces(**options: object) -> list[dict]:
        return result(post(opened, {"image": b64(group), "image_type": "BASE64", **options}))["face_list"]

    (largest,) = faces()
    by_area = faces(max_face_num=120)
    assert len(by_area) == 3 and by_area[0] == largest
    areas = [f["location"]["width"] * f["location"]["height"] for f in by_area]
    assert areas == sorted(areas, reverse=True)
    by_centre = faces(max_face_num="3", face_sort_type=1)  # Baidu's SDKs send numbers as strings
    distances = [
        math.hypot(
            f["location"]["left"] + f["location"]["width"] / 2 - 750, f["location"]["top"] + f["location"]["height"] / 2 - 450
        )
        for f in by_centre
    ]
    assert distances == sorted(distances) and by_centre[0] == by_area[1]
    assert faces(max_face_num=2, face_sort_type=1) == by_centre[:2]


def test_crops_decode_as_images_of_the_face_boxes(opened: Proxy, group: bytes):
    body = {"image": b64(group), "image_type": "BASE64", "max_face_num": 120, "display_corp_image": 1}
    found = result(post(opened, body))
    assert found["face_num"] == 3  # at most 5 with crops; three in the photo
    for face in found["face_list"]:
        crop = Image.open(io.BytesIO(base64.b64decode(face["corp_image_base64"])))
        assert crop.format == "JPEG"
        assert abs(crop.width - face["location"]["width"]) <= 2 and abs(crop.height - face["location"]["height"]) <= 2


def test_crops_cap_the_faces_at_five(opened: Proxy):
    canvas = samples.background((1800, 700), seed=7)
    for i in range(6):
        canvas = samples.place(canvas, samples.grace_hopper(), 280, (i * 300, 40))
    body = {"image": b64(samples.jpeg_bytes(canvas)), "image_type": "BASE64", "max_face_num": 120}
    assert result(post(opened, body))["face_num"] > 5
    assert result(post(opened, {**body, "display_corp_image": 1}))["face_num"] == 5


def test_angles_follow_baidu_signs(opened: Proxy, hopper: bytes):
    tilted = samples.grace_hopper().rotate(-15, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128))
    (face,) = result(post(opened, {"image": b64(samples.jpeg_bytes(tilted)), "image_type": "BASE64"}))["face_list"]
    assert 10 <= face["angle"]["roll"] <= 20  # turned clockwise in the image
    (upright,) = result(post(opened, {"image": b64(hopper), "image_type": "BASE64"}))["face_list"]
    assert upright["angle"]["pitch"] > 0  # she looks a little down


# Errors: Baidu's codes, HTTP 200.


@pytest.mark.parametrize(
    "body, code",
    [
        ({"image": b64(samples.jpeg_bytes(samples.background((800, 600), seed=3))), "image_type": "BASE64"}, dialect.NO_FACE),
        ({"image": b64(b"<html><body>not an image</body></html>"), "image_type": "BASE64"}, dialect.IMAGE_CHECK_FAIL),
        ({"image": b64(png_bomb()), "image_type": "BASE64"}, dialect.IMAGE_TOO_LARGE),
        ({"image": "A" * 1_600_000, "image_type": "BASE64"}, dialect.IMAGE_TOO_LARGE),
        ({"image": "data:image/jpeg;base64,", "image_type": "BASE64"}, dialect.EMPTY_IMAGE),
        ({"image": "", "image_type": "BASE64"}, dialect.PARAM_NULL),
        ({"image_type": "BASE64"}, dialect.PARAM_NULL),
        ({"image": "QUJD"}, dialect.PARAM_NULL),
        ({"image": "!!not base64!!", "image_type": "BASE64"}, dialect.IMAGE_FORMAT),
        ({"image": 12, "image_type": "BASE64"}, dialect.IMAGE_FORMAT),
        ({"image": "QUJD", "image_type": "base64"}, dialect.IMAGE_TYPE_FORMAT),
        ({"image": "http://127.0.0.1:9/a.jpg", "image_type": "URL"}, dialect.URL_DOWNLOAD_FAIL),
        ({"image": "QUJD", "image_type": "BASE64", "max_face_num": 0}, dialect.MAX_FACE_NUM_FORMAT),
        ({"image": "QUJD", "image_type": "BASE64", "max_face_num": 121}, dialect.MAX_FACE_NUM_FORMAT),
        ({"image": "QUJD", "image_type": "BASE64", "max_face_num": 1.5}, dialect.MAX_FACE_NUM_FORMAT),
        ({"image": "QUJD", "image_type": "BASE64", "face_field": "age,landmark"}, dialect.INVALID_PARAM),
        ({"image": "QUJD", "image_type": "BASE64", "face_field": "landmark72"}, dialect.FACE_FIELD_FORMAT),
        ({"image": "QUJD", "image_type": "BASE64", "face_field": ["landmark"]}, dialect.FACE_FIELD_FORMAT),
        ({"image": "QUJD", "image_type": "BASE64", "liveness_control": "HIGH"}, dialect.INVALID_PARAM),
        ({"image": "QUJD", "image_type": "BASE64", "liveness_control": "MAX"}, dialect.LIVENESS_FORMAT),
        ({"image": "QUJD", "image_type": "BASE64", "face_type": "SELFIE"}, dialect.INVALID_PARAM),
        ({"image": "QUJD", "image_type": "BASE64", "face_sort_type": 2}, dialect.INVALID_PARAM),
        ({"image": "QUJD", "image_type": "BASE64", "display_corp_image": True}, dialect.INVALID_PARAM),
        ({"image": "0" * 32, "image_type": "FACE_TOKEN", "display_corp_image": 1}, dialect.INVALID_PARAM),
        (["image"], dialect.NOT_JSON),
    ],
)
def test_errors_answer_baidu_codes(opened: Proxy, body: object, code: int):
    result(post(opened, body), code)


def test_a_body_that_is_not_json(opened: Proxy):
    url = opened.url + "/v2/facedetect"
    result(httpx.post(url, content=b"{not json", headers={"content-type": "application/json"}), dialect.NOT_JSON)
    result(httpx.post(url, data={"image": "QUJD", "image_type": "BASE64"}), dialect.NOT_JSON)


def test_a_url_at_the_proxy_itself_needs_the_allowlist(opened: Proxy):
    refused = result(post(opened, {"image": opened.url + "/grace_hopper.jpg", "image_type": "URL"}), dialect.URL_DOWNLOAD_FAIL)
    assert "refused" in refused["error_msg"]


def test_a_url_at_a_missing_object_is_a_download_failure(keyed: Proxy):
    result(post(keyed, {"image": keyed.url + "/missing.jpg", "image_type": "URL"}, signed()), dialect.URL_DOWNLOAD_FAIL)


# Authentication: HTTP 401, error_code 401.


class Tampered(requests.auth.AuthBase):
    """Signs the request, then changes its body, as a man in the middle would."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        signed()(request)
        request.prepare_body(None, None, json={"image": "QUJD", "image_type": "URL"})
        return request


class StaleDate(requests.auth.AuthBase):
    """A correct signature over an X-Qiniu-Date an hour old."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Qiniu-Date"] = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
        return QiniuMacRequestsAuth(qiniu.QiniuMacAuth(AK, SK, disable_qiniu_timestamp_signature=True))(request)


@pytest.mark.parametrize(
    "auth, headers",
    [
        (None, {}),
        (None, {"Authorization": "QBox qiniu-ak:abc"}),
        (None, {"Authorization": "Qiniu qiniu-ak"}),
        (None, {"Authorization": "Qiniu qiniu-ak:@@@"}),
        (signed(secret_key="wrong"), {}),
        (signed(access_key="nobody"), {}),
        (Tampered(), {}),
        (StaleDate(), {}),
    ],
)
def test_bad_tokens_are_refused(keyed: Proxy, hopper: bytes, auth: requests.auth.AuthBase | None, headers: dict):
    result(post(keyed, {"image": b64(hopper), "image_type": "BASE64"}, auth, headers=headers), dialect.AUTH_FAILED, 401)


def test_the_query_and_x_qiniu_headers_are_signed(keyed: Proxy, hopper: bytes):
    body = {"image": b64(hopper), "image_type": "BASE64"}
    result(post(keyed, body, signed(), path="/v2/facedetect?trace=1", headers={"X-Qiniu-Trace": "abc"}))
    sneaky = requests.Request("POST", keyed.url + "/v2/facedetect?trace=1", json=body, auth=signed()).prepare()
    sneaky.url = keyed.url + "/v2/facedetect?trace=2"
    result(requests.Session().send(sneaky, timeout=60), dialect.AUTH_FAILED, 401)


def test_an_sdk_token_without_a_date_is_accepted(keyed: Proxy, hopper: bytes):
    auth = QiniuMacRequestsAuth(qiniu.QiniuMacAuth(AK, SK, disable_qiniu_timestamp_signature=True))
    result(post(keyed, {"image": b64(hopper), "image_type": "BASE64"}, auth))


def test_an_open_proxy_takes_no_token(opened: Proxy, hopper: bytes):
    assert result(post(opened, {"image": b64(hopper), "image_type": "BASE64"}))["face_num"] == 1


def test_without_keys_and_not_opened_every_request_is_refused(closed: Proxy, hopper: bytes):
    refused = result(post(closed, {"image": b64(hopper), "image_type": "BASE64"}, signed()), dialect.AUTH_FAILED, 401)
    assert "IMGPROXY_API_KEYS" in refused["error_msg"]


def test_shed_load_is_429_with_code_18():
    response = answer_when_work_fails(dialect, Overloaded("too many requests queued"))
    assert response.headers["retry-after"] == "1"
    result(response, dialect.QPS_LIMIT, 429)


def test_an_internal_error_is_500_with_code_1():
    body = result(answer_when_work_fails(dialect, RuntimeError("secret detail")), dialect.UNKNOWN_ERROR, 500)
    assert "secret" not in json.dumps(body)


# The pure parts.


@pytest.mark.parametrize(
    "url, content_type, body, extra",
    [
        ("http://127.0.0.1:8080/v2/facedetect", "application/json", b'{"image": "QUJD"}', {"X-Qiniu-Date": "20240101T000000Z"}),
        (
            "http://face-detect.qiniuapi.com/v2/facedetect?a=1&b=%20",
            "application/json",
            b"{}",
            {"X-Qiniu-Zz": "1", "X-Qiniu-Aa": "2"},
        ),
        ("http://face-detect.qiniuapi.com/v2/facedetect", "application/octet-stream", b"\xff\xd8raw", {}),
        ("http://face-detect.qiniuapi.com/v2/facedetect", None, b"", {}),
    ],
)
def test_signing_data_is_what_the_sdk_signs(url: str, content_type: str | None, body: bytes, extra: dict[str, str]):
    parsed = httpx.URL(url)
    raw = [(b"host", parsed.netloc), *((name.lower().encode(), value.encode()) for name, value in extra.items())]
    if content_type:
        raw.append((b"content-type", content_type.encode()))
    data = signing_data("POST", parsed.raw_path.split(b"?")[0], parsed.query, Headers(raw=raw), body)
    mine = base64.urlsafe_b64encode(hmac.new(SK.encode(), data, hashlib.sha1).digest()).decode()
    auth = qiniu.QiniuMacAuth(AK, SK, disable_qiniu_timestamp_signature=True)
    sdk_body = body if content_type != "application/octet-stream" else None  # the SDK decodes it as UTF-8
    assert auth.token_of_request("POST", None, url, auth.qiniu_headers(extra), content_type, sdk_body) == f"{AK}:{mine}"


def test_header_names_are_canonical():
    assert canonical_header(b"x-qiniu-date") == b"X-Qiniu-Date"
    assert canonical_header(b"X-QINIU-META-ab") == b"X-Qiniu-Meta-Ab"


def test_the_date_must_be_within_fifteen_minutes():
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()
    assert fresh("20240501T121400Z", now) and fresh("20240501T114600Z", now)
    assert not fresh("20240501T121600Z", now) and not fresh("2024-05-01", now)


def test_params_defaults_and_caps():
    params = read_params({"image": "QUJD", "image_type": "BASE64"})
    assert (params.fields, params.max_faces, params.by_centre, params.crops) == (frozenset(), 1, False, False)
    capped = read_params(
        {"image": "QUJD", "image_type": "URL", "max_face_num": 120, "display_corp_image": "1", "face_type": "CERT"}
    )
    assert (capped.max_faces, capped.crops) == (5, True)
    with pytest.raises(QiniuError) as error:
        read_params({"image": "QUJD", "image_type": "BASE64", "face_field": "gender,mask"})
    assert error.value.code == dialect.INVALID_PARAM and "gender, mask" in error.value.message


def test_ordering_by_centre():
    faces = [Face(Box(0, 0, 50, 50), 0.9), Face(Box(80, 80, 40, 40), 0.9), Face(Box(150, 150, 30, 30), 0.9)]
    assert ordered(faces, (200, 200), False) == faces
    assert ordered(faces, (200, 200), True) == [faces[1], faces[2], faces[0]]


def analysis(**values: object) -> FaceAnalysis:
    fields = {
        "landmarks": tuple((float(i), float(i)) for i in range(MESH_SIZE)),
        "yaw": 0.0,
        "pitch": 0.0,
        "roll": 0.0,
        "right_eye_ratio": 0.3,
        "left_eye_ratio": 0.3,
        "mouth_ratio": 0.0,
        "right_eye_open": True,
        "left_eye_open": True,
        "mouth_open": False,
        "laplacian_variance": 100.0,
        "blur": 0.2,
        "illumination": 120.0,
        "completeness": 1.0,
    }
    return FaceAnalysis(**{**fields, **values})


def test_angles_are_converted_to_baidu_signs():
    # The mesh: yaw > 0 turning to the subject's left, pitch > 0 looking up, roll > 0 clockwise.
    assert vendor_pose(analysis(yaw=20.0, pitch=5.0, roll=3.0)) == Pose(-20.0, -5.0, 3.0)
    angle = dialect.analysis_json(analysis(yaw=20.0, pitch=5.0, roll=3.0))["angle"]
    assert angle == {"yaw": -20.0, "pitch": -5.0, "roll": 3.0}


def test_eye_status_names_the_subjects_eyes():
    status = dialect.analysis_json(analysis(left_eye_ratio=0.05, right_eye_ratio=0.3))["eye_status"]
    assert status["left_eye"] < 0.1 < 0.99 < status["right_eye"]


def test_number_conversions():
    assert dialect.probability(0.99996) == 1 and type(dialect.probability(0.99996)) is int
    assert dialect.probability(0.87654) == 0.8765
    assert dialect.completeness(1.0) == 1 and dialect.completeness(0.97) == 0
    assert dialect.eye_openness(0.3) > 0.99 and dialect.eye_openness(0.05) < 0.1 and dialect.eye_openness(0.12) == 0.5


def test_landmark_tables_use_mesh_points():
    for table, size in ((LANDMARK4, 4), (LANDMARK72, 72), (LANDMARK150, 150)):
        assert len(table) == size and len({name for name, _ in table}) == size
        for _, source in table:
            indices = [source] if isinstance(source, int) else list(source[:2])
            assert all(0 <= i < MESH_SIZE for i in indices)
    named = dict(LANDMARK150)
    # The image's left eye is the mesh's right eye, as faces.mesh names it.
    assert (named["eye_right_corner_right"], named["eye_right_corner_left"]) == (RIGHT_EYE.outer, RIGHT_EYE.inner)
    assert (named["eye_left_corner_left"], named["eye_left_corner_right"]) == (LEFT_EYE.outer, LEFT_EYE.inner)
    assert (named["eye_right_eyeball_center"], named["eye_left_eyeball_center"]) == (RIGHT_IRIS[0], LEFT_IRIS[0])
    assert (named["mouth_corner_right_outer"], named["mouth_corner_left_outer"]) == (MOUTH.right_corner, MOUTH.left_corner)
    assert named["chin_2"] in FACE_OVAL and dict(LANDMARK72)["contour_6"] == named["chin_2"]


@pytest.mark.parametrize(
    "error, code",
    [
        (MalformedBody("x"), 222200),
        (UnsupportedBody("x"), 222200),
        (BodyTooLarge("x"), 222304),
        (EmptyImage("x"), 216200),
        (BadBase64("x"), 222013),
        (URLRefused("x"), 222204),
        (URLUnreachable("x"), 222204),
        (URLTimeout("x"), 222204),
        (URLTooLarge("x"), 222204),
        (ImageTooLarge("x"), 222304),
        (TooLarge("x"), 222304),
        (Unsupported("x"), 222203),
        (Overloaded("x"), 18),
        (BadRequest("x"), 216100),
        (KeyError("x"), None),
    ],
)
def test_the_error_table(error: Exception, code: int | None):
    assert code_of(dialect.ERRORS, error) == code


def test_answers_are_json_with_baidu_keys(opened: Proxy):
    body = result(post(opened, {"image": "QUJD", "image_type": "BASE64"}), dialect.IMAGE_CHECK_FAIL)
    assert list(body) == ["error_code", "error_msg", "log_id", "result"]
    assert json.loads(json.dumps(body)) == body
