"""The pure geometry of imageView2 and imageMogr2: output sizes, crops and regions, exact to the pixel.

Rounding rule under test: a scaled side is side * factor rounded half up (exact fractions), at least 1.
Sources: a landscape L, a portrait P and a small S that every bound here is larger than.
"""

from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from imgproxy.errors import BadRequest
from imgproxy.imaging.resize import (
    Area,
    Cover,
    Crop,
    Exact,
    Fit,
    Percent,
    Region,
    check_output,
    imageview2,
    model_input,
    parse_thumbnail,
    rotated_size,
    round_half_up,
    scale_size,
)

L, P, S = (1200, 800), (600, 900), (150, 100)


@pytest.mark.parametrize(
    "value,expected",
    [
        (Fraction(5, 2), 3),
        (Fraction(3, 2), 2),
        (Fraction(7, 3), 2),
        (Fraction(8, 3), 3),
        (Fraction(1, 3), 1),
        (Fraction(0), 1),
    ],
)
def test_round_half_up_and_at_least_one(value, expected):
    assert round_half_up(value) == expected


def test_scale_size_rounds_each_side_half_up():
    assert scale_size((10, 5), Fraction(1, 2)) == (5, 3)  # 2.5 -> 3, where round() would give 2
    assert scale_size((150, 100), Fraction(33, 100)) == (50, 33)  # 49.5 -> 50


@pytest.mark.parametrize(
    "src,mode,w,h,resized,crop",
    [
        # mode 0: long edge <= w, short edge <= h; a missing side bounds nothing
        (L, 0, 300, 300, (300, 200), None),
        (L, 0, 300, None, (300, 200), None),
        (L, 0, None, 100, (150, 100), None),
        (P, 0, 300, 200, (200, 300), None),
        (P, 0, 300, None, (200, 300), None),
        (S, 0, 300, 300, (150, 100), None),
        (S, 0, 100, None, (100, 67), None),
        # mode 1: cover w x h, then the centre w x h; a missing side equals the other
        (L, 1, 200, 200, (300, 200), (50, 0, 250, 200)),
        (L, 1, 200, None, (300, 200), (50, 0, 250, 200)),
        (L, 1, None, 200, (300, 200), (50, 0, 250, 200)),
        (L, 1, 400, 100, (400, 267), (0, 83, 400, 183)),
        (P, 1, 200, 200, (200, 300), (0, 50, 200, 250)),
        (S, 1, 300, 300, (150, 100), (0, 0, 150, 100)),  # never enlarged: keeps what there is
        (S, 1, 100, 400, (150, 100), (25, 0, 125, 100)),  # crops what fits, without upscaling
        # mode 2: inside w x h
        (L, 2, 200, 200, (200, 133), None),
        (L, 2, 200, None, (200, 133), None),
        (L, 2, None, 200, (300, 200), None),
        (P, 2, 200, 200, (133, 200), None),
        (S, 2, 200, None, (150, 100), None),
        ((10, 5), 2, 5, None, (5, 3), None),
        # mode 3: cover w x h, no crop
        (L, 3, 200, 200, (300, 200), None),
        (P, 3, 200, None, (200, 300), None),
        (S, 3, 300, 300, (150, 100), None),
        # mode 4: long edge >= w, short edge >= h
        (L, 4, 300, 100, (300, 200), None),
        (P, 4, 300, 100, (200, 300), None),
        (L, 4, 300, None, (450, 300), None),
        (S, 4, 300, 200, (150, 100), None),
        # mode 5: mode 4, then the centre long x short box in the image's orientation
        (L, 5, 300, 100, (300, 200), (0, 50, 300, 150)),
        (P, 5, 300, 100, (200, 300), (50, 0, 150, 300)),
        (S, 5, 300, 200, (150, 100), (0, 0, 150, 100)),
        # without w and h: the size is kept (a format or quality change)
        (L, 2, None, None, L, None),
        (P, 1, None, None, P, None),
    ],
)
def test_imageview2_sizes(src, mode, w, h, resized, crop):
    assert imageview2(src, mode, w, h) == (resized, crop)


@pytest.mark.parametrize(
    "spec,sizes",
    [
        ("!50p", {L: (600, 400), P: (300, 450), S: (75, 50)}),
        ("!33p", {L: (396, 264), P: (198, 297), S: (50, 33)}),
        ("!50px", {L: (600, 800), P: (300, 900), S: (75, 100)}),
        ("!x50p", {L: (1200, 400), P: (600, 450), S: (150, 50)}),
        ("200x", {L: (200, 133), P: (200, 300), S: (200, 133)}),
        ("x200", {L: (300, 200), P: (133, 200), S: (300, 200)}),
        ("200x200", {L: (200, 133), P: (133, 200), S: (200, 133)}),
        ("!200x200r", {L: (300, 200), P: (200, 300), S: (300, 200)}),
        ("200x100!", {L: (200, 100), P: (200, 100), S: (200, 100)}),
        ("200x200>", {L: (200, 133), P: (133, 200), S: (150, 100)}),
        ("200x200<", {L: (1200, 800), P: (600, 900), S: (200, 133)}),
        ("10000@", {L: (122, 81), P: (81, 122), S: (122, 81)}),
        ("60000@", {L: (300, 200), P: (200, 300), S: (300, 200)}),
    ],
)
def test_thumbnail_sizes(spec, sizes):
    thumbnail = parse_thumbnail(spec)
    assert thumbnail is not None and thumbnail.text() == spec
    for src, size in sizes.items():
        assert thumbnail.size(src) == size, (spec, src)


def test_area_never_exceeds_the_area():
    for src in (L, P, S, (1, 1000), (4000, 3000), (333, 777)):
        width, height = Area(12345).size(src)
        assert width * height <= 12345


@pytest.mark.parametrize(
    "text,parsed",
    [
        ("!50p", Percent(50, 50)),
        ("!50px", Percent(50, 100)),
        ("!x50p", Percent(100, 50)),
        ("200x", Fit(200, None)),
        ("x200", Fit(None, 200)),
        ("200x100", Fit(200, 100)),
        ("200x100>", Fit(200, 100, ">")),
        ("200x100<", Fit(200, 100, "<")),
        ("!200x100r", Cover(200, 100)),
        ("200x100!", Exact(200, 100)),
        ("5000@", Area(5000)),
    ],
)
def test_thumbnail_spellings(text, parsed):
    assert parse_thumbnail(text) == parsed


@pytest.mark.parametrize(
    "text", ["", "x", "0x100", "100x0", "!0p", "!1000p", "!50", "100x100r", "!100x100", "50p", "-5x10", "@", "abc", "100X100"]
)
def test_bad_thumbnails_do_not_parse(text):
    assert parse_thumbnail(text) is None


GRID = [  # a 100x50 crop of a 300x200 image, for every gravity
    ("NorthWest", (0, 0, 100, 50)),
    ("North", (100, 0, 200, 50)),
    ("NorthEast", (200, 0, 300, 50)),
    ("West", (0, 75, 100, 125)),
    ("Center", (100, 75, 200, 125)),
    ("East", (200, 75, 300, 125)),
    ("SouthWest", (0, 150, 100, 200)),
    ("South", (100, 150, 200, 200)),
    ("SouthEast", (200, 150, 300, 200)),
]


@pytest.mark.parametrize("gravity,box", GRID)
def test_crop_gravity_grid(gravity, box):
    assert Crop.parse("100x50").box((300, 200), gravity) == box


@pytest.mark.parametrize(
    "text,gravity,box",
    [
        ("101x51", "Center", (99, 74, 200, 125)),  # centred positions round down
        ("100x", "NorthWest", (0, 0, 100, 200)),  # a missing side keeps the image's
        ("x50", "South", (0, 150, 300, 200)),
        ("!100x50a10a20", "NorthWest", (10, 20, 110, 70)),  # a: right and down from the gravity's place
        ("!100x50-10a20", "Center", (90, 95, 190, 145)),  # -: left (or up)
        ("!100x50a10-10", "SouthEast", (190, 160, 290, 200)),  # ImageMagick: offsets move in from the anchored edges
        ("400x300", "Center", (0, 0, 300, 200)),  # larger than the image: all of it
        ("!100x50a400a0", "NorthWest", None),  # nothing of the image left
    ],
)
def test_crop_boxes(text, gravity, box):
    crop = Crop.parse(text)
    assert crop is not None and crop.text() == text
    assert crop.box((300, 200), gravity) == box


@pytest.mark.parametrize("text", ["", "x", "100x50a10a10", "!100x50", "!100x50a10", "0x50", "100x50b1b1", "!x"])
def test_bad_crops_do_not_parse(text):
    assert Crop.parse(text) is None


def test_region_maps_a_crop_of_the_resized_image_back_to_the_source():
    region = Region.of(L, (300, 200), (50, 0, 250, 200))
    assert region.size == (200, 200)
    assert region.box == (200, 0, 1000, 800)
    assert region.scale == 0.25
    assert Region.of(L, (200, 400), None).scale == 0.5  # the axis that needs more pixels decides


@pytest.mark.parametrize(
    "size,degrees,rotated",
    [
        ((100, 50), 45, (107, 107)),
        ((100, 50), 90, (50, 100)),
        ((100, 50), 180, (100, 50)),
        ((30, 20), 1, (31, 21)),
        ((9990, 500), 3, (10003, 1023)),
        ((6000, 4000), 45, (7072, 7072)),
    ],
)
def test_rotated_size_is_the_smallest_canvas_that_holds_the_turn(size, degrees, rotated):
    assert rotated_size(size, degrees) == rotated


def test_check_output_names_the_argument():
    check_output("imageMogr2", "thumbnail/x", (9999, 2500), 1, 9999, 25_000_000)
    with pytest.raises(BadRequest, match=r"imageMogr2: thumbnail/!999p gives 10000x10, over the limit of 9999 px a side"):
        check_output("imageMogr2", "thumbnail/!999p", (10000, 10), 1, 9999, 25_000_000)
    with pytest.raises(BadRequest, match=r"gives 6000x5000, over the limit of 25 MP"):
        check_output("imageMogr2", "thumbnail/6000x", (6000, 5000), 1, 9999, 25_000_000)
    with pytest.raises(BadRequest, match=r"gives 1000x1000 x 30 frames, over the limit of 25 MP"):
        check_output("imageMogr2", "thumbnail/1000x", (1000, 1000), 30, 9999, 25_000_000)


def test_a_model_input_is_the_image_at_the_models_size_with_its_colours_averaged() -> None:
    # Stripes one pixel wide: a shrink that skipped pixels would come out all black or all white
    # (127.5 off the mean); box averages over an odd count of stripes leave a fifth of that.
    stripes = Image.new("L", (1000, 750))
    stripes.putdata([255 * (x % 2) for _ in range(750) for x in range(1000)])
    seen = model_input(stripes, (192, 144))
    assert seen.shape == (144, 192)
    assert np.abs(seen.astype(float) - 127.5).max() < 32
    assert (model_input(stripes, stripes.size) == np.asarray(stripes)).all()
