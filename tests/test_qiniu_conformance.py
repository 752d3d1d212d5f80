"""imageView2 and imageMogr2 against what Qiniu documents (issue 14, items 1, 3, 5 and 8).

Each expectation names its source: Qiniu's imageMogr2 page as the issue quotes it, or ImageMagick's
geometry rules where Qiniu, which says it uses them, leaves a detail open.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from images import decode
from PIL import Image, ImageFilter

from imgproxy.config import Settings
from imgproxy.errors import BadRequest
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.resize import Area, Cover, Crop, Exact, Fit, placed
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import Result, run
from imgproxy.pipeline.values import Encoded, Estimate
from imgproxy.samples import background, grace_hopper, jpeg_bytes, place

RED = base64.urlsafe_b64encode(b"red").decode()


def noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Every pixel different from its neighbours, so a cut off by one pixel shows."""
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def process(data: bytes, text: str, settings: Settings | None = None) -> Result:
    ctx = Context(settings or Settings(), FaceFinder(0))
    return run(parse_pipeline(text, 30), Encoded(data, "image/unknown"), ctx)


def pixels(result: Result) -> np.ndarray:
    return np.asarray(decode(result.body))


def refused(text: str) -> str:
    with pytest.raises(BadRequest) as caught:
        parse_pipeline(text, 30)
    assert caught.value.status == 400
    return caught.value.message


# --- 1. parameters act in URL order ----------------------------------------------------------------
# Qiniu's imageMogr2 page: thumbnail and crop chain either way (先缩略再裁剪, 或者先裁剪再缩略), and a
# gravity affects only a crop after it.


def test_crop_then_thumbnail_crops_first():
    # The example: a 300x300 crop thumbnailed to 100 wide is 100x100 (100x67 when the
    # thumbnail went first).
    source = noise((1200, 800))
    out = decode(process(png(source), "imageMogr2/crop/300x300/thumbnail/100x").body)
    assert out.size == (100, 100)
    expected = source.crop((0, 0, 300, 300)).resize((100, 100), Image.Resampling.LANCZOS)
    assert np.abs(np.asarray(out, dtype=int) - np.asarray(expected, dtype=int)).mean() < 3


def test_a_crop_after_rotate_cuts_the_rotated_image():
    # The example `rotate/90/crop/100x`: the 300x200 image turns to 200x300, then its left 100 columns.
    source = noise((300, 200))
    out = pixels(process(png(source), "imageMogr2/rotate/90/crop/100x"))
    assert np.array_equal(out, np.rot90(np.asarray(source), k=-1)[:, :100])


def test_a_gravity_after_the_crop_places_nothing():
    # The example `crop/300x300/gravity/Center`: the crop is at NorthWest, Qiniu's default.
    source = noise((600, 400))
    out = pixels(process(png(source), "imageMogr2/crop/300x300/gravity/Center"))
    assert np.array_equal(out, np.asarray(source)[:300, :300])
    assert parse_pipeline("imageMogr2/crop/300x300/gravity/Center", 30).canonical() == "imageMogr2/crop/300x300"


def test_each_gravity_places_the_crops_after_it():
    source = noise((600, 400))
    out = pixels(process(png(source), "imageMogr2/gravity/SouthEast/crop/400x300/gravity/NorthWest/crop/100x100"))
    assert np.array_equal(out, np.asarray(source)[100:200, 200:300])


def test_a_step_given_twice_acts_twice():
    source = noise((300, 200))
    assert np.array_equal(pixels(process(png(source), "imageMogr2/rotate/90/rotate/90")), np.rot90(np.asarray(source), 2))
    assert decode(process(png(source), "imageMogr2/thumbnail/!50p/thumbnail/!50p").body).size == (75, 50)
    assert refused("imageMogr2/quality/80/quality/90") == "imageMogr2: quality is given twice"  # a setting acts once


def test_settings_act_on_the_output_wherever_they_are():
    # format, quality, interlace, strip, background and size-limit describe the answer, not a step.
    data = jpeg_bytes(background((400, 300)))
    first = process(data, "imageMogr2/format/png/quality/80/thumbnail/100x")
    last = process(data, "imageMogr2/thumbnail/100x/quality/80/format/png")
    assert first.body == last.body and decode(first.body).format == "PNG"
    spellings = {parse_pipeline(f"imageMogr2/{text}", 30).canonical() for text in ("strip/rotate/90", "rotate/90/strip")}
    assert spellings == {"imageMogr2/rotate/90/strip"}


def test_the_canonical_spelling_keeps_the_order():
    # It is the cache key: the two orders are two images.
    a = parse_pipeline("imageMogr2/crop/300x300/thumbnail/100x", 30).canonical()
    b = parse_pipeline("imageMogr2/thumbnail/100x/crop/300x300", 30).canonical()
    assert (a, b) == ("imageMogr2/crop/300x300/thumbnail/100x", "imageMogr2/thumbnail/100x/crop/300x300")
    text = "imageMogr2/gravity/East/crop/!50x50a5a5/rotate/30/gravity/South/extent/90x90/blur/3x2/sharpen/1"
    assert parse_pipeline(text, 30).canonical() == text
    assert parse_pipeline(text + "/gravity/North", 30).canonical() == text


def test_the_estimate_and_the_limits_follow_the_order():
    (op,) = parse_pipeline("imageMogr2/crop/300x300/thumbnail/100x", 30).ops
    assert op.estimate(Estimate((1200, 800), 1, 0)).size == (100, 100)
    data = jpeg_bytes(background((1200, 800)))
    assert decode(process(data, "imageMogr2/thumbnail/x9000/crop/100x100").body).size == (100, 100)
    with pytest.raises(BadRequest, match=r"^imageMogr2: thumbnail/x9000 gives 9000x9000, over the limit of 25 MP$"):
        process(data, "imageMogr2/crop/100x100/thumbnail/x9000")


def test_a_face_crop_after_other_steps_finds_the_faces_in_what_they_made():
    photo = jpeg_bytes(place(background((1600, 900), seed=3), grace_hopper(), 400, (1150, 200)))
    result = process(photo, "imageMogr2/crop/1500x/gravity/face/crop/300x300/thumbnail/150x", Settings(debug_headers=True))
    assert decode(result.body).size == (150, 150)
    assert result.headers["X-Crop-Reason"] == "faces"
    x, _, w, h = (int(v) for v in result.headers["X-Crop-Box"].split(","))
    assert (w, h) == (300, 300) and x > 900  # on the face at the right, not in the centre (600)


# --- 3. offsets move inward from the anchored edge ----------------------------------------------
# ImageMagick's `-gravity NorthEast -crop 300x300+30+100`: +30 moves left from the east edge.


def test_an_east_gravity_offset_moves_left_and_keeps_the_size():
    source = noise((600, 400))
    out = pixels(process(png(source), "imageMogr2/gravity/NorthEast/crop/!300x300a30a100"))
    assert np.array_equal(out, np.asarray(source)[100:400, 270:570])


@pytest.mark.parametrize(
    "text,gravity,box",
    [
        ("!100x50a10a20", "SouthEast", (190, 130, 290, 180)),  # inward: left and up
        ("!100x50a10-10", "SouthEast", (190, 160, 290, 200)),  # '-': outward, cut to the image
        ("!100x50a10a20", "South", (110, 130, 210, 180)),  # centred along x: right as ever
        ("!100x50a10a20", "East", (190, 95, 290, 145)),
        ("!100x50a10a20", "NorthWest", (10, 20, 110, 70)),
    ],
)
def test_offsets_per_gravity(text: str, gravity: str, box: tuple[int, int, int, int]):
    crop = Crop.parse(text)
    assert crop is not None and crop.box((300, 200), gravity) == box


# --- 5. large thumbnails only shrink ----------------------------------------------------------------
# Qiniu: over 10000 px a side (25 MP for `<N>@`) a thumbnail only shrinks; the image comes back unchanged.


@pytest.mark.parametrize("spec", ["20000x20000", "!20000x20000r", "30000000@"])
def test_large_thumbnails_answer_the_image_unchanged(spec: str):
    data = jpeg_bytes(background((1200, 800)))
    assert decode(process(data, f"imageMogr2/thumbnail/{spec}").body).size == (1200, 800)


def test_large_thumbnails_still_shrink():
    assert Fit(20000, 400).size((1200, 800)) == (600, 400)
    assert Cover(20000, 20000).size((1200, 800)) == (1200, 800)
    assert Exact(20000, 100).size((1200, 800)) == (1200, 100)  # each side on its own
    assert Fit(10000, None).size((1200, 800)) == (10000, 6667)  # 10000 is not over 10000
    width, height = Area(30_000_000).size((8000, 6000))
    assert width * height <= 30_000_000 and width == 6324
    assert Area(25_000_000).size((1200, 800)) == (6123, 4082)  # 25 MP is not over 25 MP


# --- 8. documented parameters: implemented, or refused by name -----------------------------------


def test_sharpen_raises_the_edges():
    # Qiniu documents sharpen as on or off; the kernel is Pillow's unsharp mask.
    squares = ((np.indices((150, 200)) // 25).sum(axis=0) % 2 * 255).astype(np.uint8)
    photo = png(Image.fromarray(squares).convert("RGB").filter(ImageFilter.GaussianBlur(2)))

    def edges(result: Result) -> float:
        return float(np.asarray(decode(result.body).convert("L").filter(ImageFilter.FIND_EDGES), dtype=float).var())

    assert edges(process(photo, "imageMogr2/sharpen/1")) > 1.5 * edges(process(photo, "imageMogr2/sharpen/0"))
    assert process(photo, "imageMogr2/sharpen/0").body == process(photo, "imageMogr2").body
    assert refused("imageMogr2/sharpen/50") == "imageMogr2: sharpen must be 0 or 1, got '50'"


def test_extent_pads_with_the_background_around_the_gravity():
    # ImageMagick's -extent: the image placed by the gravity on a canvas of the background colour.
    source = noise((300, 200))
    out = pixels(process(png(source), f"imageMogr2/gravity/Center/extent/400x400/background/{RED}"))
    assert out.shape == (400, 400, 3)
    assert np.array_equal(out[100:300, 50:350], np.asarray(source))
    assert tuple(out[0, 0]) == tuple(out[399, 399]) == (255, 0, 0)
    # no gravity: NorthWest, and transparent where the format has alpha
    padded = decode(process(png(source), "imageMogr2/extent/400x250").body)
    assert padded.mode == "RGBA" and padded.getpixel((399, 249))[3] == 0 and padded.getpixel((0, 0))[3] == 255


def test_extent_smaller_than_the_image_cuts_it():
    source = noise((300, 200))
    out = pixels(process(png(source), "imageMogr2/gravity/SouthEast/extent/100x50"))
    assert np.array_equal(out, np.asarray(source)[150:, 200:])
    assert placed((300, 200), (100, 50), "Center") == (-100, -75)


@pytest.mark.parametrize(
    "text,message",
    [
        ("imageView2/2/w/100/colors/64", "imageView2: colors is not supported"),
        ("imageMogr2/cgif/64", "imageMogr2: cgif is not supported"),
        ("imageMogr2/minsize/1", "imageMogr2: minsize is not supported"),
        ("imageMogr2/dx/10", "imageMogr2: dx is not supported (a crop's offset is crop/!<W>x<H>a<dx>a<dy>)"),
        ("imageMogr2/dy/10", "imageMogr2: dy is not supported (a crop's offset is crop/!<W>x<H>a<dx>a<dy>)"),
        ("imageMogr2/extent/0x10", "imageMogr2: extent must be <W>x<H> with W and H from 1 to 9999, got '0x10'"),
    ],
)
def test_unsupported_parameters_are_400s_naming_them(text: str, message: str):
    assert refused(text) == message
