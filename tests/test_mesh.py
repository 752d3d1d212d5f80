"""Per-face analysis on real photos: landmarks, head pose, eye and mouth state, quality measures."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter
from skimage import data

from imgproxy.faces import quality
from imgproxy.faces.box import Box
from imgproxy.faces.mesh import (
    CHIN,
    LEFT_EYE,
    MOUTH,
    NOSE_TIP,
    RIGHT_EYE,
    FaceAnalysis,
    analyze,
    eye_ratio,
    mouth_ratio,
)
from imgproxy.samples import astronaut, background, grace_hopper

# Face boxes measured once with imgproxy.faces.detect.detect, rounded.
HOPPER_BOX = Box(166, 128, 200, 200)
ASTRONAUT_BOX = Box(174, 68, 104, 104)
# scikit-image's cameraman: a real face turned well to the subject's left, looking down into a camera.
CAMERAMAN_BOX = Box(200, 123, 76, 76)


def mirrored(image: Image.Image, box: Box) -> tuple[Image.Image, Box]:
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT), Box(image.width - box.right, box.y, box.w, box.h)


def analysed(image: Image.Image, box: Box) -> FaceAnalysis:
    result = analyze(image, box)
    assert result is not None
    return result


@pytest.fixture(scope="module")
def hopper() -> Image.Image:
    return grace_hopper()


@pytest.fixture(scope="module")
def cameraman() -> Image.Image:
    return Image.fromarray(data.camera())  # 8-bit grayscale, as some originals are


@pytest.fixture(scope="module")
def portraits(hopper: Image.Image) -> dict[str, tuple[Image.Image, Box, FaceAnalysis]]:
    photos = {"hopper": (hopper, HOPPER_BOX), "astronaut": (astronaut(), ASTRONAUT_BOX)}
    return {name: (image, box, analysed(image, box)) for name, (image, box) in photos.items()}


@pytest.mark.parametrize("name", ["hopper", "astronaut"])
def test_landmarks_cover_the_face_in_image_pixels(portraits, name: str) -> None:
    _, box, face = portraits[name]
    points = np.array(face.landmarks)
    assert points.shape == (478, 2)
    area = box.grown(0.15)
    assert (points[:, 0] >= area.x).all() and (points[:, 0] <= area.right).all()
    assert (points[:, 1] >= area.y).all() and (points[:, 1] <= area.bottom).all()
    eyes_y = points[[RIGHT_EYE.outer, LEFT_EYE.outer], 1].max()
    assert eyes_y < points[NOSE_TIP, 1] < points[MOUTH.upper_inner, 1] < points[CHIN, 1]
    # The subject's right eye is on the image's left in a frontal photo.
    xs = points[[RIGHT_EYE.outer, RIGHT_EYE.inner, LEFT_EYE.inner, LEFT_EYE.outer], 0]
    assert (np.diff(xs) > 0).all()


@pytest.mark.parametrize("name", ["hopper", "astronaut"])
def test_frontal_portraits_look_at_the_camera_eyes_open_mouth_closed(portraits, name: str) -> None:
    face = portraits[name][2]
    assert abs(face.yaw) < 10 and abs(face.pitch) < 15 and abs(face.roll) < 5
    assert face.right_eye_open and face.left_eye_open
    assert face.right_eye_ratio > 0.2 and face.left_eye_ratio > 0.2
    assert not face.mouth_open  # the astronaut smiles showing her teeth: lips apart, mouth not open


@pytest.mark.parametrize("degrees", [15, -15])
def test_roll_follows_the_photo_turning(portraits, degrees: int) -> None:
    image, box, upright = portraits["hopper"]
    # Pillow turns counter-clockwise for positive angles; roll counts clockwise.
    turned = image.rotate(degrees, resample=Image.Resampling.BICUBIC, center=box.center)
    assert analysed(turned, box).roll == pytest.approx(upright.roll - degrees, abs=3)


def test_yaw_is_positive_when_the_subject_turns_to_their_left(cameraman: Image.Image) -> None:
    turned = analysed(cameraman, CAMERAMAN_BOX)
    flipped = analysed(*mirrored(cameraman, CAMERAMAN_BOX))
    assert turned.yaw > 30
    assert flipped.yaw < -30
    assert flipped.yaw == pytest.approx(-turned.yaw, abs=10)
    assert turned.pitch < 0  # he leans down into the viewfinder


def test_yaw_of_a_mirrored_portrait_is_opposite(portraits) -> None:
    image, box, face = portraits["astronaut"]
    flipped = analysed(*mirrored(image, box))
    assert flipped.yaw == pytest.approx(-face.yaw, abs=3)
    assert flipped.roll == pytest.approx(-face.roll, abs=3)


def test_blur_rises_on_a_blurred_copy(portraits) -> None:
    image, box, sharp = portraits["hopper"]
    soft = analysed(image.filter(ImageFilter.GaussianBlur(2)), box)
    assert sharp.blur < 0.2
    assert soft.laplacian_variance < sharp.laplacian_variance / 4
    assert soft.blur > sharp.blur + 0.2


def test_illumination_falls_on_a_darkened_copy(portraits) -> None:
    image, box, lit = portraits["hopper"]
    dark = analysed(ImageEnhance.Brightness(image).enhance(0.5), box)
    assert 80 < lit.illumination < 220
    assert dark.illumination == pytest.approx(lit.illumination / 2, rel=0.1)


def test_completeness_drops_for_a_face_cut_by_the_edge(portraits) -> None:
    image, box, whole = portraits["hopper"]
    assert whole.completeness == 1.0
    # Cut through the face a third of the way in from its left; the detector's box stops at the edge.
    cut_at = round(box.x + box.w / 3)
    cut = image.crop((cut_at, 0, image.width, image.height))
    edge_box = Box(0, box.y, box.right - cut_at, box.h)
    face = analysed(cut, edge_box)
    assert 0.4 < face.completeness < 0.85
    assert np.array(face.landmarks)[:, 0].min() < 0  # the mesh still places the cut-off half


def test_no_face_in_the_region_gives_none(hopper: Image.Image) -> None:
    plain = background((400, 400), seed=5)
    assert analyze(plain, Box(100, 100, 200, 200)) is None
    # A box in the photo's corner, away from Grace Hopper's face.
    assert analyze(hopper, Box(0, 450, 120, 120)) is None
    assert analyze(hopper, Box(600, 700, 50, 50)) is None  # entirely outside the image


def test_grayscale_input_and_worker_threads_agree(cameraman: Image.Image) -> None:
    here = analysed(cameraman, CAMERAMAN_BOX)
    with ThreadPoolExecutor(2) as pool:
        there = list(pool.map(lambda _: analyze(cameraman, CAMERAMAN_BOX), range(4)))
    for face in there:
        assert face is not None
        assert np.allclose(face.landmarks, here.landmarks, atol=0.5)
        assert face.yaw == pytest.approx(here.yaw, abs=0.5)


def test_eye_and_mouth_ratios_from_points() -> None:
    points = np.zeros((478, 2))
    # An eye 30 px wide whose lids are 6 and 12 px apart: (6 + 12) / (2 * 30).
    for index, xy in zip(RIGHT_EYE, [(0, 0), (10, -3), (20, -6), (30, 0), (20, 6), (10, 3)], strict=True):
        points[index] = xy
    assert eye_ratio(points, RIGHT_EYE) == pytest.approx(0.3)
    mouth = [MOUTH.right_corner, MOUTH.left_corner, MOUTH.upper_inner, MOUTH.lower_inner]
    points[mouth] = [(0, 0), (50, 0), (25, -5), (25, 10)]
    assert mouth_ratio(points) == pytest.approx(0.3)


def test_laplacian_variance_and_blur() -> None:
    flat = np.full((64, 64), 128, np.uint8)
    checks = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    assert quality.laplacian_variance(flat) == 0.0
    assert quality.laplacian_variance(checks) > 1000
    half = np.zeros((64, 64), bool)
    half[:, :32] = True
    inside = half.copy()
    inside[:, 31] = False  # the column beside the checks sees them through the Laplacian's kernel
    assert quality.laplacian_variance(np.where(half, flat, checks), inside) == 0.0
    assert quality.blur(0.0) == 1.0
    assert quality.blur(quality.BLUR_MIDPOINT) == pytest.approx(0.5)
    assert quality.blur(1000.0) < quality.blur(100.0) < quality.blur(10.0)


def test_mean_luminance_over_a_mask() -> None:
    gray = np.zeros((10, 10), np.uint8)
    gray[:, 5:] = 200
    mask = np.zeros((10, 10), bool)
    mask[:, 4:] = True
    assert quality.mean_luminance(gray) == pytest.approx(100)
    assert quality.mean_luminance(gray, mask) == pytest.approx(200 * 5 / 6)
    assert quality.mean_luminance(gray, np.zeros_like(mask)) == 0.0


def test_completeness_of_boxes() -> None:
    assert quality.completeness(Box(20, 20, 60, 60), (100, 100)) == 1.0
    assert quality.completeness(Box(2, 20, 60, 60), (100, 100)) < 1.0  # no room left of the face
    assert quality.completeness(Box(-50, 0, 100, 100), (100, 100), growth=0) == pytest.approx(0.5)
    assert quality.completeness(Box(200, 200, 10, 10), (100, 100)) == 0.0
    assert quality.completeness(Box(10, 10, 0, 0), (100, 100)) == 0.0
