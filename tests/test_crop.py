"""The crop window geometry of facecrop2, as pure functions."""

import pytest

from imgproxy.faces.box import Box
from imgproxy.faces.crop import (
    FaceChoice,
    centred_window,
    choose_faces,
    crop_window,
    face_region,
    kept_on,
    largest_window,
    padded,
)

DEFAULT = FaceChoice()


def head_and_shoulders(face: Box) -> Box:
    return padded(face, 1.0)


def choose_region(faces: list[Box], image: tuple[int, int], target: tuple[int, int]) -> Box:
    """facecrop2's default region: the chosen faces, each with head and shoulders."""
    return face_region([faces[i] for i in choose_faces(faces, image, target, DEFAULT, 1.0)], image, 1.0)


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


def test_padding_scales_the_room_around_the_face():
    face = Box(400, 400, 100, 100)
    tight, one, two = padded(face, 0.5), padded(face, 1.0), padded(face, 2.0)
    assert (tight.x, tight.w) == (400, 100) and tight.h == pytest.approx(120)  # about the face alone
    assert (one.w, one.h) == pytest.approx((200, 240)) and (two.w, two.h) == pytest.approx((400, 480))
    for box in (tight, one, two):  # the face keeps its place: centred across, more room below than above
        assert box.center[0] == face.center[0]
        assert (face.y - box.y) / (box.bottom - face.bottom) == pytest.approx(0.6 / 0.8)


def test_face_choice_modes():
    big, mid, small = Box(100, 100, 200, 200), Box(400, 100, 120, 120), Box(600, 100, 60, 60)
    faces = [small, big, mid]
    image, target = (1200, 800), (300, 200)
    assert choose_faces(faces, image, target, DEFAULT, 1.0) == [1, 2]  # small has under a quarter of big's area
    assert choose_faces(faces, image, target, FaceChoice("largest"), 1.0) == [1]
    assert choose_faces(faces, image, target, FaceChoice("all"), 1.0) == [1, 2, 0]
    assert choose_faces(faces, image, target, FaceChoice("index", 2), 1.0) == [2]
    assert choose_faces(faces, image, target, FaceChoice("index", 4), 1.0) == []
    assert choose_faces([], image, target, DEFAULT, 1.0) == []


def test_all_keeps_only_the_faces_that_fit_in_one_window():
    left, right, near = Box(20, 300, 100, 100), Box(2800, 300, 100, 100), Box(200, 300, 50, 50)
    assert choose_faces([left, right, near], (3000, 800), (100, 100), FaceChoice("all"), 1.0) == [0, 2]


def test_a_wide_crop_of_a_tall_portrait_keeps_the_face_whole():
    """The head-and-shoulders region is taller than a wide window can be: the shoulders give way."""
    face = Box(150, 300, 400, 400)
    image, target = (700, 1000), (200, 120)
    region = face_region([face], image, 1.0)
    window = crop_window(region, image, target, keep=face)
    assert window.h < region.h  # the region cannot fit
    assert window.y <= face.y and window.bottom >= face.bottom  # but the face does
    unkept = crop_window(region, image, target)
    assert unkept.y > face.y  # centred on the region, the window would cut the forehead


def test_kept_on_moves_a_span_as_little_as_needed():
    assert kept_on(50, 100, 60, 120) == 50  # already holds it
    assert kept_on(50, 100, 20, 120) == 20  # moved back to the start
    assert kept_on(50, 100, 100, 180) == 80  # moved on to the end
    assert kept_on(0, 100, 0, 300) == 100  # longer than the span: centred on it


def test_centred_window_is_the_largest_of_the_aspect_in_the_middle():
    assert centred_window((1000, 500), (100, 100)) == Box(250, 0, 500, 500)
    assert centred_window((400, 1000), (400, 200)) == Box(0, 400, 400, 200)
