"""POST /facepp/v3/detect, Face++ Detect v3: its pure parts, then real clients against a real server."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import requests
from conftest import REPO, Proxy, start_proxy, stop
from images import analysis, png_bomb
from PIL import Image
from starlette.exceptions import HTTPException

from imgproxy import samples
from imgproxy.api.facepp import (
    FACEPP,
    MAX_IMAGE_BYTES,
    QUALITY_THRESHOLD,
    Query,
    Rectangle,
    chosen_source,
    face_token,
    headpose_json,
    read_attributes,
    read_query,
    read_rectangle,
)
from imgproxy.api.facepp_landmarks import LANDMARKS_83, LANDMARKS_106, named_points
from imgproxy.api.fetch import URLRefused, URLTimeout, URLTooLarge, URLUnreachable
from imgproxy.api.inputs import BadBase64, BodyTooLarge, EmptyImage, FilePart, ImageTooLarge, MalformedBody, NotAFile
from imgproxy.api.megvii import (
    Call,
    Failure,
    InvalidImageSize,
    MegviiError,
    face_quality,
    frontality,
    key_matches,
    lighting,
    refusal,
)
from imgproxy.errors import Overloaded, TooLarge, Unsupported
from imgproxy.faces.box import Box
from imgproxy.faces.detect import detect
from imgproxy.faces.mesh import analyze

DETECT = "/facepp/v3/detect"
KEYS = {"api_key": "k", "api_secret": "s"}
SEED = REPO.parent / "shared" / "seeds" / "faceplusplus-detect-v3.md"

# Face++'s documented landmark names (console.faceplusplus.com.cn documents 5671270 and 13207408).
EYE_NAMES = {
    f"{side}_eye_{part}"
    for side in ("left", "right")
    for part in (
        "bottom",
        "center",
        "left_corner",
        "lower_left_quarter",
        "lower_right_quarter",
        "pupil",
        "right_corner",
        "top",
        "upper_left_quarter",
        "upper_right_quarter",
    )
}
NAMES_83 = EYE_NAMES | {
    "contour_chin",
    *(f"contour_{side}{i}" for side in ("left", "right") for i in range(1, 10)),
    *(
        f"{side}_eyebrow_{part}"
        for side in ("left", "right")
        for part in (
            "left_corner",
            "lower_left_quarter",
            "lower_middle",
            "lower_right_quarter",
            "right_corner",
            "upper_left_quarter",
            "upper_middle",
            "upper_right_quarter",
        )
    ),
    "mouth_left_corner",
    "mouth_right_corner",
    "mouth_lower_lip_bottom",
    "mouth_lower_lip_top",
    "mouth_upper_lip_bottom",
    "mouth_upper_lip_top",
    *(f"mouth_{lip}_lip_{side}_contour{i}" for lip in ("lower", "upper") for side in ("left", "right") for i in (1, 2, 3)),
    *(f"nose_contour_{side}{i}" for side in ("left", "right") for i in (1, 2, 3)),
    "nose_contour_lower_middle",
    "nose_left",
    "nose_right",
    "nose_tip",
}
NAMES_106 = EYE_NAMES | {
    "contour_chin",
    *(f"contour_{side}{i}" for side in ("left", "right") for i in range(1, 17)),
    "left_eyebrow_left_corner",
    "left_eyebrow_upper_left_quarter",
    "left_eyebrow_upper_middle",
    "left_eyebrow_upper_right_quarter",
    "left_eyebrow_upper_right_corner",
    "left_eyebrow_lower_left_quarter",
    "left_eyebrow_lower_middle",
    "left_eyebrow_lower_right_quarter",
    "left_eyebrow_lower_right_corner",
    "right_eyebrow_right_corner",
    "right_eyebrow_upper_right_quarter",
    "right_eyebrow_upper_middle",
    "right_eyebrow_upper_left_quarter",
    "right_eyebrow_upper_left_corner",
    "right_eyebrow_lower_right_quarter",
    "right_eyebrow_lower_middle",
    "right_eyebrow_lower_left_quarter",
    "right_eyebrow_lower_left_corner",
    *(f"nose_bridge{i}" for i in (1, 2, 3)),
    "nose_tip",
    "nose_middle_contour",
    *(f"nose_{side}_contour{i}" for side in ("left", "right") for i in range(1, 6)),
    "mouth_left_corner",
    "mouth_right_corner",
    "mouth_upper_lip_top",
    "mouth_upper_lip_bottom",
    "mouth_lower_lip_top",
    "mouth_lower_lip_bottom",
    *(f"mouth_upper_lip_{side}_contour{i}" for side in ("left", "right") for i in (1, 2, 3, 4)),
    *(f"mouth_lower_lip_{side}_contour{i}" for side in ("left", "right") for i in (1, 2, 3)),
}


def code_of(call: Callable[[], object]) -> str:
    with pytest.raises(MegviiError) as raised:
        call()
    return raised.value.failure.code


# Reading the fields.


def test_attributes_are_the_supported_ones_or_a_bad_argument():
    assert read_attributes(None) == read_attributes("none") == ()
    assert read_attributes(" headpose , blur,facequality,blur") == ("headpose", "blur", "facequality")
    for text in ("gender", "headpose,age", "smiling", "emotion", "eyestatus", "mouthstatus", "HEADPOSE", "none,blur", ","):
        assert code_of(lambda text=text: read_attributes(text)) == "BAD_ARGUMENTS:return_attributes", text


def test_face_rectangle_is_four_whole_numbers_top_left_width_height():
    assert read_rectangle("70,80,100,100") == Rectangle(top=70, left=80, width=100, height=100)
    assert read_rectangle(" 0, 0 ,5,6 ").box == Box(0, 0, 5, 6)
    assert read_rectangle(None) is None
    for text in ("1,2,3", "a,b,c,d", "1,2,0,5", "-1,2,3,4", "1.5,2,3,4", "1,2,3,4,5"):
        assert code_of(lambda text=text: read_rectangle(text)) == "BAD_ARGUMENTS:face_rectangle", text


def test_options_have_the_seed_defaults_and_empty_means_not_given():
    assert read_query({}) == Query()
    assert read_query({"return_landmark": "", "calculate_all": " ", "face_rectangle": "", "return_attributes": ""}) == Query()
    assert read_query({"return_landmark": "2", "calculate_all": "1"}) == Query(landmark=2, calculate_all=True)
    for fields, named in (
        ({"return_landmark": "3"}, "return_landmark"),
        ({"return_landmark": "yes"}, "return_landmark"),
        ({"calculate_all": "2"}, "calculate_all"),
        ({"return_landmark": FilePart("a", None, b"1")}, "return_landmark"),
    ):
        assert code_of(lambda fields=fields: read_query(fields)) == f"BAD_ARGUMENTS:{named}"


def test_landmarks_and_attributes_go_to_the_largest_five_unless_calculate_all():
    assert Query().analyzed == 0
    assert Query(landmark=1).analyzed == Query(attributes=("blur",)).analyzed == 5
    assert Query(landmark=2, calculate_all=True).analyzed is None


def test_image_precedence_is_file_then_base64_then_url():
    file = FilePart("a.jpg", "image/jpeg", b"x")
    assert chosen_source({"image_url": "u", "image_base64": "b", "image_file": file}) == "image_file"
    assert chosen_source({"image_url": "u", "image_base64": "b"}) == "image_base64"
    assert chosen_source({"image_url": "u", "image_base64": "  "}) == "image_url"
    assert code_of(lambda: chosen_source({"image_url": ""})) == "MISSING_ARGUMENTS: image_url, image_file, image_base64"


# The shared Megvii parts, in Face++'s spelling.


@pytest.mark.parametrize(
    "exc, image, failure",
    [
        (BodyTooLarge("x"), None, Failure(413, "Request Entity Too Large")),
        (MalformedBody("x"), None, Failure(400, "BAD_ARGUMENTS:request_body")),
        (HTTPException(400, "bad multipart"), None, Failure(400, "BAD_ARGUMENTS:request_body")),
        (NotAFile("x"), "image_file", Failure(400, "BAD_ARGUMENTS:image_file")),
        (BadBase64("x"), "image_base64", Failure(400, "BAD_ARGUMENTS:image_base64")),
        (EmptyImage("x"), "image_file", Failure(400, "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_file")),
        (ImageTooLarge("x"), "image_base64", Failure(400, "IMAGE_FILE_TOO_LARGE:image_base64")),
        (URLTooLarge("x"), "image_url", Failure(400, "IMAGE_FILE_TOO_LARGE:image_url")),
        (URLRefused("x"), "image_url", Failure(400, "INVALID_IMAGE_URL")),
        (URLUnreachable("x"), "image_url", Failure(400, "INVALID_IMAGE_URL")),
        (URLTimeout("x"), "image_url", Failure(412, "IMAGE_DOWNLOAD_TIMEOUT")),
        (Unsupported("x"), "image_file", Failure(400, "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_file")),
        (TooLarge("x"), "image_file", Failure(400, "INVALID_IMAGE_SIZE:image_file")),
        (InvalidImageSize("x"), "image_url", Failure(400, "INVALID_IMAGE_SIZE:image_url")),
        (Overloaded("x"), "image_file", Failure(403, "CONCURRENCY_LIMIT_EXCEEDED")),
        (ValueError("a bug"), "image_file", None),
    ],
)
def test_each_shared_input_error_has_its_face_plus_plus_code(exc: Exception, image: str | None, failure: Failure | None):
    assert FACEPP.failure_of(exc, image) == failure


def test_load_shedding_says_when_to_retry():
    response = refusal(FACEPP, Call.start(), Failure(403, "CONCURRENCY_LIMIT_EXCEEDED"))
    assert response.status_code == 403 and response.headers["retry-after"] == "1"


def test_keys_match_pair_by_pair():
    pairs = {"k": "s", "k2": "s2"}
    assert key_matches(pairs, "k", "s") and key_matches(pairs, "k2", "s2")
    assert not key_matches(pairs, "k", "s2") and not key_matches(pairs, "x", "s") and not key_matches(pairs, "k", "")


def test_face_quality_is_sharpness_times_lighting_times_frontality_times_completeness():
    assert face_quality(analysis()) == pytest.approx(100)
    assert face_quality(analysis(blur=0.5)) == pytest.approx(50)
    assert face_quality(analysis(yaw=60)) == pytest.approx(50)
    assert face_quality(analysis(pitch=90)) == pytest.approx(0, abs=1e-9)
    assert face_quality(analysis(completeness=0.5, blur=0.2)) == pytest.approx(40)
    assert lighting(50) == lighting(210) == 1 and lighting(30) == lighting(230) == pytest.approx(0.5)
    assert lighting(5) == lighting(255) == 0
    assert frontality(-30, 0) == frontality(30, 0) == pytest.approx(np.cos(np.radians(30)))


def test_headpose_turns_the_mesh_yaw_to_face_plus_plus_sign():
    pose = headpose_json(analysis(yaw=20.1234567, pitch=-5.5, roll=12.0))
    assert pose == {"pitch_angle": -5.5, "roll_angle": 12.0, "yaw_angle": -20.123457}


def test_face_tokens_are_stable_and_differ_between_faces():
    rectangle = Rectangle(1, 2, 3, 4)
    assert face_token("ab" * 16, rectangle) == face_token("ab" * 16, rectangle)
    assert re.fullmatch(r"[0-9a-f]{32}", face_token("ab" * 16, rectangle))
    assert face_token("ab" * 16, rectangle) != face_token("ab" * 16, Rectangle(1, 2, 3, 5))
    assert face_token("ab" * 16, rectangle) != face_token("cd" * 16, rectangle)


# The landmark tables on real faces.


def test_the_tables_name_every_face_plus_plus_point():
    assert set(LANDMARKS_83) == NAMES_83 and len(LANDMARKS_83) == 83
    assert set(LANDMARKS_106) == NAMES_106 and len(LANDMARKS_106) == 106


def mirrored_name(name: str) -> str:
    return name.replace("left", "\0").replace("right", "left").replace("\0", "right")


@pytest.fixture(scope="module")
def hopper_points() -> tuple[tuple[float, float], ...]:
    image = samples.grace_hopper()
    found = analyze(image, detect(image).faces[0].box)
    assert found is not None
    return found.landmarks


@pytest.mark.parametrize("table", [LANDMARKS_83, LANDMARKS_106], ids=["83", "106"])
def test_named_points_sit_where_their_names_say(hopper_points, table):
    p = {name: (point["x"], point["y"]) for name, point in named_points(hopper_points, table).items()}
    # Face++'s left is the image's left.
    assert p["left_eye_pupil"][0] < p["nose_tip"][0] < p["right_eye_pupil"][0]
    assert (
        p["left_eye_left_corner"][0]
        < p["left_eye_right_corner"][0]
        < p["right_eye_left_corner"][0]
        < p["right_eye_right_corner"][0]
    )
    assert p["mouth_left_corner"][0] < p["mouth_upper_lip_top"][0] < p["mouth_right_corner"][0]
    assert p["left_eyebrow_upper_middle"][1] < p["left_eye_top"][1] < p["left_eye_bottom"][1] < p["nose_tip"][1]
    assert p["nose_tip"][1] < p["mouth_upper_lip_top"][1] < p["mouth_lower_lip_bottom"][1] < p["contour_chin"][1]
    for side in ("left", "right"):
        contour = [p[name] for name in table if re.fullmatch(rf"contour_{side}\d+", name)]
        contour.sort(key=lambda point: point[1])
        assert contour == [p[f"contour_{side}{i}"] for i in range(1, len(contour) + 1)]  # numbered top to bottom
        assert contour[-1][1] <= p["contour_chin"][1]
    assert all(p[f"contour_left{i}"][0] < p["nose_tip"][0] < p[f"contour_right{i}"][0] for i in (1, 2, 3))


@pytest.mark.parametrize("table", [LANDMARKS_83, LANDMARKS_106], ids=["83", "106"])
def test_the_image_right_side_mirrors_the_left(table):
    # Neighbouring points of a contour or brow are a fifth of the eye distance apart: a wrong twin
    # would be off by that much. The astronaut faces the camera squarely, so her mesh is symmetric.
    image = samples.astronaut()
    box = detect(image).faces[0].box
    flipped = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    here, there = (analyze(*args) for args in ((image, box), (flipped, Box(image.width - box.right, box.y, box.w, box.h))))
    assert here is not None and there is not None
    points, twins = named_points(there.landmarks, table), named_points(here.landmarks, table)
    eyes = abs(twins["right_eye_pupil"]["x"] - twins["left_eye_pupil"]["x"])
    for name, point in points.items():
        twin = twins[mirrored_name(name)]
        distance = np.hypot(image.width - point["x"] - twin["x"], point["y"] - twin["y"])
        assert distance < 0.1 * eyes, (name, distance)


# The endpoint, on a real server.


def hopper_bytes() -> bytes:
    return samples.jpeg_bytes(samples.grace_hopper())


def two_faces() -> Image.Image:
    """Grace Hopper on the left, the astronaut on the right, on a soft background."""
    canvas = samples.place(samples.background((1200, 700), seed=7), samples.grace_hopper(), 480, (0, 40))
    return samples.place(canvas, samples.astronaut(), 420, (700, 120))


@pytest.fixture(scope="module")
def keyed(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    proxy = start_proxy(str(samples_dir), tmp_path_factory.mktemp("logs"), api_keys="k:s,other:secret")
    yield proxy
    stop(proxy.process)


def post(proxy: Proxy, **kwargs: Any) -> httpx.Response:
    return httpx.post(proxy.url + DETECT, timeout=60, **kwargs)


def upload(proxy: Proxy, data: bytes, **fields: str) -> httpx.Response:
    return post(proxy, data={**KEYS, **fields}, files={"image_file": ("photo.jpg", data, "image/jpeg")})


def error_of(response: httpx.Response | requests.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error_message", "request_id", "time_used"}
    assert isinstance(body["time_used"], int) and re.fullmatch(r"\d+,[0-9a-f-]{36}", body["request_id"])
    return body["error_message"]


def seed_example() -> str:
    """The seed's own curl example, as printed."""
    if not SEED.exists():
        pytest.skip(f"the seed {SEED} is not checked out beside the repository")
    return SEED.read_text().split("## 调用示例", 1)[1].split("```")[1].strip()


def run_curl(command: str, folder: Path) -> dict:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed: the seed's example needs it")
    done = subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True, timeout=60, check=True)
    return httpx.Response(200, content=done.stdout).json()


def test_the_seeds_curl_example_verbatim(keyed: Proxy, tmp_path: Path):
    (tmp_path / "image_file.jpg").write_bytes(hopper_bytes())
    command = seed_example().replace("https://api-cn.faceplusplus.com", keyed.url)
    command = command.replace("<api_key>", "k").replace("<api_secret>", "s")
    # It asks for gender and age, which the core does not compute: refused, not invented.
    assert run_curl(command, tmp_path)["error_message"] == "BAD_ARGUMENTS:return_attributes"
    body = run_curl(command.replace("gender,age", "headpose,facequality"), tmp_path)
    (face,) = body["faces"]
    assert set(face["landmark"]) == NAMES_83
    assert set(face["attributes"]) == {"headpose", "facequality"}


def test_multipart_answer_has_face_plus_plus_types_and_shapes(keyed: Proxy):
    response = upload(keyed, hopper_bytes(), return_landmark="2", return_attributes="headpose,blur,facequality")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"request_id", "time_used", "image_id", "face_num", "faces"}
    assert isinstance(body["time_used"], int) and body["face_num"] == len(body["faces"]) == 1
    assert re.fullmatch(r"[A-Za-z0-9+/]{22}==", body["image_id"])
    (face,) = body["faces"]
    assert set(face) == {"face_token", "face_rectangle", "landmark", "attributes"}
    rectangle = face["face_rectangle"]
    assert set(rectangle) == {"top", "left", "width", "height"} and all(isinstance(v, int) for v in rectangle.values())
    assert 150 < rectangle["left"] < rectangle["left"] + rectangle["width"] < 400  # Grace Hopper's face, 512x600
    assert set(face["landmark"]) == NAMES_106
    assert all(isinstance(p["x"], int) and isinstance(p["y"], int) for p in face["landmark"].values())
    attributes = face["attributes"]
    assert set(attributes["headpose"]) == {"pitch_angle", "roll_angle", "yaw_angle"}
    assert all(abs(angle) < 15 for angle in attributes["headpose"].values())  # she faces the camera
    blur = attributes["blur"]
    assert blur["blurness"] == blur["motionblur"] == blur["gaussianblur"]
    assert 0 <= blur["blurness"]["value"] < blur["blurness"]["threshold"] == 50.0  # a sharp photo
    quality = attributes["facequality"]
    assert quality["threshold"] == QUALITY_THRESHOLD < quality["value"] <= 100


def test_no_options_answer_boxes_only(keyed: Proxy):
    (face,) = upload(keyed, hopper_bytes()).json()["faces"]
    assert set(face) == {"face_token", "face_rectangle"}


def test_urlencoded_base64_with_requests_finds_the_same_face_with_the_same_token(keyed: Proxy):
    data = hopper_bytes()
    by_form = requests.post(keyed.url + DETECT, data={**KEYS, "image_base64": base64.b64encode(data).decode()}, timeout=60)
    assert by_form.status_code == 200
    by_file = requests.post(keyed.url + DETECT, data=KEYS, files={"image_file": ("a.jpg", data, "image/jpeg")}, timeout=60)
    again = upload(keyed, data)
    assert by_form.json()["faces"] == by_file.json()["faces"] == again.json()["faces"]
    assert by_form.json()["image_id"] == again.json()["image_id"]
    assert by_form.json()["request_id"] != again.json()["request_id"]


def test_every_configured_pair_is_accepted(keyed: Proxy):
    response = post(keyed, data={"api_key": "other", "api_secret": "secret"}, files={"image_file": ("a.jpg", hopper_bytes())})
    assert response.status_code == 200


def test_face_rectangle_detects_inside_it_only_and_answers_it(keyed: Proxy):
    data = samples.jpeg_bytes(two_faces())
    both = upload(keyed, data).json()
    assert both["face_num"] == 2
    astronaut = max(both["faces"], key=lambda face: face["face_rectangle"]["left"])["face_rectangle"]
    asked = f"{astronaut['top'] - 30},{astronaut['left'] - 20},{astronaut['width'] + 40},{astronaut['height'] + 50}"
    body = upload(keyed, data, face_rectangle=asked, return_attributes="headpose").json()
    (face,) = body["faces"]
    top, left, width, height = map(int, asked.split(","))
    assert body["face_num"] == 1
    assert face["face_rectangle"] == {"top": top, "left": left, "width": width, "height": height}
    assert "headpose" in face["attributes"]
    assert face["face_token"] == upload(keyed, data, face_rectangle=asked).json()["faces"][0]["face_token"]
    empty = upload(keyed, data, face_rectangle="500,500,150,150").json()  # background only
    assert empty["face_num"] == 0 and empty["faces"] == []
    assert error_of(upload(keyed, data, face_rectangle="600,1100,200,200"), 400) == "BAD_ARGUMENTS:face_rectangle"


def test_only_the_five_largest_faces_are_analysed_unless_calculate_all(keyed: Proxy):
    canvas = samples.background((1800, 1000), seed=5)
    for i in range(4):
        canvas = samples.place(canvas, samples.grace_hopper(), 220, (20 + i * 440, 20))
    for i in range(3):
        canvas = samples.place(canvas, samples.astronaut(), 300, (20 + i * 560, 560))
    data = samples.jpeg_bytes(canvas)
    body = upload(keyed, data, return_landmark="1").json()
    assert body["face_num"] == len(body["faces"]) == 7
    areas = [face["face_rectangle"]["width"] * face["face_rectangle"]["height"] for face in body["faces"]]
    assert areas == sorted(areas, reverse=True)
    assert ["landmark" in face for face in body["faces"]] == [True] * 5 + [False] * 2
    every = upload(keyed, data, return_landmark="1", calculate_all="1").json()
    assert all("landmark" in face for face in every["faces"])
    assert [face["face_token"] for face in every["faces"]] == [face["face_token"] for face in body["faces"]]


def test_all_three_image_fields_are_not_a_coexistence_error(keyed: Proxy):
    # The seed orders them (image_file first), so COEXISTENCE_ARGUMENTS is not answered.
    fields = {**KEYS, "image_url": "http://example.invalid/a.jpg", "image_base64": "not base64!"}
    response = post(keyed, data=fields, files={"image_file": ("a.jpg", hopper_bytes(), "image/jpeg")})
    assert response.status_code == 200 and response.json()["face_num"] == 1
    assert error_of(post(keyed, data=fields), 400) == "BAD_ARGUMENTS:image_base64"


def image_file(image: Image.Image, format: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format)
    return out.getvalue()


@pytest.mark.parametrize(
    "kwargs, status, code",
    [
        ({"data": {"api_secret": "s"}}, 400, "MISSING_ARGUMENTS: api_key"),
        ({"data": {"api_key": "k"}}, 400, "MISSING_ARGUMENTS: api_secret"),
        ({"data": {"api_key": "k", "api_secret": "wrong"}}, 401, "AUTHENTICATION_ERROR"),
        ({"data": {"api_key": "other", "api_secret": "s"}}, 401, "AUTHENTICATION_ERROR"),
        ({"json": KEYS}, 400, "MISSING_ARGUMENTS: api_key"),  # a JSON body has no form fields
        ({"data": KEYS}, 400, "MISSING_ARGUMENTS: image_url, image_file, image_base64"),
        ({"data": {**KEYS, "image_base64": "QUJD", "return_landmark": "5"}}, 400, "BAD_ARGUMENTS:return_landmark"),
        ({"data": {**KEYS, "image_base64": "QUJD", "return_attributes": "gender,age"}}, 400, "BAD_ARGUMENTS:return_attributes"),
        ({"data": {**KEYS, "image_base64": "QUJD", "return_attributes": "emotion"}}, 400, "BAD_ARGUMENTS:return_attributes"),
        ({"data": {**KEYS, "image_base64": "QUJD", "calculate_all": "yes"}}, 400, "BAD_ARGUMENTS:calculate_all"),
        ({"data": {**KEYS, "image_base64": "QUJD", "face_rectangle": "1,2,3"}}, 400, "BAD_ARGUMENTS:face_rectangle"),
        ({"data": {**KEYS, "image_base64": "!!not base64!!"}}, 400, "BAD_ARGUMENTS:image_base64"),
        ({"data": {**KEYS, "image_file": "text, not a file"}}, 400, "BAD_ARGUMENTS:image_file"),
        ({"data": KEYS, "files": {"image_url": ("u.txt", b"http://x/a.jpg")}}, 400, "BAD_ARGUMENTS:image_url"),
        (
            {"data": KEYS, "files": {"image_file": ("a.jpg", b"<html>hello</html>")}},
            400,
            "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_file",
        ),
        ({"data": KEYS, "files": {"image_file": ("a.jpg", b"")}}, 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_file"),
        (
            {"data": {**KEYS, "image_base64": base64.b64encode(b"plain text").decode()}},
            400,
            "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_base64",
        ),
        (
            {"data": KEYS, "files": {"image_file": ("a.gif", image_file(samples.grace_hopper(), "GIF"))}},
            400,
            "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_file",
        ),
        (
            {"data": KEYS, "files": {"image_file": ("a.jpg", samples.jpeg_bytes(samples.background((20, 20))))}},
            400,
            "INVALID_IMAGE_SIZE:image_file",
        ),
        (
            {"data": KEYS, "files": {"image_file": ("a.jpg", samples.jpeg_bytes(samples.background((5000, 100))))}},
            400,
            "INVALID_IMAGE_SIZE:image_file",
        ),
        ({"data": KEYS, "files": {"image_file": ("a.png", png_bomb())}}, 400, "INVALID_IMAGE_SIZE:image_file"),
        (
            {"data": KEYS, "files": [("image_file", ("a.jpg", b"1")), ("image_file", ("b.jpg", b"2"))]},
            400,
            "BAD_ARGUMENTS:request_body",
        ),
        ({"content": b"--x--", "headers": {"content-type": "multipart/form-data"}}, 400, "BAD_ARGUMENTS:request_body"),
    ],
)
def test_errors_have_the_seeds_codes_and_statuses(keyed: Proxy, kwargs: dict, status: int, code: str):
    assert error_of(post(keyed, **kwargs), status) == code


def test_a_file_over_2_mb_is_too_large_whatever_field_it_comes_in(keyed: Proxy):
    large = samples.jpeg_bytes(samples.large_photo(), quality=90)  # 4000x3000: within the pixel limits
    assert len(large) > MAX_IMAGE_BYTES
    assert error_of(upload(keyed, large), 400) == "IMAGE_FILE_TOO_LARGE:image_file"
    as_text = post(keyed, data={**KEYS, "image_base64": base64.b64encode(large).decode()})
    assert error_of(as_text, 400) == "IMAGE_FILE_TOO_LARGE:image_base64"


def test_a_large_photo_within_the_limits_is_detected(keyed: Proxy):
    data = samples.jpeg_bytes(samples.large_photo(), quality=85)
    assert len(data) < MAX_IMAGE_BYTES
    assert upload(keyed, data, return_attributes="facequality").json()["face_num"] == 2


def test_image_url_to_a_private_address_is_refused_without_the_allowlist(keyed: Proxy):
    response = post(keyed, data={**KEYS, "image_url": keyed.url + "/grace_hopper.jpg"})
    assert error_of(response, 400) == "INVALID_IMAGE_URL"


def test_other_paths_and_methods_are_api_not_found(keyed: Proxy):
    for response in (httpx.post(keyed.url + "/facepp/v3/compare", data=KEYS), keyed.get("/facepp/v2/detect")):
        assert error_of(response, 404) == "API_NOT_FOUND"
    wrong_method = keyed.get(DETECT)
    assert error_of(wrong_method, 405) == "API_NOT_FOUND" and wrong_method.headers["allow"] == "POST"


def test_without_keys_and_not_open_the_api_is_refused(closed: Proxy):
    assert error_of(upload(closed, hopper_bytes()), 401) == "AUTHENTICATION_ERROR"
    assert error_of(post(closed, data={}), 401) == "AUTHENTICATION_ERROR"


# image_url through an allow-list, from the proxy itself and from a slow server; the open API.


class Stalling(ThreadingHTTPServer):
    """A server that answers nothing until released: a download from it always runs into the
    proxy's deadline, however fast or slow the machine is."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), StallingHandler)
        self.release = threading.Event()


class StallingHandler(BaseHTTPRequestHandler):
    server: Stalling

    def do_GET(self) -> None:
        self.server.release.wait(120)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def allowing(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """An open proxy (no keys) that may fetch from 127.0.0.1, with a 3 MB request limit and a
    download deadline no real work here comes near."""
    proxy = start_proxy(
        str(samples_dir),
        tmp_path_factory.mktemp("logs"),
        api_open="1",
        url_allowlist="127.0.0.1",
        origin_timeout="60",
        max_request_bytes=str(3_000_000),
    )
    try:
        yield proxy
    finally:
        stop(proxy.process)


def test_image_url_from_an_allowed_address_matches_the_upload(allowing: Proxy, samples_dir: Path):
    proxy = allowing
    fetched = post(proxy, data={"image_url": proxy.url + "/grace_hopper.jpg", "return_landmark": "1"})
    uploaded = post(proxy, files={"image_file": ("a.jpg", (samples_dir / "grace_hopper.jpg").read_bytes())})
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["faces"][0]["face_token"] == uploaded.json()["faces"][0]["face_token"]
    assert len(fetched.json()["faces"][0]["landmark"]) == 83


@pytest.mark.parametrize(
    "url, status, code",
    [
        ("{proxy}/missing.jpg", 400, "INVALID_IMAGE_URL"),
        ("{proxy}/large.jpg", 400, "IMAGE_FILE_TOO_LARGE:image_url"),
        ("{proxy}/no_face.jpg?imageMogr2/format/gif", 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT:image_url"),
        ("ftp://127.0.0.1/a.jpg", 400, "INVALID_IMAGE_URL"),
        ("http://127.0.0.2/a.jpg", 400, "INVALID_IMAGE_URL"),  # loopback, but not the allowed address
    ],
)
def test_image_url_failures(allowing: Proxy, url: str, status: int, code: str):
    response = post(allowing, data={"image_url": url.format(proxy=allowing.url)})
    assert error_of(response, status) == code


def test_an_image_url_that_never_answers_is_a_timeout(samples_dir: Path, tmp_path: Path):
    server = Stalling()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    impatient = start_proxy(str(samples_dir), tmp_path, api_open="1", url_allowlist="127.0.0.1", origin_timeout="1")
    try:
        response = post(impatient, data={"image_url": f"http://127.0.0.1:{server.server_port}/photo.jpg"})
        assert error_of(response, 412) == "IMAGE_DOWNLOAD_TIMEOUT"
    finally:
        stop(impatient.process)
        server.release.set()
        server.shutdown()


def test_an_oversize_request_is_413_in_plain_text(allowing: Proxy):
    proxy = allowing
    response = post(proxy, files={"image_file": ("big.jpg", b"\xff" * 3_100_000, "image/jpeg")})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Request Entity Too Large"


def test_an_open_api_checks_no_keys(allowing: Proxy):
    proxy = allowing
    response = post(proxy, data={"api_key": "any", "api_secret": "thing"}, files={"image_file": ("a.jpg", hopper_bytes())})
    assert response.status_code == 200 and response.json()["face_num"] == 1
