"""facedetect: the native JSON (pure builder, the op on real photos, the download path) and draw/1."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from imgproxy import samples
from imgproxy.config import Settings
from imgproxy.errors import BadRequest
from imgproxy.faces.box import Box
from imgproxy.faces.detect import Detection, DetectOptions, Face, detection_scale
from imgproxy.faces.draw import BOX, WINDOW, CropView, draw_faces
from imgproxy.faces.finder import FaceFinder
from imgproxy.faces.mesh import FaceAnalysis
from imgproxy.faces.native import ANALYSIS_FACE_WIDTH, NativeOptions, analysis_scale, native_json
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.facedetect import FaceDetect, parse
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.values import Document, Encoded, Raster

KEYPOINTS = {"right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion"}
ATTRIBUTES = {"pose", "eyes", "mouth", "quality"}


def apply(text: str, data: bytes) -> Document | Raster:
    (op,) = parse_pipeline(text, 30).ops
    return op.apply(Encoded(data, "image/jpeg"), Context(Settings(), FaceFinder(0)))


def native(text: str, data: bytes) -> dict:
    result = apply(text, data)
    assert isinstance(result, Document)
    return result.body


@pytest.fixture(scope="module")
def hopper() -> bytes:
    return samples.jpeg_bytes(samples.grace_hopper())


def largest(body: dict) -> list[float]:
    return body["faces"][0]["box"]


# Parsing: every option checked, one canonical spelling.


def test_canonical_spelling_orders_options_and_drops_defaults():
    op = parse(["rotate", "1", "max", "3", "landmarks", "0", "minsize", "40", "ignore-error", "0"])
    assert op.canonical() == "facedetect/max/3/minsize/40/rotate/1"
    assert parse([]).canonical() == "facedetect"
    assert parse(["draw", "1", "crop", "200x100", "landmarks", "1"]).canonical() == "facedetect/landmarks/1/draw/1/crop/200x100"


def test_options_are_read_into_detection_options():
    op = parse(["landmarks", "1", "attributes", "1", "max", "2", "minsize", "64", "rotate", "1"])
    assert op.options == NativeOptions(DetectOptions(max_faces=2, min_face_size=64, rotate=True), landmarks=True, attributes=True)


@pytest.mark.parametrize(
    "args, named",
    [
        ("max/0", "max"),
        ("max/-1", "max"),
        ("max/1001", "max"),
        ("max/two", "max"),
        ("minsize/5", "minsize"),
        ("minsize/100000", "minsize"),
        ("landmarks/2", "landmarks"),
        ("rotate/yes", "rotate"),
        ("draw/1/crop/0x10", "crop"),
        ("crop/200x200/pad/9", "pad"),
        ("crop/200x200/pad/nan", "pad"),
        ("pad/2", "pad"),
        ("crop/200x200/faces/0", "faces"),
        ("crop/200x200/faces/most", "faces"),
        ("crop/200x200/fallback/blur", "fallback"),
        ("crop/200x200/rotate/1", "rotate"),
        ("draw/1/attributes/1", "attributes"),
        ("size/3", "size"),
        ("max", "max"),
    ],
)
def test_bad_options_are_400_naming_the_option(args: str, named: str):
    with pytest.raises(BadRequest) as caught:
        parse(args.split("/"))
    assert caught.value.message.startswith("facedetect: ") and named in caught.value.message


def test_the_detection_decode_is_the_detectors_own_scaled_to_the_smallest_face_wanted():
    for size in ((4000, 3000), (512, 600), (300, 200)):
        assert detection_scale(size, 0) == detection_scale(size)  # facecrop2's decode: one cached detection
    assert detection_scale((4000, 3000), 400) == pytest.approx(detection_scale((4000, 3000), 200) / 2)


# The JSON builder, on made-up detections: shape, units, rounding, nulls.

FACE = Face(Box(10.04, 20.06, 30.0, 40.0), 0.912345, {"right_eye": (15.06, 25.04), "left_eye": (32.0, 25.0)})
SMALL = Face(Box(100.0, 100.0, 12.0, 12.0), 0.6, {})
ANALYSIS = FaceAnalysis(
    landmarks=((1.04, 2.06),) * 478,
    yaw=10.04,
    pitch=-5.06,
    roll=1.0,
    right_eye_ratio=0.2912,
    left_eye_ratio=0.05,
    mouth_ratio=0.30004,
    right_eye_open=True,
    left_eye_open=False,
    mouth_open=True,
    laplacian_variance=120.0,
    blur=0.2,
    illumination=130.04,
    completeness=0.9876,
)


def test_native_json_shape_and_rounding():
    body = native_json((640, 480), Detection([FACE, SMALL], 90), NativeOptions())
    assert body == {
        "width": 640,
        "height": 480,
        "orientation": 90,
        "faces": [
            {
                "box": [10.0, 20.1, 30.0, 40.0],
                "score": 0.9123,
                "keypoints": {"right_eye": [15.1, 25.0], "left_eye": [32.0, 25.0]},
            },
            {"box": [100.0, 100.0, 12.0, 12.0], "score": 0.6, "keypoints": {}},
        ],
    }
    json.dumps(body)  # plain JSON types only


def test_landmarks_and_attributes_only_when_asked_and_null_where_the_mesh_found_nothing():
    options = NativeOptions(landmarks=True, attributes=True)
    first, second = native_json((640, 480), Detection([FACE, SMALL]), options, [ANALYSIS, None])["faces"]
    assert len(first["landmarks"]) == 478 and first["landmarks"][0] == [1.0, 2.1]
    assert first["pose"] == {"yaw": 10.0, "pitch": -5.1, "roll": 1.0}
    assert first["eyes"] == {"right_open": True, "left_open": False, "right_ratio": 0.291, "left_ratio": 0.05}
    assert first["mouth"] == {"open": True, "ratio": 0.3}
    assert first["quality"] == {"blur": 0.2, "illumination": 130.0, "completeness": 0.988}
    assert {key: second[key] for key in ("landmarks", *ATTRIBUTES)} == dict.fromkeys(("landmarks", *ATTRIBUTES))
    only_landmarks = native_json((640, 480), Detection([FACE]), NativeOptions(landmarks=True), [ANALYSIS])["faces"][0]
    assert "landmarks" in only_landmarks and not ATTRIBUTES & only_landmarks.keys()


def test_analyses_are_required_when_asked_for():
    with pytest.raises(ValueError):
        native_json((640, 480), Detection([FACE]), NativeOptions(attributes=True))


def test_the_mesh_runs_where_the_narrowest_face_is_wide_enough():
    assert analysis_scale([FACE], (4000, 3000)) == 1.0  # 30 px wide: needs every pixel there is
    wide = Face(Box(0, 0, ANALYSIS_FACE_WIDTH * 4, 10), 0.9)
    assert analysis_scale([wide], (4000, 3000)) == pytest.approx(0.25)
    assert analysis_scale([], (4000, 3000)) == pytest.approx(ANALYSIS_FACE_WIDTH / 4000)


# The picture, pure.


def near(pixel: np.ndarray, color: tuple[int, int, int], tolerance: int = 40) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - color) <= tolerance))


def test_draw_marks_the_box_and_the_window_and_leaves_the_rest():
    image = Image.new("RGB", (600, 400), (90, 90, 90))
    face = Face(Box(200, 150, 100, 100), 0.87, {"nose_tip": (250, 200)})
    drawn = draw_faces(image, [face], crop=CropView(Box(100, 50, 300, 300), {0}, "faces"))
    pixels = np.asarray(drawn)
    assert drawn.size == image.size and np.asarray(image).mean() == 90  # the input is left as it was
    assert near(pixels[250, 200], BOX) and near(pixels[200, 299], BOX)  # left and right edges
    assert near(pixels[349, 100], WINDOW) and near(pixels[200, 399], WINDOW)
    assert near(pixels[200, 250], (255, 255, 255))  # the nose-tip keypoint
    assert near(pixels[390, 550], (90, 90, 90), 0) and near(pixels[220, 230], (90, 90, 90), 0)


def test_strokes_grow_with_the_image():
    big = Image.new("RGB", (3000, 3000), (90, 90, 90))
    pixels = np.asarray(draw_faces(big, [Face(Box(1000, 1000, 800, 800), 0.9)]))
    assert all(near(pixels[1400, x], BOX) for x in range(1000, 1008))  # 10 px wide at 3000 px


# The op on real photos.


def test_json_shape_and_units_on_a_photo(hopper: bytes):
    body = native("facedetect", hopper)
    assert (body["width"], body["height"], body["orientation"]) == (512, 600, 0)
    assert body["faces"], "Grace Hopper's face"
    areas = [face["box"][2] * face["box"][3] for face in body["faces"]]
    assert areas == sorted(areas, reverse=True)
    x, y, w, h = largest(body)
    assert 120 < w < 300 and 0.8 < h / w < 1.25 and x >= 0 and x + w <= 512 and y >= 0 and y + h <= 600
    face = body["faces"][0]
    assert 0.5 <= face["score"] <= 1 and set(face["keypoints"]) == KEYPOINTS
    assert not {"landmarks", *ATTRIBUTES} & face.keys()
    (rx, ry), (lx, ly) = face["keypoints"]["right_eye"], face["keypoints"]["left_eye"]
    assert x < rx < lx < x + w and y < ry < y + h / 2 and y < ly < y + h / 2  # the subject's right eye is on the image's left


def test_exif_rotated_original_reports_boxes_in_oriented_pixels(hopper: bytes):
    stored_sideways = samples.jpeg_bytes(samples.grace_hopper().transpose(Image.Transpose.ROTATE_270), orientation=8)
    upright, rotated = native("facedetect/max/1", hopper), native("facedetect/max/1", stored_sideways)
    assert (rotated["width"], rotated["height"]) == (512, 600)
    assert largest(rotated) == pytest.approx(largest(upright), abs=8)


def test_rotate_finds_a_face_in_a_sideways_photo_and_says_how_it_turned(hopper: bytes):
    sideways = samples.grace_hopper().transpose(Image.Transpose.ROTATE_90)  # turned a quarter anticlockwise
    body = native("facedetect/rotate/1/max/1", samples.jpeg_bytes(sideways))
    assert (body["width"], body["height"]) == (600, 512)
    assert body["orientation"] == 90 and body["faces"][0]["score"] > 0.7
    # Hopper's face where the upright photo's is, turned a quarter anticlockwise: (x, y) -> (y, 512 - x).
    x, y, w, h = largest(native("facedetect/max/1", hopper))
    assert largest(body) == pytest.approx([y, 512 - x - w, h, w], abs=10)


def test_max_keeps_the_largest_faces():
    data = samples.jpeg_bytes(samples.large_photo())
    every = native("facedetect", data)["faces"]
    assert len(every) >= 2  # Grace Hopper and the astronaut
    assert native("facedetect/max/1", data)["faces"] == every[:1]
    assert native("facedetect/max/2", data)["faces"] == every[:2]


def test_minsize_leaves_out_smaller_faces():
    data = samples.jpeg_bytes(samples.large_photo())  # Hopper's face is ~840 px wide, the astronaut's ~370 px
    wide = native("facedetect/minsize/600", data)["faces"]
    assert wide and all(face["box"][2] >= 600 for face in wide)
    assert len(native("facedetect/minsize/300", data)["faces"]) > len(wide)


def test_landmarks_are_478_points_inside_the_image(hopper: bytes):
    face = native("facedetect/landmarks/1/max/1", hopper)["faces"][0]
    assert len(face["landmarks"]) == 478 and not ATTRIBUTES & face.keys()
    x, _, w, _ = face["box"]
    assert all(0 <= px < 512 and 0 <= py < 600 for px, py in face["landmarks"])
    assert x < np.mean([p[0] for p in face["landmarks"]]) < x + w


def test_attributes_of_a_frontal_open_eyed_face(hopper: bytes):
    face = native("facedetect/attributes/1/max/1", hopper)["faces"][0]
    assert "landmarks" not in face
    assert all(abs(face["pose"][angle]) < 20 for angle in ("yaw", "pitch", "roll"))
    assert face["eyes"]["left_open"] is True and face["eyes"]["right_open"] is True
    assert face["mouth"]["open"] is False
    quality = face["quality"]
    assert 0 <= quality["blur"] < 0.5 and 40 < quality["illumination"] < 255 and quality["completeness"] == 1.0


def test_attributes_of_a_small_face_in_a_large_photo_match_the_portrait():
    # Hopper's face is ~75 px wide in the detection decode of this photo: the mesh needs a finer one.
    data = samples.jpeg_bytes(samples.place(samples.background((3000, 2000), seed=1), samples.grace_hopper(), 360, (2100, 500)))
    face = native("facedetect/attributes/1/landmarks/1/max/1", data)["faces"][0]
    x, _, w, _ = face["box"]
    assert 2100 < x < 2300 and all(x - w < px < x + 2 * w for px, _ in face["landmarks"])
    assert face["eyes"]["left_open"] and abs(face["pose"]["yaw"]) < 20 and face["quality"]["blur"] < 0.5


def test_no_face_is_an_empty_list_not_an_error():
    body = native("facedetect/attributes/1", samples.jpeg_bytes(samples.background((800, 600), seed=3)))
    assert body == {"width": 800, "height": 600, "orientation": 0, "faces": []}


def test_draw_answers_the_photo_at_its_size_with_the_box_in_red(hopper: bytes):
    body = native("facedetect/max/1", hopper)
    picture = apply("facedetect/draw/1/max/1", hopper)
    assert isinstance(picture, Raster) and picture.format == "JPEG" and picture.image.size == (512, 600)
    x, y, _, h = (round(v) for v in largest(body))
    pixels = np.asarray(picture.image)
    left_edge = pixels[y + h // 4 : y + 3 * h // 4, x]
    assert np.mean([near(p, BOX, 60) for p in left_edge]) > 0.9


def test_ops_after_facedetect_have_no_image():
    with pytest.raises(BadRequest, match="needs an image"):
        FaceDetect().apply(Document({}), Context(Settings(), FaceFinder(0)))


# On the download path.


def test_facedetect_on_the_download_path(proxy):
    response = proxy.get("/grace_hopper.jpg?facedetect/max/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["width"], body["height"]) == (512, 600) and len(body["faces"]) == 1


def test_exif_rotated_object_on_the_download_path(proxy):
    body = proxy.get("/rotated.jpg?facedetect/max/1").json()
    upright = proxy.get("/grace_hopper.jpg?facedetect/max/1").json()
    assert (body["width"], body["height"]) == (512, 600)
    assert largest(body) == pytest.approx(largest(upright), abs=8)


def test_draw_shows_the_window_facecrop2_chooses(proxy):
    crop = proxy.get("/grace_hopper.jpg?facecrop2/200x200")
    x, y, w, _ = (int(v) for v in crop.headers["x-crop-box"].split(","))
    # As PNG: JPEG's halved chroma smears a 2 px line into the sky, more or less by where it falls.
    response = proxy.get("/grace_hopper.jpg?facedetect/draw/1/crop/200x200|imageMogr2/format/png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    picture = Image.open(io.BytesIO(response.content))
    assert picture.size == (512, 600)
    pixels = np.asarray(picture.convert("RGB"))
    top_edge = pixels[y + 1, x + w // 4 : x + 3 * w // 4]
    assert all(near(p, WINDOW, 0) for p in top_edge)


def test_errors_on_the_download_path(proxy):
    bad = proxy.get("/grace_hopper.jpg?facedetect/max/-1")
    assert bad.status_code == 400 and "max" in bad.json()["error"]
    too_big = proxy.get("/grace_hopper.jpg?facedetect/draw/1/crop/800x800")
    assert too_big.status_code == 400 and too_big.json()["error"] == "facedetect: crop 800x800 exceeds image size 512x600"
    assert proxy.get("/grace_hopper.jpg?facedetect/minsize/5/ignore-error/1").status_code == 400  # parsing is not the op
    ignored = proxy.get("/grace_hopper.jpg?facedetect/draw/1/crop/800x800/ignore-error/1")
    assert ignored.status_code == 200 and ignored.headers["content-type"] == "image/jpeg"
