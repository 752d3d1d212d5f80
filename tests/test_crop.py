"""The crop window geometry of facecrop2, as pure functions."""

import pytest

from imgproxy.faces.box import Box
from imgproxy.faces.crop import choose_region, crop_window, head_and_shoulders, largest_window


def contains(outer: Box, inner: Box) -> bool:
    return outer.x <= inner.x and outer.y <= inner.y and outer.right >= inner.right and outer.bottom >= inner.bottom


def inside(window: Box, image: tuple[int, int]) -> bool:
    return window.x >= 0 and window.y >= 0 and window.right <= image[0] and window.bottom <= image[1]


def test_head_and_shoulders_adds_hair_above_and_more_below():
    face = Box(100, 100, 100, 100)
    grown = head_and_shoulders(face)
    assert contains(grown, face)
    assert face.y - grown.y < grown.bottom - face.bottom  # more room for neck and shoulders than for hair
    assert grown.center[0] == face.center[0]


@pytest.mark.parametrize(
    "image,target,expected",
    [
        ((1000, 500), (100, 100), (500, 500)),
        ((500, 1000), (100, 100), (500, 500)),
        ((1000, 500), (400, 100), (1000, 250)),
        ((1000, 500), (100, 400), (125, 500)),
    ],
)
def test_largest_window(image, target, expected):
    assert largest_window(image, target) == expected


def test_window_is_centred_on_the_region_in_the_middle_of_the_image():
    region = Box(400, 300, 200, 200)
    window = crop_window(region, (1000, 800), (100, 100))
    assert window == Box(400, 300, 200, 200)


@pytest.mark.parametrize("target", [(200, 100), (100, 200), (150, 150), (300, 40), (40, 300)])
def test_window_has_target_aspect_and_at_least_target_size(target):
    window = crop_window(Box(450, 350, 60, 60), (1000, 800), target)
    assert window.w >= target[0] and window.h >= target[1]
    assert window.w / window.h == pytest.approx(target[0] / target[1], rel=0.02)


@pytest.mark.parametrize(
    "region",
    [
        Box(0, 0, 80, 80),  # top-left corner
        Box(920, 0, 80, 80),  # top-right corner
        Box(0, 720, 80, 80),  # bottom-left corner
        Box(920, 720, 80, 80),  # bottom-right corner
        Box(-50, 300, 120, 120),  # sticking out of the left edge
        Box(950, -40, 120, 120),  # sticking out of the top-right
    ],
)
def test_window_is_clamped_inside_the_image_at_every_edge(region):
    image = (1000, 800)
    window = crop_window(region, image, (300, 200))
    assert inside(window, image)
    assert contains(window, region.clipped(image))


def test_region_bigger_than_the_target_is_kept_whole():
    region = Box(100, 100, 600, 500)
    window = crop_window(region, (1000, 800), (100, 100))
    assert contains(window, region)
    assert (window.w, window.h) == (600, 600)


def test_region_that_cannot_fit_gets_the_largest_window_centred_on_it():
    region = Box(0, 0, 1000, 300)  # far wider than a square window in a 1000x400 image can hold
    window = crop_window(region, (1000, 400), (100, 100))
    assert (window.w, window.h) == (400, 400)
    assert window.center[0] == pytest.approx(500, abs=1)


def test_target_as_large_as_the_image_is_the_whole_image():
    assert crop_window(Box(10, 10, 20, 20), (640, 480), (640, 480)) == Box(0, 0, 640, 480)


def test_tall_target_on_a_wide_image_and_wide_target_on_a_tall_image():
    tall = crop_window(Box(700, 100, 100, 100), (1600, 900), (90, 160))
    assert inside(tall, (1600, 900)) and tall.center[0] == pytest.approx(750, abs=1)
    wide = crop_window(Box(100, 700, 100, 100), (900, 1600), (160, 90))
    assert inside(wide, (900, 1600)) and wide.center[1] == pytest.approx(750, abs=1)


def test_region_keeps_faces_of_a_quarter_of_the_largest_area_that_fit_together():
    largest, close_friend, tiny = Box(300, 300, 100, 100), Box(450, 300, 60, 60), Box(600, 300, 20, 20)
    region = choose_region([tiny, close_friend, largest], (1200, 900), (200, 100))
    assert contains(region, head_and_shoulders(close_friend).clipped((1200, 900)))
    assert not contains(region, tiny)


def test_region_drops_a_face_that_would_not_fit_in_one_window():
    left, right = Box(20, 300, 100, 100), Box(2800, 300, 100, 100)
    region = choose_region([left, right], (3000, 800), (100, 100))
    assert region == head_and_shoulders(left).clipped((3000, 800))


def test_region_follows_the_largest_face_whatever_the_input_order():
    small, big = Box(10, 10, 50, 50), Box(500, 500, 200, 200)
    assert choose_region([small, big], (2000, 2000), (100, 100)) == choose_region([big, small], (2000, 2000), (100, 100))
    assert contains(choose_region([small, big], (2000, 2000), (100, 100)), big)
