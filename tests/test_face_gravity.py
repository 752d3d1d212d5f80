"""Face gravity, an extension of the Qiniu ops: imageMogr2's `gravity/face|faces` places the crop,
imageView2's (modes 1 and 5) the cut after scaling, on the faces; without a face, in the centre."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from imgproxy.config import Settings
from imgproxy.errors import BadRequest
from imgproxy.faces import finder
from imgproxy.faces.box import Box
from imgproxy.faces.detect import detect
from imgproxy.faces.finder import FaceFinder
from imgproxy.metrics import CACHE_LOOKUPS
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.imagemogr2 import centred_on, fitting_region
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import Result, run
from imgproxy.pipeline.values import Encoded, Estimate
from imgproxy.samples import background, coffee, grace_hopper, jpeg_bytes, place

SETTINGS = Settings(debug_headers=True)


def process(data: bytes, text: str, faces: FaceFinder | None = None) -> Result:
    return run(parse_pipeline(text, 30), Encoded(data, "image/jpeg"), Context(SETTINGS, faces or FaceFinder(0)))


def face_centre(result: Result) -> tuple[float, float, tuple[int, int]] | None:
    """The centre of the largest face the answer shows, and the answer's size; None without a face."""
    image = Image.open(io.BytesIO(result.body))
    faces = detect(image).faces
    return (*faces[0].box.center, image.size) if faces else None


def in_middle_third(x: float, side: int) -> bool:
    return side / 3 < x < 2 * side / 3


@pytest.fixture(scope="module")
def right() -> bytes:
    """A face of about 140 px at the right of a 1600x900 photo, far from the centre."""
    return jpeg_bytes(place(background((1600, 900), seed=3), grace_hopper(), 400, (1150, 200)))


@pytest.fixture(scope="module")
def wide() -> bytes:
    """A 2400x800 photo with a face 500 px right of the centre: out of imageView2's centred square
    cut (800 columns) and far enough from the edge for a cut centred on it."""
    return jpeg_bytes(place(background((2400, 800), seed=5), grace_hopper(), 400, (1700, 150)))


@pytest.fixture(scope="module")
def top() -> bytes:
    """A face of about 215 px near the top edge, whose head-and-shoulders room reaches out of the
    photo: a crop centred on that room cut to the photo, or on facecrop2's window (pushed down by
    the edge), would have the face in its top third; centred on the faces it has them in the middle."""
    return jpeg_bytes(place(background((1600, 900), seed=4), grace_hopper(), 560, (40, -120)))


@pytest.mark.parametrize("photo", ["right", "top"])
@pytest.mark.parametrize("gravity", ["face", "faces"])
def test_imagemogr2_centres_the_crop_on_the_face(photo: str, gravity: str, request: pytest.FixtureRequest):
    result = process(request.getfixturevalue(photo), f"imageMogr2/gravity/{gravity}/crop/300x300")
    found = face_centre(result)
    assert found is not None
    x, y, size = found
    assert size == (300, 300) and in_middle_third(x, 300) and in_middle_third(y, 300)
    assert result.headers["X-Crop-Reason"] == "faces" and result.headers["X-Face-Count"] == "1"


def test_center_gravity_misses_the_face(right: bytes):
    assert face_centre(process(right, "imageMogr2/gravity/Center/crop/300x300")) is None


def test_the_crop_follows_the_face_after_a_thumbnail(right: bytes):
    """The crop is in the thumbnail's pixels, the faces in the original's: 800x450, then 200 wide."""
    found = face_centre(process(right, "imageMogr2/thumbnail/800x/gravity/face/crop/200x"))
    assert found is not None
    x, _, size = found
    assert size == (200, 450) and in_middle_third(x, 200)


def test_imageview2_mode_1_cuts_on_the_face(wide: bytes):
    result = process(wide, "imageView2/1/w/200/h/200/gravity/face")
    found = face_centre(result)
    assert found is not None
    x, _, size = found
    assert size == (200, 200) and in_middle_third(x, 200)
    assert result.headers["X-Crop-Reason"] == "faces"
    assert face_centre(process(wide, "imageView2/1/w/200/h/200")) is None


def test_imageview2_mode_5_moves_the_cut_as_far_as_the_image_allows(right: bytes):
    """Mode 5 keeps 1348 of the 1600 source columns; the face, 250 px from the right edge, pulls
    the cut against that edge."""
    result = process(right, "imageView2/5/w/300/h/200/gravity/faces")
    x, y, w, h = (int(v) for v in result.headers["X-Crop-Box"].split(","))
    assert Image.open(io.BytesIO(result.body)).size == (300, 200)
    assert (x + w, y, h) == (1600, 0, 900)
    assert face_centre(result) is not None


def test_without_a_face_the_crop_is_the_centre_one():
    photo = jpeg_bytes(coffee())
    mogr = process(photo, "imageMogr2/gravity/face/crop/200x200")
    assert mogr.body == process(photo, "imageMogr2/gravity/Center/crop/200x200").body
    assert mogr.headers["X-Crop-Reason"] == "center" and mogr.headers["X-Face-Count"] == "0"
    view = process(photo, "imageView2/1/w/150/h/100/gravity/faces")
    assert view.body == process(photo, "imageView2/1/w/150/h/100").body
    assert view.headers["X-Crop-Reason"] == "center"


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "imageMogr2/gravity/Middle/crop/10x10",
            "imageMogr2: gravity must be one of NorthWest, North, NorthEast, West, Center, "
            "East, SouthWest, South, SouthEast, face, faces, got 'Middle'",
        ),
        (
            "imageMogr2/gravity/face/crop/!100x100a10a0",
            "imageMogr2: gravity/face centres the crop on the faces and takes no offset, got crop/!100x100a10a0",
        ),
        ("imageView2/1/w/100/gravity/Center", "imageView2: gravity must be one of face, faces, got 'Center'"),
        ("imageView2/2/w/100/gravity/face", "imageView2: gravity places the cut of modes 1 and 5; mode 2 cuts nothing"),
    ],
)
def test_bad_gravities_are_400s_naming_them(text: str, message: str):
    with pytest.raises(BadRequest) as caught:
        parse_pipeline(text, 30)
    assert caught.value.status == 400 and caught.value.message == message


@pytest.mark.parametrize(
    "text,canonical",
    [
        ("imageMogr2/crop/300x300/gravity/FACE", "imageMogr2/crop/300x300"),  # a gravity after its crop places nothing
        ("imageMogr2/gravity/Faces/crop/x200/thumbnail/800x", "imageMogr2/gravity/faces/crop/x200/thumbnail/800x"),
        ("imageMogr2/gravity/face", "imageMogr2"),  # nothing to place
        ("imageView2/1/gravity/Face/h/200/w/100", "imageView2/1/w/100/h/200/gravity/face"),
        ("imageView2/5/gravity/faces", "imageView2/5"),  # without w and h nothing is cut
    ],
)
def test_canonical_spelling_round_trips(text: str, canonical: str):
    assert parse_pipeline(text, 30).canonical() == canonical
    assert parse_pipeline(canonical, 30).canonical() == canonical


def test_face_gravity_has_its_own_cache_key():
    keys = {parse_pipeline(f"imageMogr2/gravity/{g}/crop/300x300", 30).canonical() for g in ("face", "faces", "Center")}
    views = {parse_pipeline(f"imageView2/1/w/200{g}", 30).canonical() for g in ("/gravity/face", "/gravity/faces", "")}
    assert len(keys) == 3 and len(views) == 3


@pytest.mark.parametrize(
    "face,centre",
    [
        ("imageMogr2/thumbnail/800x/gravity/face/crop/300x200", "imageMogr2/thumbnail/800x/gravity/Center/crop/300x200"),
        ("imageMogr2/gravity/faces/crop/3000x200", "imageMogr2/gravity/Center/crop/3000x200"),
        ("imageView2/1/w/200/h/200/gravity/face", "imageView2/1/w/200/h/200"),
        ("imageView2/5/w/300/h/200/gravity/faces", "imageView2/5/w/300/h/200"),
    ],
)
def test_face_gravity_does_not_change_the_estimate(face: str, centre: str):
    before = Estimate((1600, 900), 1, 0)
    (op,), (plain,) = parse_pipeline(face, 30).ops, parse_pipeline(centre, 30).ops
    assert op.estimate(before) == plain.estimate(before)


def test_a_second_size_of_the_same_photo_runs_no_detector(right: bytes, monkeypatch: pytest.MonkeyPatch):
    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        return find_in(*args, **kwargs)

    find_in = finder.find_in
    monkeypatch.setattr(finder, "find_in", counted)
    shared = FaceFinder(16)
    hits = CACHE_LOOKUPS.labels("detection", "hit")._value.get()
    first = process(right, "imageMogr2/gravity/face/crop/300x300", shared)
    second = process(right, "imageView2/1/w/200/h/200/gravity/face", shared)
    third = process(right, "imageMogr2/thumbnail/800x/gravity/faces/crop/200x200", shared)
    assert len(calls) == 1
    assert CACHE_LOOKUPS.labels("detection", "hit")._value.get() == hits + 2
    assert first.headers["X-Crop-Reason"] == second.headers["X-Crop-Reason"] == third.headers["X-Crop-Reason"] == "faces"


def test_the_cut_is_centred_on_the_region_and_kept_inside_the_image():
    assert centred_on(Box(700, 300, 100, 200), (1600, 900), (300, 300)) == (600, 250, 900, 550)
    assert centred_on(Box(1500, -50, 100, 100), (1600, 900), (300, 300)) == (1300, 0, 1600, 300)
    assert centred_on(Box(10, 10, 50, 50), (1600, 900), (1600, 300)) == (0, 0, 1600, 300)


def test_companions_are_kept_only_when_they_fit_in_the_crop_with_the_largest():
    largest, near, far = Box(100, 100, 100, 100), Box(260, 120, 80, 80), Box(1200, 100, 90, 90)
    alone = fitting_region([largest], (1600, 900), 1.0, (1600, 900))
    assert fitting_region([largest, far], (1600, 900), 1.0, (500, 500)) == alone
    with_near = fitting_region([largest, near, far], (1600, 900), 1.0, (500, 500))
    assert with_near.x == alone.x and with_near.right > 340 and with_near.right < 1200
    assert fitting_region([largest, far], (1600, 900), 1.0, (1600, 900)).right > 1290
