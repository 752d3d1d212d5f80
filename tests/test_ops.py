"""The Qiniu image ops: imageView2, imageMogr2, imageInfo, exif, imageAve.

In-process tests (parse + run) check pixels; end-to-end tests request URLs that the official qiniu
SDK builds from the running proxy, as a client of Qiniu would.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import Proxy, error_of
from images import decode
from PIL import ExifTags, Image, ImageCms, ImageFilter, ImageSequence, TiffImagePlugin
from qiniu.services.processing.cmd import build_op, pipe_cmd

from imgproxy.config import Settings
from imgproxy.errors import BadRequest, ProxyError
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.encode import jpeg_quality
from imgproxy.pipeline import context as context_module
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import Result, run
from imgproxy.pipeline.values import Encoded
from imgproxy.samples import background, jpeg_bytes

# --- inputs -------------------------------------------------------------------------------------


def png_bytes(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", **options)
    return out.getvalue()


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Image.Image:
    """Every pixel different from its neighbours, so a crop or turn off by one pixel shows."""
    bands = len(mode)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], bands), dtype=np.uint8)
    return Image.fromarray(pixels, mode)


def gif_bytes(frames: list[Image.Image], durations: list[int]) -> bytes:
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return out.getvalue()


def animation(count: int, size: tuple[int, int] = (120, 80)) -> bytes:
    # Distinct frames: encoders merge identical neighbours.
    frames = [Image.new("RGB", size, (37 * i % 256, 255 - 11 * i % 256, 90 + i % 100)) for i in range(count)]
    return gif_bytes(frames, [100 * (1 + i % 5) for i in range(count)])


def with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 600D"
    exif[0x011A] = TiffImagePlugin.IFDRational(72, 1)
    exif[0x0128] = 2
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[0x829A] = TiffImagePlugin.IFDRational(1, 50)  # ExposureTime
    sub[0x829D] = TiffImagePlugin.IFDRational(56, 10)  # FNumber
    sub[0x8827] = 3200  # ISOSpeedRatings
    sub[0x9000] = b"0230"  # ExifVersion
    out = io.BytesIO()
    background((64, 48)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def alpha_png() -> bytes:
    """Left half transparent, right half opaque blue."""
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (150, 0, 300, 200))
    return png_bytes(image)


@pytest.fixture(scope="module")
def files(samples_dir: Path) -> dict[str, bytes]:
    """Inputs beside the session's sample photos, served by the session's proxy (names start with ops-)."""
    made = {
        "ops-landscape.jpg": jpeg_bytes(background((1200, 800), seed=5)),
        "ops-portrait.jpg": jpeg_bytes(background((600, 900), seed=6)),
        "ops-small.jpg": jpeg_bytes(background((150, 100), seed=7)),
        "ops-alpha.png": alpha_png(),
        "ops-anim.gif": animation(5),
        "ops-exif.jpg": with_exif(),
        "ops-q50.jpg": jpeg_bytes(background((600, 400), seed=8), quality=50),
    }
    for name, data in made.items():
        (samples_dir / name).write_bytes(data)
    return made


def process(data: bytes, text: str, settings: Settings | None = None) -> Result:
    settings = settings or Settings()
    return run(parse_pipeline(text, settings.max_pipeline_ops), Encoded(data, "image/unknown"), Context(settings, FaceFinder(0)))


def image_of(result: Result) -> Image.Image:
    return decode(result.body)


# --- sizes, end to end, with URLs the qiniu SDK builds -----------------------------------------

SOURCES = {"L": "ops-landscape.jpg", "P": "ops-portrait.jpg", "S": "ops-small.jpg"}  # 1200x800, 600x900, 150x100


@pytest.mark.parametrize(
    "source,mode,bounds,size",
    [
        ("L", 0, {"w": 300, "h": 300}, (300, 200)),
        ("P", 0, {"w": 300, "h": 200}, (200, 300)),
        ("S", 0, {"w": 300, "h": 300}, (150, 100)),
        ("L", 1, {"w": 200, "h": 200}, (200, 200)),
        ("P", 1, {"w": 200}, (200, 200)),
        ("S", 1, {"w": 100, "h": 400}, (100, 100)),
        ("L", 2, {"w": 200, "h": 200}, (200, 133)),
        ("P", 2, {"w": 200, "h": 200}, (133, 200)),
        ("S", 2, {"w": 200}, (150, 100)),
        ("L", 3, {"w": 200, "h": 200}, (300, 200)),
        ("P", 3, {"w": 200}, (200, 300)),
        ("S", 3, {"w": 300, "h": 300}, (150, 100)),
        ("L", 4, {"w": 300, "h": 100}, (300, 200)),
        ("P", 4, {"w": 300, "h": 100}, (200, 300)),
        ("S", 4, {"w": 300, "h": 200}, (150, 100)),
        ("L", 5, {"w": 300, "h": 100}, (300, 100)),
        ("P", 5, {"w": 300, "h": 100}, (100, 300)),
        ("S", 5, {"w": 300, "h": 200}, (150, 100)),
        ("L", 2, {}, (1200, 800)),
    ],
)
def test_imageview2_sizes(proxy: Proxy, files, source, mode, bounds, size):
    response = proxy.get(f"/{SOURCES[source]}?" + build_op("imageView2", str(mode), **bounds))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"].startswith("public, max-age=")
    assert decode(response.content).size == size


@pytest.mark.parametrize(
    "spec,sizes",
    [
        ("!50p", ((600, 400), (300, 450), (75, 50))),
        ("!33p", ((396, 264), (198, 297), (50, 33))),
        ("!50px", ((600, 800), (300, 900), (75, 100))),
        ("!x50p", ((1200, 400), (600, 450), (150, 50))),
        ("200x", ((200, 133), (200, 300), (200, 133))),
        ("x200", ((300, 200), (133, 200), (300, 200))),
        ("200x200", ((200, 133), (133, 200), (200, 133))),
        ("!200x200r", ((300, 200), (200, 300), (300, 200))),
        ("200x100!", ((200, 100), (200, 100), (200, 100))),
        ("200x200>", ((200, 133), (133, 200), (150, 100))),
        ("200x200<", ((1200, 800), (600, 900), (200, 133))),
        ("10000@", ((122, 81), (81, 122), (122, 81))),
    ],
)
def test_thumbnail_sizes(proxy: Proxy, files, spec, sizes):
    for name, size in zip(SOURCES.values(), sizes, strict=True):
        response = proxy.get(f"/{name}?" + build_op("imageMogr2", "auto-orient", thumbnail=spec))
        assert response.status_code == 200, (spec, name, response.text)
        assert decode(response.content).size == size, (spec, name)


def test_sdk_pipelines_chain_facecrop2_with_imageview2(proxy: Proxy):
    url = "/grace_hopper.jpg?" + pipe_cmd("facecrop2/400x400", build_op("imageView2", "2", w=200, format="webp"))
    response = proxy.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    out = decode(response.content)
    assert (out.format, out.size) == ("WEBP", (200, 200))


def test_auto_orient_turns_the_image_upright(proxy: Proxy):
    # rotated.jpg is stored 600x512 with EXIF orientation 8 (test_orientation.py has the rest).
    response = proxy.get("/rotated.jpg?imageMogr2/auto-orient/thumbnail/!50p")
    assert Image.open(io.BytesIO(response.content)).size == (256, 300)
    assert proxy.get("/rotated.jpg?imageInfo").json()["width"] == 600


def test_equal_pipelines_share_an_etag(proxy: Proxy, files):
    a = proxy.get("/ops-landscape.jpg?imageMogr2/quality/80/auto-orient/thumbnail/!50p")
    b = proxy.get("/ops-landscape.jpg?imageMogr2/auto-orient/thumbnail/!50p/quality/80")
    assert a.status_code == b.status_code == 200
    assert a.headers["etag"] == b.headers["etag"] and a.content == b.content


# --- pixels --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gravity,origin",
    [
        ("NorthWest", (0, 0)),
        ("North", (100, 0)),
        ("NorthEast", (200, 0)),
        ("West", (0, 75)),
        ("Center", (100, 75)),
        ("East", (200, 75)),
        ("SouthWest", (0, 150)),
        ("South", (100, 150)),
        ("SouthEast", (200, 150)),
    ],
)
def test_crop_gravity_grid_cuts_exact_pixels(gravity, origin):
    source = noise((300, 200))
    out = image_of(process(png_bytes(source), f"imageMogr2/gravity/{gravity}/crop/100x50"))
    left, top = origin
    assert out.size == (100, 50)
    assert np.array_equal(np.asarray(out), np.asarray(source)[top : top + 50, left : left + 100])


def test_crop_offsets_and_thumbnail_then_crop():
    source = noise((300, 200))
    out = image_of(process(png_bytes(source), "imageMogr2/crop/!100x50a10a20"))
    assert np.array_equal(np.asarray(out), np.asarray(source)[20:70, 10:110])
    # the centre 50x50 of the 150x100 half-size image, in one resample (test_qiniu_conformance has the other order)
    out = image_of(process(png_bytes(source), "imageMogr2/thumbnail/!50p/gravity/Center/crop/50x50"))
    half = source.resize((150, 100), Image.Resampling.LANCZOS)
    assert out.size == (50, 50)
    assert np.abs(np.asarray(out, dtype=int) - np.asarray(half, dtype=int)[25:75, 50:100]).mean() < 3


@pytest.mark.parametrize("degrees,turns", [(90, -1), (180, 2), (270, 1), (360, 0)])
def test_right_angle_rotations_are_exact_and_clockwise(degrees, turns):
    source = noise((30, 20))
    out = image_of(process(png_bytes(source), f"imageMogr2/rotate/{degrees}"))
    assert np.array_equal(np.asarray(out), np.rot90(np.asarray(source), k=turns))


def test_other_rotations_grow_the_canvas_and_fill_the_corners():
    data = jpeg_bytes(Image.new("RGB", (100, 50), (0, 128, 0)))
    png = image_of(process(data, "imageMogr2/rotate/45/format/png"))
    assert png.size == (107, 107) and png.mode == "RGBA"
    assert png.getpixel((0, 0))[3] == 0 and png.getpixel((53, 53))[3] == 255
    jpeg = image_of(process(data, "imageMogr2/rotate/45"))
    assert jpeg.size == (107, 107) and min(jpeg.getpixel((0, 0))) > 245  # white, as ImageMagick fills
    red = base64.urlsafe_b64encode(b"red").decode()
    filled = image_of(process(data, f"imageMogr2/rotate/45/background/{red}/format/png"))
    assert filled.getpixel((0, 0))[:3] == (255, 0, 0)


def test_blur_smooths():
    checker = Image.fromarray(((np.indices((64, 64)).sum(axis=0) % 2) * 255).astype(np.uint8)).convert("RGB")
    out = np.asarray(image_of(process(png_bytes(checker), "imageMogr2/blur/5x3/format/png")), dtype=int)
    assert abs(out[20:44, 20:44].mean() - 127.5) < 3 and out[20:44, 20:44].std() < 3


@pytest.mark.parametrize(
    "name,pillow,content_type",
    [
        ("jpg", "JPEG", "image/jpeg"),
        ("png", "PNG", "image/png"),
        ("webp", "WEBP", "image/webp"),
        ("gif", "GIF", "image/gif"),
    ],
)
def test_format_conversion(proxy: Proxy, files, name, pillow, content_type):
    for op in (build_op("imageView2", "2", w=100, format=name), build_op("imageMogr2", None, format=name)):
        response = proxy.get("/ops-landscape.jpg?" + op)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == content_type
        assert decode(response.content).format == pillow


def test_default_format_is_the_source_format(files):
    assert image_of(process(files["ops-alpha.png"], "imageView2/2/w/100")).format == "PNG"
    assert image_of(process(files["ops-anim.gif"], "imageView2/2/w/100")).format == "GIF"


def test_interlace_makes_progressive_jpegs(files):
    assert image_of(process(files["ops-landscape.jpg"], "imageView2/2/w/200/interlace/1")).info.get("progressive")
    assert image_of(process(files["ops-landscape.jpg"], "imageMogr2/interlace/1")).info.get("progressive")
    assert not image_of(process(files["ops-landscape.jpg"], "imageView2/2/w/200")).info.get("progressive")


def test_alpha_is_kept_or_flattened_onto_the_background(files):
    png = image_of(process(files["ops-alpha.png"], "imageMogr2/thumbnail/!50p"))
    assert png.mode == "RGBA" and png.getpixel((10, 10))[3] == 0
    jpeg = image_of(process(files["ops-alpha.png"], "imageMogr2/format/jpg"))
    assert min(jpeg.getpixel((10, 10))) > 245  # white by default
    black = base64.urlsafe_b64encode(b"#000000").decode().rstrip("=")
    flat = image_of(process(files["ops-alpha.png"], f"imageMogr2/background/{black}/format/png"))
    assert flat.mode == "RGB" and flat.getpixel((10, 10)) == (0, 0, 0) and flat.getpixel((200, 10)) == (0, 0, 255)


def test_quality_is_capped_by_the_source_unless_forced(files):
    source = files["ops-q50.jpg"]  # 600x400 at quality 50
    assert jpeg_quality(process(source, "imageMogr2/quality/90").body) == 50  # same size: the source's
    # 400x267: 50 * sqrt(600*400 / (400*267)) = 74.95
    assert jpeg_quality(process(source, "imageView2/2/w/400/q/90").body) == 75
    assert jpeg_quality(process(source, "imageView2/2/w/400/q/90!").body) == 90
    # 150x100: 50 * 4 = 200, at most 90, so the requested 85 stands
    assert jpeg_quality(process(source, "imageView2/2/w/150/q/85").body) == 85
    assert jpeg_quality(process(source, "imageMogr2/quality/30").body) == 30
    assert jpeg_quality(process(files["ops-landscape.jpg"], "imageMogr2/thumbnail/!50p").body) == 75  # the default


def test_size_limit_lowers_quality_until_it_fits(samples_dir: Path):
    photo = (samples_dir / "grace_hopper.jpg").read_bytes()
    limited = process(photo, "imageMogr2/quality/95/size-limit/15k").body
    assert len(limited) <= 15 * 1024 and decode(limited).size == (512, 600)
    # '!': when the result is not smaller than the input, the input is the answer
    small = jpeg_bytes(decode(photo), quality=20)
    assert process(small, "imageMogr2/quality/95!/size-limit/1000k!").body == small


def test_strip_drops_the_colour_profile():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    background((80, 60)).save(out, "JPEG", icc_profile=icc)
    assert image_of(process(out.getvalue(), "imageMogr2/thumbnail/40x")).info.get("icc_profile") == icc
    assert "icc_profile" not in image_of(process(out.getvalue(), "imageMogr2/thumbnail/40x/strip")).info


# --- animations ----------------------------------------------------------------------------------


def frames_of(data: bytes) -> list[Image.Image]:
    return [frame.copy() for frame in ImageSequence.Iterator(Image.open(io.BytesIO(data)))]


def test_animated_gif_in_animated_gif_out(proxy: Proxy, files):
    response = proxy.get("/ops-anim.gif?" + build_op("imageMogr2", None, thumbnail="60x", rotate=90))
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
    frames = frames_of(response.content)
    assert len(frames) == 5 and {frame.size for frame in frames} == {(40, 60)}
    assert [frame.info["duration"] for frame in frames] == [100, 200, 300, 400, 500]
    # every frame was worked on, not only the first: each keeps its own colour
    colours = [frame.convert("RGB").getpixel((20, 30)) for frame in frames]
    assert len(set(colours)) == 5


def test_animations_convert_to_animated_webp_and_to_a_still_jpeg(files):
    webp = process(files["ops-anim.gif"], "imageView2/1/w/50/format/webp").body
    assert len(frames_of(webp)) == 5 and decode(webp).size == (50, 50)
    jpeg = decode(process(files["ops-anim.gif"], "imageView2/1/w/50/format/jpg").body)
    assert (jpeg.format, jpeg.size, getattr(jpeg, "n_frames", 1)) == ("JPEG", (50, 50), 1)


def test_too_many_frames_answers_the_original_as_qiniu_does():
    data = animation(301, (4, 4))
    for query in ("imageMogr2/thumbnail/2x", "imageView2/2/w/2/format/png", "imageMogr2/thumbnail/2x|imageView2/2/w/1"):
        assert process(data, query).body == data, query
    # the JSON ops after it describe the original
    assert json.loads(process(data, "imageMogr2/thumbnail/2x|imageInfo").body)["frameNumber"] == 301
    # the privacy ops may not show the faces they were asked to hide
    with pytest.raises(BadRequest, match=r"faceblur: the image has 301 frames, over the limit of 300"):
        process(data, "faceblur/5")


def test_animation_output_pixels_count_every_frame():
    with pytest.raises(BadRequest, match=r"thumbnail/4000x gives 4000x2667 x 5 frames, over the limit of 25 MP"):
        process(animation(5), "imageMogr2/thumbnail/4000x")


# --- shrink on load ------------------------------------------------------------------------------


def test_large_jpegs_decode_at_a_reduced_scale_and_stay_sharp(samples_dir: Path, monkeypatch: pytest.MonkeyPatch):
    data = (samples_dir / "large.jpg").read_bytes()  # 4000x3000
    decoded_sizes = []
    real_decode = context_module.decode

    def spy(*args, **kwargs):
        decoded = real_decode(*args, **kwargs)
        decoded_sizes.append(decoded.image.size)
        return decoded

    monkeypatch.setattr(context_module, "decode", spy)
    out = image_of(process(data, "imageView2/2/w/200/format/png"))  # lossless, to compare pixels
    assert out.size == (200, 150)
    assert decoded_sizes == [(500, 375)]  # libjpeg's 1/8 scale: the least work that still leaves >= 200x150

    # As sharp as LANCZOS from the full decode: the same pixels to within a level, the same edge energy.
    reference = decode(data).resize((200, 150), Image.Resampling.LANCZOS)
    assert np.abs(np.asarray(out, dtype=int) - np.asarray(reference, dtype=int)).mean() < 1

    def edges(image: Image.Image) -> float:
        return float(np.asarray(image.convert("L").filter(ImageFilter.FIND_EDGES), dtype=float)[2:-2, 2:-2].var())

    assert edges(out) > 0.95 * edges(reference)


# --- JSON ops ------------------------------------------------------------------------------------


def test_imageinfo(proxy: Proxy, files):
    response = proxy.get("/ops-landscape.jpg?imageInfo")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "size": len(files["ops-landscape.jpg"]),
        "format": "jpeg",
        "width": 1200,
        "height": 800,
        "colorModel": "ycbcr",
    }
    gif = proxy.get("/ops-anim.gif?imageInfo").json()
    assert (gif["format"], gif["width"], gif["height"], gif["frameNumber"]) == ("gif", 120, 80, 5)
    assert gif["colorModel"].startswith("palette")
    png = proxy.get("/ops-alpha.png?imageInfo").json()
    assert (png["format"], png["colorModel"]) == ("png", "nrgba") and "frameNumber" not in png
    # after an image op: what that op answers
    chained = proxy.get("/ops-landscape.jpg?" + pipe_cmd(build_op("imageView2", "2", w=100, format="png"), "imageInfo"))
    assert chained.json() | {"size": 0} == {"size": 0, "format": "png", "width": 100, "height": 67, "colorModel": "rgba"}


def test_exif(proxy: Proxy, files):
    response = proxy.get("/ops-exif.jpg?exif")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    tags = response.json()
    assert tags["Make"] == {"val": "Canon", "type": 2}
    assert tags["Model"] == {"val": "Canon EOS 600D", "type": 2}
    assert tags["XResolution"] == {"val": "72", "type": 5}
    assert tags["ResolutionUnit"] == {"val": "Inch", "type": 3}
    assert tags["ExposureTime"] == {"val": "1/50 sec.", "type": 5}
    assert tags["FNumber"] == {"val": "f/5.6", "type": 5}
    assert tags["ISOSpeedRatings"] == {"val": "3200", "type": 3}
    assert tags["ExifVersion"] == {"val": "Exif Version 2.3", "type": 7}


def test_no_exif_is_a_422(proxy: Proxy, files):
    assert error_of(proxy.get("/ops-landscape.jpg?exif"), 422) == "exif: no exif data"
    assert error_of(proxy.get("/ops-alpha.png?exif"), 422) == "exif: no exif data"
    # answers of image ops carry no EXIF
    assert error_of(proxy.get("/ops-exif.jpg?imageView2/2/w/10|exif"), 422) == "exif: no exif data"


def test_imageave(proxy: Proxy, files, samples_dir: Path):
    (samples_dir / "ops-colour.png").write_bytes(png_bytes(Image.new("RGB", (64, 64), (0x12, 0x80, 0xFE))))
    response = proxy.get("/ops-colour.png?imageAve")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert response.json() == {"RGB": "0x1280fe"}
    # transparent pixels have no colour: the opaque blue half is the mean
    assert proxy.get("/ops-alpha.png?imageAve").json() == {"RGB": "0x0000ff"}
    # a JPEG averaged from its 1/8 scale decode matches the full mean
    photo = decode(files["ops-landscape.jpg"]).convert("RGB")
    expected = np.asarray(photo, dtype=float).reshape(-1, 3).mean(axis=0)
    got = bytes.fromhex(proxy.get("/ops-landscape.jpg?imageAve").json()["RGB"][2:])
    assert np.abs(np.array(list(got)) - expected).max() <= 1


def test_json_ops_need_an_image_before_them():
    with pytest.raises(BadRequest, match=r"imageView2: needs an image, but the op before it answers JSON"):
        process(jpeg_bytes(background((20, 20))), "imageInfo|imageView2/2/w/10")


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query,message",
    [
        ("imageView2", "imageView2: expected 1 leading argument(s), got 0"),
        ("imageView2/6/w/100", "imageView2: mode must be a whole number from 0 to 5, got '6'"),
        ("imageView2/2/w/0", "imageView2: w must be a whole number from 1 to 9999, got '0'"),
        ("imageView2/2/w/10000", "imageView2: w must be a whole number from 1 to 9999, got '10000'"),
        (
            "imageView2/2/format/svg",
            "imageView2: format must be one of jpg, png, webp, gif, bmp, tiff, avif, heic, jpeg, got 'svg'",
        ),
        ("imageView2/2/q/101", "imageView2: q must be a whole number from 1 to 100, optionally followed by '!', got '101'"),
        ("imageView2/2/interlace/2", "imageView2: interlace must be 0 or 1, got '2'"),
        ("imageView2/2/x/1", "imageView2: unknown argument 'x'"),
        (
            "imageMogr2/thumbnail/0x100",
            "imageMogr2: thumbnail must be !<N>p, !<N>px, !x<N>p, <W>x, x<H>, <W>x<H>, "
            "!<W>x<H>r, <W>x<H>!, <W>x<H>>, <W>x<H>< or <N>@ (sizes from 1, N% from 1 to 999), got '0x100'",
        ),
        (
            "imageMogr2/crop/abc",
            "imageMogr2: crop must be <W>x, x<H>, <W>x<H> or !<W>x<H>a<dx>a<dy> (a: right or down, -: left or up), got 'abc'",
        ),
        (
            "imageMogr2/gravity/Middle/crop/10x10",
            "imageMogr2: gravity must be one of NorthWest, North, NorthEast, West, Center, "
            "East, SouthWest, South, SouthEast, face, faces, got 'Middle'",
        ),
        ("imageMogr2/rotate/361", "imageMogr2: rotate must be a whole number from 1 to 360, got '361'"),
        (
            "imageMogr2/blur/51x2",
            "imageMogr2: blur must be <radius>x<sigma> with radius from 1 to 50 and sigma above 0, got '51x2'",
        ),
        (
            "imageMogr2/blur/3x0",
            "imageMogr2: blur must be <radius>x<sigma> with radius from 1 to 50 and sigma above 0, got '3x0'",
        ),
        ("imageMogr2/quality/0", "imageMogr2: quality must be a whole number from 1 to 100, optionally followed by '!', got '0'"),
        ("imageMogr2/size-limit/15", "imageMogr2: size-limit must be <N>k or <N>m, optionally followed by '!', got '15'"),
        (
            "imageMogr2/background/!!",
            "imageMogr2: background must be the URL-safe base64 of a colour name or #RRGGBB[AA], got '!!'",
        ),
        ("imageMogr2/format/png/format/jpg", "imageMogr2: format is given twice"),  # a step given twice acts twice
        ("imageInfo/1", "imageInfo: unknown argument '1'"),
        ("|".join(["imageView2/2/w/10"] * 31), "pipeline has 31 ops, over the limit of 30"),
    ],
)
def test_bad_arguments_are_400s_naming_the_op_and_argument(proxy: Proxy, files, query, message):
    assert error_of(proxy.get(f"/ops-small.jpg?{query}"), 400) == message


def test_thirty_ops_are_fine(proxy: Proxy, files):
    response = proxy.get("/ops-small.jpg?" + pipe_cmd(*[build_op("imageMogr2", None, rotate=90)] * 30))
    assert response.status_code == 200 and decode(response.content).size == (150, 100)


@pytest.mark.parametrize(
    "query,message",
    [
        ("imageMogr2/thumbnail/!999p", "imageMogr2: thumbnail/!999p gives 11988x7992, over the limit of 9999 px a side"),
        ("imageMogr2/thumbnail/9000x", "imageMogr2: thumbnail/9000x gives 9000x6000, over the limit of 25 MP"),
        ("imageMogr2/thumbnail/9990x500!/rotate/3", "imageMogr2: rotate/3 gives 10003x1023, over the limit of 9999 px a side"),
        ("imageMogr2/thumbnail/x4000/rotate/45", "imageMogr2: rotate/45 gives 7072x7072, over the limit of 25 MP"),
        ("imageMogr2/crop/!10x10a5000a5000", "imageMogr2: crop !10x10a5000a5000 leaves nothing of the 1200x800 image"),
    ],
)
def test_outputs_over_the_limits_are_400s(proxy: Proxy, files, query, message):
    assert error_of(proxy.get(f"/ops-landscape.jpg?{query}"), 400) == message


def test_ignore_error_passes_the_previous_output_on(proxy: Proxy, files):
    response = proxy.get("/ops-landscape.jpg?imageMogr2/crop/!10x10a5000a5000/ignore-error/1")
    assert response.status_code == 200 and response.content == files["ops-landscape.jpg"]
    chained = pipe_cmd(
        build_op("imageView2", "2", w=100),
        build_op("imageMogr2", None, crop="!10x10a5000a5000", **{"ignore-error": 1}),
        "imageInfo",
    )
    assert proxy.get(f"/ops-landscape.jpg?{chained}").json()["width"] == 100
    # facecrop2 failing (no face) passes the original on to the next op
    response = proxy.get("/no_face.jpg?" + pipe_cmd("facecrop2/200x200/ignore-error/1", build_op("imageView2", "2", w=100)))
    assert response.status_code == 200 and decode(response.content).size == (100, 67)  # the 600x400 original


def test_errors_inside_pipelines_without_ignore_error_stop_them():
    with pytest.raises(ProxyError):
        process(jpeg_bytes(background((100, 100))), "imageView2/2/w/50|imageMogr2/crop/!10x10a500a500|imageInfo")


@pytest.mark.parametrize(
    "text,canonical",
    [
        ("imageView2/2/w/200/q/75/interlace/0", "imageView2/2/w/200/q/75"),
        ("imageView2/1/h/50/w/100/format/jpeg/ignore-error/1", "imageView2/1/w/100/h/50/format/jpg/ignore-error/1"),
        ("imageMogr2/rotate/360/gravity/South/auto-orient", "imageMogr2/auto-orient"),
        (
            "imageMogr2/size-limit/1m!/blur/3x1.50/crop/10x/gravity/south",
            "imageMogr2/blur/3x1.5/crop/10x/size-limit/1024k!",  # URL order; the gravity after the crop places nothing
        ),
        ("imageMogr2/background/" + base64.urlsafe_b64encode(b"red").decode(), "imageMogr2/background/I2ZmMDAwMGZm"),
    ],
)
def test_canonical_spelling(text, canonical):
    assert parse_pipeline(text, 30).canonical() == canonical


def test_facecrop2_keeps_the_output_limits_like_every_op(samples_dir: Path):
    """The configured output limits bind facecrop2 too, checked before any face is looked for."""
    original = Encoded((samples_dir / "grace_hopper.jpg").read_bytes(), "image/jpeg")
    small = Settings(max_output_side=150, max_output_pixels=20_000)
    with pytest.raises(BadRequest, match=r"^facecrop2: 200x100 gives 200x100, over the limit of 150 px a side$"):
        run(parse_pipeline("facecrop2/200x100", 30), original, Context(small, FaceFinder(0)))
    with pytest.raises(BadRequest, match=r"^facecrop2: 150x150 gives 150x150, over the limit of 0.02 MP$"):
        run(parse_pipeline("facecrop2/150x150", 30), original, Context(small, FaceFinder(0)))
