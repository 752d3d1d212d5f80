"""The face privacy ops, faceblur and facemosaic: the covering geometry as pure functions, the ops
in-process on decoded pixels, and end to end through the real server."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import Proxy, error_of
from images import decode
from PIL import Image, ImageFilter

from imgproxy.config import Settings
from imgproxy.errors import BadRequest
from imgproxy.faces.box import Box
from imgproxy.faces.detect import DetectOptions, detect, search_pixels
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.cover import Ellipse, blurred, cover, feathered_mask, head_ellipse, pixelated
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.faceblur import SEARCH_BUDGET, detected_frames, nearby, smallest_face
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import Result, run
from imgproxy.pipeline.values import Encoded
from imgproxy.samples import background, coffee, grace_hopper, place

# --- helpers ------------------------------------------------------------------------------------


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def process(data: bytes, text: str, settings: Settings | None = None) -> Result:
    settings = settings or Settings(debug_headers=True)
    return run(parse_pipeline(text, 30), Encoded(data, "image/unknown"), Context(settings, FaceFinder(0)))


def face_of(image: Image.Image, rotate: bool = False) -> Box:
    faces = detect(image, DetectOptions(rotate=rotate)).faces
    assert faces, "the test photo has a face"
    return faces[0].box


def edge_variance(image: Image.Image, box: Box) -> float:
    """How much fine detail (edges) there is inside `box`."""
    inner = image.convert("L").crop((round(box.x), round(box.y), round(box.right), round(box.bottom)))
    return float(np.asarray(inner.filter(ImageFilter.FIND_EDGES), dtype=np.float64)[1:-1, 1:-1].var())


def outside(image: Image.Image, box: Box, pad: float = 1.0) -> np.ndarray:
    """The pixels of `image` beyond the reach of the cover of a face in `box` (its feather
    included), with the reach itself blanked out."""
    ellipse = head_ellipse((box.x, box.y, box.w, box.h), pad)
    bounds = ellipse.bounds(ellipse.feather + 1, image.size)
    assert bounds is not None
    pixels = np.asarray(image.convert("RGB")).copy()
    pixels[bounds[1] : bounds[3], bounds[0] : bounds[2]] = 0
    return pixels


def in_ellipse(ellipse: Ellipse, x: float, y: float) -> bool:
    return ((x - ellipse.cx) / ellipse.rx) ** 2 + ((y - ellipse.cy) / ellipse.ry) ** 2 <= 1


@pytest.fixture(scope="module")
def hopper_png() -> bytes:
    return png_bytes(grace_hopper())


# --- geometry -----------------------------------------------------------------------------------

BOX = (100.0, 200.0, 80.0, 100.0)  # x, y, w, h


def test_the_head_ellipse_holds_the_face_box_and_reaches_hair_chin_and_ears():
    ellipse = head_ellipse(BOX, 1.0)
    x, y, w, h = BOX
    assert all(in_ellipse(ellipse, cx, cy) for cx in (x, x + w) for cy in (y, y + h))  # every corner
    assert ellipse.cx == x + w / 2
    assert ellipse.cy - ellipse.ry == pytest.approx(y - 0.45 * h)  # hair
    assert ellipse.cy + ellipse.ry == pytest.approx(y + h + 0.35 * h)  # chin
    assert ellipse.cx - ellipse.rx == pytest.approx(x - 0.3 * w)  # ears
    assert ellipse.cx + ellipse.rx == pytest.approx(x + w + 0.3 * w)


def test_pad_scales_the_ellipse_about_its_centre():
    one, two, half = (head_ellipse(BOX, pad) for pad in (1.0, 2.0, 0.5))
    assert (two.cx, two.cy) == (one.cx, one.cy) == (half.cx, half.cy)
    assert (two.rx, two.ry) == pytest.approx((2 * one.rx, 2 * one.ry))
    assert (half.rx, half.ry) == pytest.approx((one.rx / 2, one.ry / 2))
    # Even at the smallest pad the eyes, nose and mouth (the middle of the box) are covered.
    x, y, w, h = BOX
    assert all(in_ellipse(half, x + fx * w, y + fy * h) for fx in (0.3, 0.5, 0.7) for fy in (0.35, 0.5, 0.75))


@pytest.mark.parametrize(
    "turn,towards",
    [(0, (0, -1)), (90, (-1, 0)), (180, (0, 1)), (270, (1, 0))],
)
def test_a_turned_face_grows_towards_its_own_top(turn, towards):
    """The rotation search reports the clockwise turn that stands a face upright: turned by 90,
    the face's top was on the image's left."""
    square = (100.0, 100.0, 60.0, 60.0)
    ellipse = head_ellipse(square, 1.0, turn)
    shift = (ellipse.cx - 130, ellipse.cy - 130)
    assert shift == pytest.approx((towards[0] * 3.0, towards[1] * 3.0))  # raised by 0.05 face heights
    along, across = 0.9 * 60, 0.8 * 60  # the head is taller than it is wide
    assert (ellipse.rx, ellipse.ry) == pytest.approx((across, along) if turn in (0, 180) else (along, across))


def test_bounds_are_whole_pixels_cut_to_the_image():
    ellipse = Ellipse(10.5, 20.5, 5.0, 8.0)
    assert ellipse.bounds(0, (100, 100)) == (5, 12, 16, 29)
    assert ellipse.bounds(2, (100, 100)) == (3, 10, 18, 31)
    assert ellipse.bounds(0, (12, 25)) == (5, 12, 12, 25)
    assert Ellipse(-50, -50, 5, 5).bounds(2, (100, 100)) is None


def test_the_mask_is_full_on_the_ellipse_and_fades_to_nothing_across_the_feather():
    ellipse = Ellipse(100.0, 120.0, 60.0, 80.0)
    feather = ellipse.feather
    bounds = ellipse.bounds(feather, (400, 400))
    assert bounds is not None
    mask = np.asarray(feathered_mask(bounds, ellipse))
    left, top = bounds[:2]
    ys, xs = np.mgrid[top : bounds[3], left : bounds[2]] + 0.5
    radius = np.sqrt(((xs - ellipse.cx) / ellipse.rx) ** 2 + ((ys - ellipse.cy) / ellipse.ry) ** 2)
    assert (mask[radius <= 1] == 255).all()
    # one feather beyond the ellipse (measured along its shorter axis, the narrowest band) nothing is
    # left but the odd rounding step of the drawn edge
    assert mask[radius >= 1 + feather / ellipse.rx].max() <= 1
    # rounded: the bounding box's corners are outside it
    assert mask[0, 0] == mask[-1, -1] == 0
    # and the edge is soft: along a ray from the centre the mask falls step by step, never at once
    ray = mask[round(ellipse.cy) - top, round(ellipse.cx) - left :]
    assert (np.diff(ray.astype(int)) <= 0).all() and np.abs(np.diff(ray.astype(int))).max() < 64


def test_blur_reads_the_real_pixels_around_the_bounds():
    image = Image.new("L", (100, 100), 0)
    image.paste(255, (50, 0, 100, 100))
    part = blurred(5)(image, (40, 40, 50, 60))
    assert part.size == (10, 20)
    # the bright half beyond the bounds shines into them, as it would in a blur of the whole image
    assert np.asarray(part)[:, -1].min() > 90
    whole = np.asarray(image.filter(ImageFilter.GaussianBlur(5)))[40:60, 40:50]
    assert np.array_equal(np.asarray(part), whole)


def test_pixelation_makes_flat_cells_on_the_image_grid():
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 256, (64, 70, 3), dtype=np.uint8))
    part = np.asarray(pixelated(8)(image, (5, 10, 70, 64)))
    assert part.shape == (54, 65, 3)
    source = np.asarray(image, dtype=np.float64)
    # the cell at image pixels 8-15 x 16-23 is the mean of those pixels, every pixel alike
    cell = part[16 - 10 : 24 - 10, 8 - 5 : 16 - 5]
    assert (cell == cell[0, 0]).all()
    assert np.abs(cell[0, 0] - source[16:24, 8:16].mean(axis=(0, 1))).max() <= 1
    # the cells cut by the image's edge (x 64-69) average what is there
    edge = part[16 - 10 : 24 - 10, 64 - 5 :]
    assert (edge == edge[0, 0]).all()
    assert np.abs(edge[0, 0] - source[16:24, 64:70].mean(axis=(0, 1))).max() <= 1


def test_cover_changes_only_what_the_masks_reach():
    rng = np.random.default_rng(2)
    image = Image.fromarray(rng.integers(0, 256, (200, 300, 3), dtype=np.uint8))
    ellipse = Ellipse(150.0, 100.0, 40.0, 50.0)
    out = cover(image, [(ellipse, pixelated(10))])
    bounds = ellipse.bounds(ellipse.feather, image.size)
    assert bounds is not None
    before, after = np.asarray(image).copy(), np.asarray(out).copy()
    assert not np.array_equal(before[100, 150], after[100, 150])
    before[bounds[1] : bounds[3], bounds[0] : bounds[2]] = after[bounds[1] : bounds[3], bounds[0] : bounds[2]] = 0
    assert np.array_equal(before, after)
    assert np.array_equal(np.asarray(cover(image, [])), np.asarray(image))


def test_small_images_are_searched_down_to_12_px_faces_and_large_ones_within_the_search_budget():
    assert smallest_face((512, 600), SEARCH_BUDGET) == smallest_face((1920, 1080), SEARCH_BUDGET) == 12
    for size in ((4000, 3000), (9999, 9999)):
        width = smallest_face(size, SEARCH_BUDGET)
        assert width > 12
        assert search_pixels(size, width) <= SEARCH_BUDGET < search_pixels(size, 12)
    assert smallest_face((4000, 3000), SEARCH_BUDGET) < smallest_face((9999, 9999), SEARCH_BUDGET)


def test_detected_frames_are_all_or_spread_from_first_to_last():
    assert detected_frames(5, 24) == [0, 1, 2, 3, 4]
    spread = detected_frames(300, 24)
    assert len(spread) == 24 and spread[0] == 0 and spread[-1] == 299
    gaps = np.diff(spread)
    assert gaps.max() - gaps.min() <= 1


def test_each_frame_takes_the_faces_of_the_nearest_searched_frames():
    every = [0, 1, 2, 3]
    assert nearby(every, 0) == [0, 1]
    assert nearby(every, 2) == [1, 2, 3]  # a face missed on one frame is covered from its neighbours
    assert nearby(every, 3) == [2, 3]
    sparse = [0, 10, 20]
    assert nearby(sparse, 4) == [0, 1]  # between two searched frames: both ends of the move
    assert nearby(sparse, 10) == [0, 1, 2]
    assert nearby(sparse, 25) == [2]


# --- in-process, on decoded pixels --------------------------------------------------------------


def test_faceblur_removes_the_detail_of_the_face_and_nothing_else(hopper_png: bytes):
    source = decode(hopper_png)
    box = face_of(source)
    result = process(hopper_png, "faceblur/20")
    assert result.content_type == "image/png" and result.headers["X-Face-Count"] == "1"
    out = decode(result.body)
    assert out.size == source.size
    assert edge_variance(out, box) < 0.2 * edge_variance(source, box)
    assert np.array_equal(outside(out, box), outside(source, box))


def test_a_weak_blur_is_raised_to_an_eighth_of_the_face_width(hopper_png: bytes):
    """Grace Hopper's face is ~197 px wide: anything under a deviation of ~25 px is blurred with that."""
    weak, floor, strong = (decode(process(hopper_png, f"faceblur/{sigma}").body) for sigma in (1, 20, 60))
    assert np.array_equal(np.asarray(weak), np.asarray(floor))
    box = face_of(decode(hopper_png))
    assert edge_variance(strong, box) < edge_variance(floor, box)


def test_a_larger_pad_covers_more(hopper_png: bytes):
    source = decode(hopper_png)
    box = face_of(source)
    out = decode(process(hopper_png, "faceblur/20/pad/2").body)
    # the shoulders, a face height below the box, are blurred with pad 2 and untouched with pad 1
    below = Box(box.x, box.bottom + 0.6 * box.h, box.w, 0.2 * box.h)
    assert edge_variance(out, below) < 0.5 * edge_variance(source, below)
    assert np.array_equal(outside(out, box, pad=2.0), outside(source, box, pad=2.0))


def test_facemosaic_fills_the_face_with_flat_cells_of_the_given_size(hopper_png: bytes):
    source = decode(hopper_png)
    box = face_of(source)
    result = process(hopper_png, "facemosaic/40")
    assert result.headers["X-Face-Count"] == "1"
    out = np.asarray(decode(result.body))
    cells = 0
    for top in range(math.ceil(box.y / 40) * 40, math.floor(box.bottom) - 40 + 1, 40):
        for left in range(math.ceil(box.x / 40) * 40, math.floor(box.right) - 40 + 1, 40):
            cell = out[top : top + 40, left : left + 40]
            assert (cell == cell[0, 0]).all(), (left, top)
            cells += 1
    assert cells >= 9
    assert np.array_equal(outside(Image.fromarray(out), box), outside(source, box))


def test_small_mosaic_cells_are_raised_to_a_sixth_of_the_face_width(hopper_png: bytes):
    box = face_of(decode(hopper_png))
    out = np.asarray(decode(process(hopper_png, "facemosaic/2").body))
    inner = (math.ceil(box.x), math.ceil(box.y), math.floor(box.right), math.floor(box.bottom))

    def flat(cell: int) -> bool:
        xs = range(math.ceil(inner[0] / cell) * cell, inner[2] - cell + 1, cell)
        ys = range(math.ceil(inner[1] / cell) * cell, inner[3] - cell + 1, cell)
        return all((out[y : y + cell, x : x + cell] == out[y, x]).all() for y in ys for x in xs)

    fitting = [cell for cell in range(20, 45) if flat(cell)]
    assert len(fitting) == 1 and fitting[0] >= box.w / 6 - 1, fitting


def test_a_photo_without_a_face_keeps_every_pixel():
    data = png_bytes(coffee())
    for text in ("faceblur/20", "facemosaic/12"):
        result = process(data, text)
        assert result.headers["X-Face-Count"] == "0"
        assert np.array_equal(np.asarray(decode(result.body)), np.asarray(decode(data)))


def test_a_jpeg_without_a_face_is_only_written_again(samples_dir: Path):
    """Written like every image op's answer (quality 75 from a q90 source, no EXIF), and nothing else."""
    data = (samples_dir / "no_face.jpg").read_bytes()
    result = process(data, "faceblur/20")
    assert result.content_type == "image/jpeg" and result.headers["X-Face-Count"] == "0"
    again = io.BytesIO()
    decode(data).save(again, "JPEG", quality=75, optimize=True)
    assert result.body == again.getvalue()


def test_a_sideways_photo_is_covered_along_the_turned_face(samples_dir: Path):
    data = (samples_dir / "sideways.jpg").read_bytes()
    source = decode(data)
    box = face_of(source, rotate=True)
    out = decode(process(data, "faceblur/20").body)
    assert edge_variance(out, box) < 0.2 * edge_variance(source, box)


def moving_hopper(frames: int) -> tuple[bytes, list[Box]]:
    """An animated GIF of Grace Hopper crossing a plain backdrop, and her face's box on each frame."""
    hopper = grace_hopper()
    images = [place(background((480, 240), seed=3), hopper, 180, (i * 60, 20)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    data = out.getvalue()
    boxes = [face_of(frame.convert("RGB")) for frame in decode_frames(data)]
    return data, boxes


def decode_frames(data: bytes) -> list[Image.Image]:
    image = Image.open(io.BytesIO(data))
    frames = []
    for index in range(image.n_frames):
        image.seek(index)
        frames.append(image.convert("RGB"))
    return frames


def test_an_animation_is_covered_frame_by_frame_where_the_face_is():
    data, boxes = moving_hopper(6)
    assert boxes[0].x < boxes[-1].x - 200  # she moves well over a face width
    result = process(data, "faceblur/8")
    assert result.content_type == "image/gif"
    assert result.headers["X-Detected-Frames"] == "6 of 6" and int(result.headers["X-Face-Count"]) >= 1
    before, after = decode_frames(data), decode_frames(result.body)
    assert len(after) == 6
    for source, out, box in zip(before, after, boxes, strict=True):
        assert edge_variance(out, box) < 0.2 * edge_variance(source, box)


def test_the_pixel_budget_counts_the_privacy_ops(hopper_png: bytes):
    """A 512x600 image: detection reads it, the cover writes it twice: ~0.9 MP an op."""
    tight = Settings(max_pixel_work=2_000_000)
    assert process(hopper_png, "faceblur/20|facemosaic/10", tight).content_type == "image/png"
    with pytest.raises(BadRequest, match=r"^pipeline would read and write about 3 MP of pixels, over the limit of 2 MP$"):
        process(hopper_png, "faceblur/20|facemosaic/10|faceblur/5", tight)


def test_the_output_limits_bind_the_privacy_ops_unless_errors_are_ignored(hopper_png: bytes):
    small = Settings(max_output_side=500)
    with pytest.raises(BadRequest, match=r"^facemosaic: the image's own size gives 512x600, over the limit of 500 px a side$"):
        process(hopper_png, "facemosaic/10", small)
    assert process(hopper_png, "facemosaic/10/ignore-error/1", small).body == hopper_png


@pytest.mark.parametrize(
    "text,canonical",
    [
        ("faceblur/20/pad/1.0", "faceblur/20"),
        ("faceblur/020/pad/0.50/ignore-error/0", "faceblur/20/pad/0.5"),
        ("facemosaic/12/ignore-error/1/pad/2.25", "facemosaic/12/pad/2.25/ignore-error/1"),
    ],
)
def test_canonical_spelling(text, canonical):
    assert parse_pipeline(text, 30).canonical() == canonical


BAD = [
    ("faceblur", "faceblur: expected 1 leading argument(s), got 0"),
    ("faceblur/0", "faceblur: sigma must be a whole number from 1 to 100, got '0'"),
    ("faceblur/101", "faceblur: sigma must be a whole number from 1 to 100, got '101'"),
    ("faceblur/2.5", "faceblur: sigma must be a whole number from 1 to 100, got '2.5'"),
    ("faceblur/20/pad/9", "faceblur: pad must be a number from 0.5 to 4, got '9'"),
    ("faceblur/20/pad/0.4", "faceblur: pad must be a number from 0.5 to 4, got '0.4'"),
    ("faceblur/20/pad/1.1255", "faceblur: pad must be a number from 0.5 to 4, got '1.1255'"),
    ("faceblur/20/pad/1e0", "faceblur: pad must be a number from 0.5 to 4, got '1e0'"),
    ("faceblur/20/pad/-1", "faceblur: pad must be a number from 0.5 to 4, got '-1'"),
    ("faceblur/20/pad", "faceblur: pad needs a value"),
    ("faceblur/20/sigma/3", "faceblur: unknown argument 'sigma'"),
    ("faceblur/20/ignore-error/2", "faceblur: ignore-error must be 0 or 1, got '2'"),
    ("facemosaic/1", "facemosaic: cell must be a whole number from 2 to 500, got '1'"),
    ("facemosaic/501", "facemosaic: cell must be a whole number from 2 to 500, got '501'"),
    ("facemosaic/x", "facemosaic: cell must be a whole number from 2 to 500, got 'x'"),
    ("facemosaic/10/pad/4.01", "facemosaic: pad must be a number from 0.5 to 4, got '4.01'"),
    ("facemosaic/10/pad/1/pad/2", "facemosaic: pad is given twice"),
]


@pytest.mark.parametrize("text,message", BAD)
def test_bad_values_name_the_op_and_the_argument(text, message):
    with pytest.raises(BadRequest) as raised:
        parse_pipeline(text, 30)
    assert raised.value.message == message


# --- end to end, through the real server --------------------------------------------------------


def test_faceblur_answers_a_jpeg_of_the_same_size(proxy: Proxy):
    response = proxy.get("/grace_hopper.jpg?faceblur/20")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-face-count"] == "1"
    assert decode(response.content).size == (512, 600)


def test_the_privacy_ops_chain_with_the_image_ops(proxy: Proxy):
    response = proxy.get("/grace_hopper.jpg?faceblur/20|imageView2/2/w/200")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg" and response.headers["x-face-count"] == "1"
    assert decode(response.content).size == (200, 234)
    response = proxy.get("/astronaut.jpg?imageView2/2/w/256/format/png|facemosaic/8/pad/1.5")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert decode(response.content).size == (256, 256) and int(response.headers["x-face-count"]) >= 1


def test_no_face_is_not_an_error(proxy: Proxy):
    response = proxy.get("/no_face.jpg?facemosaic/10")
    assert response.status_code == 200 and response.headers["x-face-count"] == "0"
    assert decode(response.content).size == (600, 400)


def test_bad_values_are_400s(proxy: Proxy):
    message = error_of(proxy.get("/grace_hopper.jpg?faceblur/20/pad/9"), 400)
    assert message == "faceblur: pad must be a number from 0.5 to 4, got '9'"
    message = error_of(proxy.get("/grace_hopper.jpg?facemosaic/0"), 400)
    assert message == "facemosaic: cell must be a whole number from 2 to 500, got '0'"


def test_a_jpeg_answer_keeps_far_pixels_up_to_reencoding(proxy: Proxy, samples_dir: Path):
    source = decode((samples_dir / "grace_hopper.jpg").read_bytes())
    box = face_of(source)
    out = decode(proxy.get("/grace_hopper.jpg?faceblur/12").content)
    assert edge_variance(out, box) < 0.2 * edge_variance(source, box)
    far = np.abs(outside(out, box).astype(np.int16) - outside(source, box).astype(np.int16))
    assert far.mean() < 3
