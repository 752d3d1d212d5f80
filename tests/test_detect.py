"""The face-detection core on real photos: composites of the sample portraits, and labelled faces-dev."""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgproxy.faces import yunet
from imgproxy.faces.box import Box
from imgproxy.faces.detect import (
    COARSE_STEP,
    COMPANION_FACE,
    FINE_FACE,
    KEYPOINT_NAMES,
    MIN_SEARCHED_FACE,
    MODEL_SIDE,
    Candidate,
    DetectOptions,
    Face,
    automatic_min_face,
    detect,
    detection_scale,
    merge,
    plan_coarse_search,
    plan_fine_search,
    search_pixels,
    unrotate_point,
    whole_pass,
    whole_pass_smallest,
)
from imgproxy.faces.finder import FaceFinder
from imgproxy.faces.yunet import MAX_SEARCH_PIXELS, YUNET_FACE, calibrated, mediapipe_box, search_size
from imgproxy.imaging.decode import decode
from imgproxy.samples import background, grace_hopper, jpeg_bytes, large_photo, place, with_grain

FACES_DEV = Path(__file__).resolve().parents[2] / "shared/data/faces-dev"
# Grace Hopper's face is this share of her photo's width (MediaPipe's box on the sample).
HOPPER_FACE = 196 / 512


def hopper_width_for(face: float) -> int:
    """The width to paste Grace Hopper's photo at so that her face is `face` pixels wide."""
    return round(face / HOPPER_FACE)


def holds(region: Box, face: Face) -> bool:
    """Whether the face's centre lies inside `region`."""
    cx, cy = face.box.center
    return region.x <= cx <= region.right and region.y <= cy <= region.bottom


def pasted(at: tuple[int, int], width: int) -> Box:
    """Where Grace Hopper's photo lands when pasted at `at`, `width` pixels wide."""
    hopper = grace_hopper()
    return Box(at[0], at[1], width, hopper.height * width / hopper.width)


@pytest.fixture(scope="module")
def group() -> tuple[Image.Image, list[Box], list[int]]:
    """Six faces, 30 to 80 px wide, on a 1600x1200 canvas: the image, where each photo went, sizes."""
    canvas = background((1600, 1200), seed=4)
    spots, sizes = [], [80, 70, 60, 50, 40, 30]
    for i, face in enumerate(sizes):
        at = (100 + (i % 3) * 500, 150 + (i // 3) * 550)
        width = hopper_width_for(face)
        canvas = place(canvas, grace_hopper(), width, at)
        spots.append(pasted(at, width))
    return with_grain(canvas), spots, sizes


# --- the plan, the merge and the geometry, as pure functions


def test_a_small_image_with_big_faces_needs_only_the_whole_image_pass() -> None:
    # MediaPipe's pass over a 400x300 image sees a face of 60 px at 29 model px: trusted.
    assert whole_pass_smallest((400, 300)) == pytest.approx(FINE_FACE * 400 / MODEL_SIDE)
    assert plan_fine_search(60, widest=0, min_face_ratio=0, covered=whole_pass_smallest((400, 300))) is None
    assert search_pixels((400, 300), 60) == MODEL_SIDE * MODEL_SIDE


@pytest.mark.parametrize("size, min_face", [((400, 300), 16), ((1000, 750), 15), ((4000, 3000), 62.5), ((300, 1200), 16)])
def test_yunet_sees_the_smallest_wanted_face_at_its_trusted_width(size: tuple[int, int], min_face: float) -> None:
    scale = plan_fine_search(min_face, widest=0, min_face_ratio=0, covered=whole_pass_smallest(size))
    assert scale is not None and min_face * scale == pytest.approx(YUNET_FACE)
    seen = search_size(size, scale)
    assert search_pixels(size, min_face) == MODEL_SIDE * MODEL_SIDE + seen[0] * seen[1]


def test_the_search_costs_more_for_larger_images_and_smaller_faces() -> None:
    assert search_pixels((400, 300), 16) < search_pixels((600, 400), 16) < search_pixels((1000, 750), 16)
    assert search_pixels((1000, 750), 40) < search_pixels((1000, 750), 16)
    # Never searched below MIN_SEARCHED_FACE, whatever is asked.
    assert search_pixels((1000, 750), 4) == search_pixels((1000, 750), MIN_SEARCHED_FACE)
    # YuNet never sees more than MAX_SEARCH_PIXELS: a 16 px face in a 50 MP image is searched coarser.
    width, height = search_size((8660, 5774), YUNET_FACE / MIN_SEARCHED_FACE)
    assert width * height <= MAX_SEARCH_PIXELS and width / height == pytest.approx(8660 / 5774, rel=1e-3)


def test_a_search_for_faces_near_the_largest_runs_yunet_on_a_smaller_image() -> None:
    """A portrait a quarter of a 1920x1440 frame wide, decoded at 1/2: a 100 px face on the whole
    image, so facecrop2 (faces of 0.45 of its width and up) has YuNet see its 45 px faces at
    COMPANION_FACE."""
    covered = whole_pass_smallest((960, 720))
    searched = automatic_min_face((1920, 1440)) / 2
    everything = plan_fine_search(searched, widest=100, min_face_ratio=0, covered=covered)
    near = plan_fine_search(searched, widest=100, min_face_ratio=0.45, covered=covered)
    assert near == pytest.approx(COMPANION_FACE / 45) and everything is not None and near < everything
    # A face of 200 px: every face of 90 px and up is the whole-image pass's to find.
    assert plan_fine_search(15, widest=200, min_face_ratio=0.45, covered=covered) is None


def test_companions_of_an_unmeasured_face_are_looked_for_coarsely_first() -> None:
    """A group photo of small faces decoded at 960x640: the whole-image pass trusts faces from 80
    px and finds none, so facecrop2 first has YuNet look for faces from COARSE_STEP times 16 px."""
    covered = whole_pass_smallest((960, 640))
    coarse = plan_coarse_search(16, widest=0, min_face_ratio=0.45, covered=covered)
    assert coarse == pytest.approx(YUNET_FACE / (COARSE_STEP * 16))
    # The coarse run found a 50 px face: its 22.5 px companions are searched at COMPANION_FACE...
    after = YUNET_FACE / coarse
    assert plan_fine_search(16, widest=50, min_face_ratio=0.45, covered=after) == pytest.approx(COMPANION_FACE / 22.5)
    # ...a 100 px face's need no finer run, and without a face every face from 16 px is searched.
    assert plan_fine_search(16, widest=100, min_face_ratio=0.45, covered=after) is None
    assert plan_fine_search(16, widest=0, min_face_ratio=0.45, covered=after) == pytest.approx(YUNET_FACE / 16)
    # No coarse run when every face is wanted, when the widest face is known, or when the
    # whole-image pass already covers the coarse run's faces.
    assert plan_coarse_search(16, widest=0, min_face_ratio=0, covered=covered) is None
    assert plan_coarse_search(16, widest=120, min_face_ratio=0.45, covered=covered) is None
    assert plan_coarse_search(16, widest=0, min_face_ratio=0.45, covered=whole_pass_smallest((400, 300))) is None


def test_facecrop2_finds_a_group_of_small_faces_in_three_runs(group: tuple[Image.Image, list[Box], list[int]]) -> None:
    """No face is wide enough for the whole-image pass to trust: the coarse run finds the 80 px one,
    and the fine run its companions from 36 px."""
    image, spots, sizes = group
    found = detect(image, DetectOptions(min_score=0.45, min_face_ratio=0.45))
    assert found.passes == 3
    for spot, size in zip(spots, sizes, strict=True):
        if size >= 0.45 * 80:
            assert any(holds(spot, face) for face in found.faces), f"the {size} px face"


def test_facecrop2s_search_on_a_quarter_frame_portrait_runs_two_passes() -> None:
    photo = place(with_grain(background((1920, 1440), seed=5)), grace_hopper(), 540, (700, 400))
    decoded = decode(jpeg_bytes(photo), 10**8, detection_scale((1920, 1440)))
    everything = detect(decoded.image)
    near_the_largest = detect(decoded.image, DetectOptions(min_score=0.45, min_face_ratio=0.45))
    assert near_the_largest.passes == everything.passes == 2
    assert near_the_largest.faces[0].box.iou(everything.faces[0].box) > 0.7  # the same face, found either way


def test_merge_keeps_a_trusted_box_with_the_best_score_and_the_most_keypoints_of_its_cluster() -> None:
    six = dict.fromkeys(KEYPOINT_NAMES, (110.0, 110.0))
    loose = Face(Box(100, 100, 30, 30), 0.9, six)
    sharp = Face(Box(104, 106, 26, 28), 0.7, {"right_eye": (112.0, 115.0)})
    elsewhere = Face(Box(300, 100, 30, 30), 0.5)
    merged = merge([Candidate(loose, trusted=False), Candidate(sharp, trusted=True), Candidate(elsewhere, trusted=False)])
    assert [f.box for f in merged] == [sharp.box, elsewhere.box]
    assert [f.score for f in merged] == [0.9, 0.5]
    assert merged[0].keypoints == six


def test_yunet_scores_map_onto_mediapipes_scale() -> None:
    assert calibrated(0.4) == 0.0  # under the lowest calibrated score: not reported
    assert calibrated(0.775) == pytest.approx(0.6)  # equal precision on faces-dev
    assert calibrated(1.0) == 1.0
    raw = np.linspace(0.5, 1.0, 51)
    assert all(a < b for a, b in pairwise(calibrated(float(r)) for r in raw))


def test_a_yunet_box_becomes_mediapipes_wider_shorter_lower_box() -> None:
    box = mediapipe_box(Box(100, 100, 100, 120))
    assert box.center == pytest.approx((150, 166))
    assert (box.w, box.h) == pytest.approx((109, 102))


def test_yunet_finds_the_portrait_where_mediapipe_does_with_its_eyes_named_as_mediapipe_names_them() -> None:
    portrait = grace_hopper()
    (mediapipe,) = [face for face in whole_pass(portrait) if face.score >= 0.6]
    ((box, score, points),) = [found for found in yunet.find(portrait, 1.0) if found[1] >= 0.6]
    assert box.iou(mediapipe.box) > 0.75 and score > 0.8
    assert set(points) == {"right_eye", "left_eye", "nose_tip", "mouth_center"}
    for name, (x, y) in points.items():
        assert math.dist((x, y), mediapipe.keypoints[name]) < 0.1 * box.w


def test_detection_gives_the_same_answer_from_many_threads_at_once(group) -> None:
    image, _, _ = group
    expected = detect(image)
    with ThreadPoolExecutor(4) as pool:
        assert all(found == expected for found in pool.map(lambda _: detect(image), range(8)))


@pytest.mark.parametrize(
    "degrees, transpose", [(90, Image.Transpose.ROTATE_270), (180, Image.Transpose.ROTATE_180), (270, Image.Transpose.ROTATE_90)]
)
def test_unrotate_point_undoes_a_clockwise_turn(degrees: int, transpose: Image.Transpose) -> None:
    image = Image.new("L", (40, 30))
    image.putpixel((7, 3), 255)
    turned = image.transpose(transpose)
    u, v = next((x, y) for y in range(turned.height) for x in range(turned.width) if turned.getpixel((x, y)))
    # Pixel centres: the point (u + 0.5, v + 0.5) of the turned image is (7.5, 3.5) of the original.
    assert unrotate_point((u + 0.5, v + 0.5), degrees, image.size) == pytest.approx((7.5, 3.5))


def test_the_smallest_face_follows_the_face_plus_plus_promise() -> None:
    assert automatic_min_face((4000, 3000)) == pytest.approx(3000 / 48)
    assert automatic_min_face((400, 300)) == 16
    # A 12 MP JPEG decodes at 1/4 scale for detection: its smallest promised face keeps 15 px.
    assert 0.125 < detection_scale((4000, 3000)) <= 0.25
    small = jpeg_bytes(background((800, 600)))
    assert decode(small, 10**9, detection_scale((800, 600))).image.size == (800, 600)


# --- behaviour on real photos


def test_a_portrait_is_found_with_its_keypoints_inside_the_box() -> None:
    (face,) = detect(grace_hopper()).faces
    assert 150 < face.box.w < 250 and face.score > 0.8
    assert set(face.keypoints) == {"right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion"}
    for name in ("right_eye", "left_eye", "nose_tip", "mouth_center"):
        x, y = face.keypoints[name]
        assert face.box.x <= x <= face.box.right and face.box.y <= y <= face.box.bottom


def test_a_small_image_is_upscaled_for_the_model() -> None:
    tiny = grace_hopper().resize((96, 112), Image.Resampling.LANCZOS)
    (face,) = detect(tiny).faces
    assert 28 < face.box.w < 48


def test_no_face_in_a_photo_of_none() -> None:
    upright = detect(background((800, 600), seed=3))
    turned = detect(background((800, 600), seed=3), DetectOptions(rotate=True))
    assert upright.faces == turned.faces == [] and upright.orientation == turned.orientation == 0
    assert turned.passes == 4 * upright.passes > 0  # every orientation searched in vain


def test_every_face_of_a_group_is_found_where_it_was_pasted(group) -> None:
    image, spots, sizes = group
    faces = detect(image).faces
    assert len(faces) == len(spots)
    for spot, size, face in zip(spots, sizes, faces, strict=True):  # largest first, as pasted
        assert holds(spot, face)
        assert face.box.w == pytest.approx(size, rel=0.25)


def test_max_faces_keeps_the_largest(group) -> None:
    image, spots, _ = group
    faces = detect(image, DetectOptions(max_faces=2)).faces
    assert len(faces) == 2 and holds(spots[0], faces[0]) and holds(spots[1], faces[1])


def test_min_face_size_drops_the_smaller_faces(group) -> None:
    image, spots, _ = group
    faces = detect(image, DetectOptions(min_face_size=55)).faces
    assert all(f.box.w >= 55 for f in faces)
    found = [any(holds(spot, face) for face in faces) for spot in spots]
    # The 50 px face lies within a box's measuring error of the limit (YuNet sees it 18 px wide
    # and may box it at 56): either answer is right for it.
    assert found[:3] == [True] * 3 and found[4:] == [False] * 2


def test_min_score_is_honoured(group) -> None:
    image, _, _ = group
    everything = detect(image, DetectOptions(min_score=0.3)).faces
    confident = detect(image, DetectOptions(min_score=0.9)).faces
    assert all(f.score >= 0.9 for f in confident) and len(confident) < len(everything)


def test_min_face_ratio_skips_the_search_for_small_faces_but_keeps_the_main_ones() -> None:
    photo = large_photo((2000, 1500))
    everything = detect(photo).faces
    main = detect(photo, DetectOptions(min_face_ratio=0.5)).faces
    assert len(main) >= 2  # Grace Hopper and the astronaut
    assert all(face.box.iou(other.box) > 0.8 for face, other in zip(main, everything, strict=False))


@pytest.mark.parametrize(
    "transpose, orientation",
    [(Image.Transpose.ROTATE_90, 90), (Image.Transpose.ROTATE_180, 180), (Image.Transpose.ROTATE_270, 270)],
)
def test_the_rotation_search_finds_turned_faces_and_says_how(transpose: Image.Transpose, orientation: int) -> None:
    upright = place(background((800, 600), seed=6), grace_hopper(), 300, (250, 100))
    (expected,) = detect(upright).faces
    found = detect(upright.transpose(transpose), DetectOptions(rotate=True))
    assert found.orientation == orientation
    (face,) = found.faces
    # In the turned image's own pixels: the upright face's box, turned the same way.
    mask = Image.new("L", upright.size)
    mask.paste(255, tuple(round(v) for v in (expected.box.x, expected.box.y, expected.box.right, expected.box.bottom)))
    ys, xs = np.nonzero(np.asarray(mask.transpose(transpose)))
    turned_box = Box(xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
    assert turned_box.iou(face.box) > 0.8


def test_an_upside_down_face_is_found_only_with_the_rotation_search() -> None:
    turned = place(background((800, 600), seed=6), grace_hopper(), 300, (250, 100)).transpose(Image.Transpose.ROTATE_180)
    assert detect(turned).faces == []
    assert len(detect(turned, DetectOptions(rotate=True)).faces) == 1


# --- the finder: large JPEGs decoded small, faces in full-resolution pixels, one cache entry per options


def test_80_px_faces_in_a_12_mp_group_photo_are_found_in_full_resolution_pixels() -> None:
    canvas, spots = background((4000, 3000), seed=7), []
    for at in [(300, 2300), (1800, 400), (3500, 1500)]:
        canvas = place(canvas, grace_hopper(), hopper_width_for(80), at)
        spots.append(pasted(at, hopper_width_for(80)))
    data = jpeg_bytes(with_grain(canvas), quality=88)
    loads = []

    def load():
        loads.append(1)
        return decode(data, 10**9, detection_scale((4000, 3000)))

    finder = FaceFinder(8)
    _, found = finder.find("digest", load)
    assert load().image.size == (1000, 750)  # detection ran on a 1/4-scale decode
    for spot in spots:
        (face,) = [face for face in found.faces if holds(spot, face)]
        assert face.box.w == pytest.approx(80, rel=0.2)
    # Cached by content and options: the same options again decode nothing, others detect again.
    assert finder.find("digest", load) == (None, found) and len(loads) == 2
    assert finder.find("digest", load, DetectOptions(max_faces=1))[1].faces == found.faces[:1] and len(loads) == 3


# --- labelled real photos


@pytest.mark.skipif(not FACES_DEV.is_dir(), reason="../shared/data/faces-dev is not here")
def test_most_labelled_faces_of_a_few_real_photos_are_found() -> None:
    entries = json.loads((FACES_DEV / "annotations.json").read_text())[:24]
    labelled = matched = 0
    for entry in entries:
        image = decode((FACES_DEV / entry["file"]).read_bytes(), 10**9).image
        boxes = [f.box for f in detect(image).faces]
        for x, y, w, h in entry["boxes"]:
            if w >= 32:  # clearly visible faces; smaller ones are often masked crowds
                labelled += 1
                matched += any(Box(x, y, w, h).iou(box) >= 0.4 for box in boxes)
    assert labelled >= 20 and matched / labelled >= 0.6
