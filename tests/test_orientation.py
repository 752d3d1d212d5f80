"""EXIF orientation, as Qiniu treats it: imageInfo reports the stored size and the orientation,
imageMogr2 and imageView2 work on the pixels as stored until `auto-orient`, a JPEG answer keeps the
orientation tag (so a browser shows it upright), `strip` drops it; IMGPROXY_AUTO_ROTATE=1 turns
every image upright first. Face ops always work upright.

The sample `rotated.jpg` is Grace Hopper's 512x600 portrait stored on its side (600x512) with EXIF
orientation 8, as a phone writes it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import Proxy, start_proxy, stop
from PIL import Image, ImageOps

from imgproxy.config import Settings
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.decode import EXIF_ORIENTATION
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.imagemogr2 import ImageMogr2, Orient, Resample, parse as parse_mogr2
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import Result, run
from imgproxy.pipeline.values import Encoded
from imgproxy.samples import grace_hopper, jpeg_bytes

UPRIGHT = (512, 600)
STORED = (600, 512)


@pytest.fixture(scope="module")
def rotated() -> bytes:
    return jpeg_bytes(grace_hopper().transpose(Image.Transpose.ROTATE_270), orientation=8)


def process(data: bytes, text: str, **settings: object) -> Result:
    chosen = Settings(**settings)  # type: ignore[arg-type]
    return run(parse_pipeline(text, chosen.max_pipeline_ops), Encoded(data, "image/jpeg"), Context(chosen, FaceFinder(0)))


def opened(result: Result) -> Image.Image:
    image = Image.open(io.BytesIO(result.body))
    image.load()
    return image


def tag(image: Image.Image) -> int | None:
    return image.getexif().get(EXIF_ORIENTATION)


def shown(image: Image.Image) -> Image.Image:
    """What a viewer shows: the pixels turned by their orientation tag."""
    return ImageOps.exif_transpose(image).convert("RGB")


def looks_like(image: Image.Image, reference: Image.Image) -> bool:
    """The same picture: a small mean difference, `reference` shrunk to `image`'s size (a turned
    or mirrored picture differs a lot)."""
    a = np.asarray(image.convert("RGB"), dtype=np.float32)
    b = np.asarray(reference.convert("RGB").resize(image.size), dtype=np.float32)
    return float(np.abs(a - b).mean()) < 12


# --- imageInfo


def test_imageinfo_reports_the_stored_size_and_the_orientation_as_qiniu(rotated: bytes):
    info = process(rotated, "imageInfo")
    body = json.loads(info.body)
    assert (body["width"], body["height"], body["orientation"]) == (*STORED, "Left-bottom")


def test_imageinfo_reports_the_displayed_size_with_auto_rotate(rotated: bytes):
    body = json.loads(process(rotated, "imageInfo", auto_rotate=True).body)
    assert (body["width"], body["height"], body["orientation"]) == (*UPRIGHT, "Left-bottom")


def test_imageinfo_has_no_orientation_without_the_tag():
    body = json.loads(process(jpeg_bytes(grace_hopper()), "imageInfo").body)
    assert "orientation" not in body and (body["width"], body["height"]) == UPRIGHT


# --- imageMogr2 and imageView2 on the stored pixels


def test_a_thumbnail_keeps_the_stored_pixels_and_the_tag(rotated: bytes):
    image = opened(process(rotated, "imageMogr2/thumbnail/!50p"))
    assert image.size == (300, 256) and tag(image) == 8
    assert looks_like(shown(image), grace_hopper())  # a viewer shows it upright


def test_auto_orient_first_answers_upright_pixels_without_a_tag(rotated: bytes):
    image = opened(process(rotated, "imageMogr2/auto-orient/thumbnail/!50p"))
    assert image.size == (256, 300) and tag(image) is None
    assert looks_like(image, grace_hopper())


def test_auto_orient_acts_where_it_stands(rotated: bytes):
    # Qiniu: auto-orient "与图像处理顺序相关" (depends on the order). thumbnail/100x then
    # auto-orient shrinks the stored 600 px width to 100, then turns: 85x100 shown upright.
    after = opened(process(rotated, "imageMogr2/thumbnail/100x/auto-orient"))
    before = opened(process(rotated, "imageMogr2/auto-orient/thumbnail/100x"))
    assert after.size == (85, 100) and tag(after) is None and looks_like(after, grace_hopper())
    assert before.size == (100, 117) and tag(before) is None and looks_like(before, grace_hopper())


def test_a_crop_cuts_the_stored_pixels(rotated: bytes):
    """crop/!100x100a0a0: the stored top-left corner, which a viewer shows at the bottom-left
    (orientation 8 turns the stored image 90 degrees counter-clockwise to show it)."""
    image = opened(process(rotated, "imageMogr2/crop/!100x100a0a0"))
    assert image.size == (100, 100) and tag(image) == 8
    bottom_left = grace_hopper().crop((0, UPRIGHT[1] - 100, 100, UPRIGHT[1]))
    assert looks_like(shown(image), bottom_left)


def test_strip_drops_the_tag_and_the_pixels_show_as_stored(rotated: bytes):
    image = opened(process(rotated, "imageMogr2/thumbnail/!50p/strip"))
    assert image.size == (300, 256) and tag(image) is None


def test_other_formats_are_written_upright(rotated: bytes):
    image = opened(process(rotated, "imageMogr2/thumbnail/!50p/format/png"))
    assert image.format == "PNG" and image.size == (256, 300) and looks_like(image, grace_hopper())


def test_imageview2_works_on_the_stored_pixels(rotated: bytes):
    image = opened(process(rotated, "imageView2/2/w/100"))
    assert image.size == (100, 85) and tag(image) == 8 and looks_like(shown(image), grace_hopper())


def test_imageinfo_after_an_op_describes_its_answer(rotated: bytes):
    body = json.loads(process(rotated, "imageMogr2/thumbnail/!50p|imageInfo").body)
    assert (body["width"], body["height"], body["orientation"]) == (300, 256, "Left-bottom")


# --- upright: the setting, face gravity and the face ops


def test_auto_rotate_turns_every_image_upright_first(rotated: bytes):
    for text in ("imageMogr2/thumbnail/!50p", "imageView2/2/w/256"):
        image = opened(process(rotated, text, auto_rotate=True))
        assert image.size == (256, 300) and tag(image) is None and looks_like(image, grace_hopper())


def test_face_gravity_and_facecrop2_work_upright(rotated: bytes):
    for text in ("imageMogr2/gravity/face/crop/200x200", "facecrop2/200x200", "imageView2/1/w/200/h/200/gravity/face"):
        image = opened(process(rotated, text))
        assert image.size == (200, 200) and tag(image) is None, text


def test_a_face_op_after_a_stored_thumbnail_sees_the_image_upright(rotated: bytes):
    result = process(rotated, "imageMogr2/thumbnail/!50p|facecrop2/100x100")
    image = opened(result)
    assert image.size == (100, 100) and tag(image) is None and result.faces == 1


def test_the_stages_turn_where_auto_orient_stands():
    steps = parse_mogr2(["thumbnail", "100x", "auto-orient", "crop", "50x"]).stages(STORED, orientation=8)
    assert [type(stage) for stage in steps] == [Resample, Orient, Resample]
    first, turn, last = steps
    assert isinstance(first, Resample) and first.region.size == (100, 85)
    assert isinstance(turn, Orient) and turn.size((100, 85)) == (85, 100)
    assert isinstance(last, Resample) and last.base == (85, 100) and last.region.size == (50, 100)
    # Where auto-orient comes first, the image is decoded upright and nothing is left to turn.
    assert not parse_mogr2(["auto-orient", "thumbnail", "100x"]).works_as_stored(auto_rotate=False)
    assert parse_mogr2(["thumbnail", "100x"]).works_as_stored(auto_rotate=False)
    assert not ImageMogr2().works_as_stored(auto_rotate=True)


# --- in a browser: an answer shows as Qiniu's would


@pytest.fixture(scope="module")
def proxy_of_rotated(rotated: bytes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    root = tmp_path_factory.mktemp("rotated")
    (root / "rotated.jpg").write_bytes(rotated)
    running = start_proxy(str(root), tmp_path_factory.mktemp("logs"))
    yield running
    stop(running.process)


@pytest.mark.parametrize(
    "pipeline, size",
    [
        ("imageMogr2/thumbnail/!50p", (256, 300)),  # the tag turns it
        ("imageMogr2/auto-orient/thumbnail/!50p", (256, 300)),  # upright pixels
        ("imageMogr2/thumbnail/!50p/format/png", (256, 300)),
        ("imageMogr2/thumbnail/!50p/strip", (300, 256)),  # on its side, as Qiniu's strip shows it
    ],
)
def test_chromium_shows_each_answer_as_qiniu_would(browser, proxy_of_rotated: Proxy, tmp_path: Path, pipeline, size):
    page = browser.new_page()
    try:
        page.goto(proxy_of_rotated.url + "/rotated.jpg?" + pipeline)
        natural = page.eval_on_selector("img", "(img) => [img.naturalWidth, img.naturalHeight]")
        assert tuple(natural) == size
    finally:
        page.close()
