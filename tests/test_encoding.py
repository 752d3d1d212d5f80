"""What the answers are written as: optimized JPEGs, size-limit's promise, the output formats, and
what a HEIC source (read, never written) becomes."""

from __future__ import annotations

import io
import json

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from imgproxy.config import Settings
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.encode import encode, within
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import Result, run
from imgproxy.pipeline.values import Encoded
from imgproxy.samples import background, grace_hopper, jpeg_bytes, sample_files

SAMPLES = sample_files()


def process(data: bytes, text: str) -> Result:
    settings = Settings()
    return run(parse_pipeline(text, settings.max_pipeline_ops), Encoded(data, "image/unknown"), Context(settings, FaceFinder(0)))


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- optimized JPEGs -----------------------------------------------------------------------------


def test_jpegs_are_written_with_optimized_huffman_tables():
    image = opened(SAMPLES["grace_hopper.jpg"])
    plain, optimized = io.BytesIO(), io.BytesIO()
    image.save(plain, "JPEG", quality=30, comment=b"")
    image.save(optimized, "JPEG", quality=30, optimize=True, comment=b"")  # answers drop the source's comment
    written = encode(image, "JPEG", 30)
    assert written == optimized.getvalue()
    assert len(written) < len(plain.getvalue())


# --- size-limit ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("grace_hopper.jpg", "3k"),  # under quality 1's 4.2 KiB: the fallback
        ("grace_hopper.jpg", "5k"),  # 5,196 bytes before JPEGs were optimized
        ("grace_hopper.jpg", "8k"),
        ("grace_hopper.jpg", "15k"),
        ("grace_hopper.jpg", "30k"),
        ("grace_hopper.jpg", "1m"),  # the answer at its own quality already fits
        ("large.jpg", "60k"),  # under quality 1's 89 KiB: the fallback
        ("large.jpg", "200k"),
        ("large.jpg", "400k"),
    ],
)
@pytest.mark.parametrize("format", ["jpg", "webp"])
def test_size_limit_answers_within_the_limit_or_at_quality_1(name: str, limit: str, format: str):
    source = SAMPLES[name]
    limited = process(source, f"imageMogr2/format/{format}/size-limit/{limit}").body
    bytes_limit = int(limit[:-1]) * (1024 if limit.endswith("k") else 1024**2)
    smallest = process(source, f"imageMogr2/format/{format}/quality/1!").body
    if len(smallest) <= bytes_limit:
        assert len(limited) <= bytes_limit
    else:  # Qiniu's limit is a target: nothing fits, so the smallest answer there is
        assert limited == smallest
    assert opened(limited).size == opened(source).size


def test_size_limit_takes_the_highest_quality_that_fits():
    sizes = {quality: 100 + 10 * quality for quality in range(1, 101)}  # 110 bytes at 1 ... 850 at 75

    def write(quality: int) -> bytes:
        return bytes(sizes[quality])

    assert len(within(500, 75, write)) == 500  # quality 40
    assert len(within(505, 75, write)) == 500
    assert len(within(1000, 75, write)) == 850  # its own quality fits
    assert len(within(50, 75, write)) == 110  # nothing fits: quality 1's
    sizes[1] = 900  # an encoder quirk: quality 1 larger than 2
    assert len(within(50, 75, write)) == 120  # the smallest tried


def test_size_limit_leaves_lossless_formats_alone():
    data = encode(background((120, 80), seed=3), "PNG", 75)
    assert process(data, "imageMogr2/size-limit/1k").body == process(data, "imageMogr2/quality/75").body


# --- BMP and TIFF --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "format", "content_type"), [("bmp", "BMP", "image/bmp"), ("tiff", "TIFF", "image/tiff")])
def test_bmp_and_tiff_are_written(name: str, format: str, content_type: str):
    for op in (f"imageView2/2/w/100/format/{name}", f"imageMogr2/thumbnail/100x/format/{name}"):
        result = process(SAMPLES["grace_hopper.jpg"], op)
        assert result.content_type == content_type
        image = opened(result.body)
        assert (image.format, image.size, image.mode) == (format, (100, 117), "RGB")


@pytest.mark.parametrize(("format", "content_type"), [("BMP", "image/bmp"), ("TIFF", "image/tiff")])
def test_bmp_and_tiff_sources_keep_their_format(format: str, content_type: str):
    out = io.BytesIO()
    background((120, 80), seed=4).save(out, format)
    result = process(out.getvalue(), "imageView2/2/w/60")
    assert result.content_type == content_type
    assert (opened(result.body).format, opened(result.body).size) == (format, (60, 40))
    assert process(out.getvalue(), "imageView2/2/w/60/format/png").content_type == "image/png"


def test_a_bmp_answer_is_flattened_on_white():
    out = io.BytesIO()
    Image.new("RGBA", (20, 10), (255, 0, 0, 0)).save(out, "PNG")
    image = opened(process(out.getvalue(), "imageMogr2/format/bmp").body)
    assert image.mode == "RGB" and image.getpixel((5, 5)) == (255, 255, 255)


# --- HEIC sources --------------------------------------------------------------------------------


def heic(image: Image.Image, orientation: int | None = None) -> bytes:
    """`image` as a phone writes it; with `orientation`, turned by the container (pillow-heif moves
    an EXIF orientation into the HEIF rotation and mirroring properties, as phones write them)."""
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    pillow_heif.from_pillow(image).save(out, quality=80, exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture(scope="module")
def hopper_heic() -> bytes:
    return heic(grace_hopper())


def test_image_info_reads_a_heic_header(hopper_heic: bytes):
    info = json.loads(process(hopper_heic, "imageInfo").body)
    assert info == {"size": len(hopper_heic), "format": "heic", "width": 512, "height": 600, "colorModel": "ycbcr"}


def test_a_heic_is_answered_as_a_jpeg_browsers_can_show(hopper_heic: bytes):
    for op in ("imageView2/2/w/100", "imageMogr2/thumbnail/100x"):
        result = process(hopper_heic, op)
        assert result.content_type == "image/jpeg", op
        assert (opened(result.body).format, opened(result.body).size) == ("JPEG", (100, 117)), op
    assert process(hopper_heic, "imageView2/2/w/100/format/webp").content_type == "image/webp"


def test_format_heic_writes_a_heic_that_looks_like_the_source():
    result = process(jpeg_bytes(grace_hopper()), "imageView2/2/w/200/format/heic")
    image = opened(result.body)
    assert (result.content_type, image.format, image.size) == ("image/heic", "HEIF", (200, 234))
    reference = np.asarray(grace_hopper().convert("RGB").resize((200, 234)), dtype=np.float32)
    assert float(np.abs(np.asarray(image.convert("RGB"), dtype=np.float32) - reference).mean()) < 8


def test_size_limit_lowers_a_heics_quality_under_the_limit():
    result = process(jpeg_bytes(grace_hopper()), "imageMogr2/format/heic/size-limit/10k")
    assert result.content_type == "image/heic" and len(result.body) <= 10 * 1024
    assert opened(result.body).size == (512, 600)


# How a camera stores a photo that its orientation turns upright (Pillow's ROTATE_90 turns anticlockwise).
STORED_TURNED = {None: None, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", sorted(STORED_TURNED, key=str))
def test_facecrop2_finds_the_face_in_a_heic_upright(orientation: int | None):
    turn = STORED_TURNED[orientation]
    data = heic(grace_hopper() if turn is None else grace_hopper().transpose(turn), orientation)
    settings = Settings(debug_headers=True)
    result = run(parse_pipeline("facecrop2/200x200", 30), Encoded(data, "image/heic"), Context(settings, FaceFinder(0)))
    assert result.content_type == "image/jpeg" and result.headers["X-Crop-Reason"] == "faces"
    assert opened(result.body).size == (200, 200)
    # the pixels are upright whatever the container turned: the same crop as the upright photo's
    if orientation:
        upright = process(heic(grace_hopper()), "imageView2/2/w/100").body
        turned = process(data, "imageView2/2/w/100").body
        assert opened(turned).size == (100, 117)
        assert mean_difference(opened(turned), opened(upright)) < 8
        stored = Image.open(io.BytesIO(data))
        assert ImageOps.exif_transpose(stored).size == stored.size == (512, 600)


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return float(ImageStat.Stat(ImageChops.difference(a.convert("L"), b.convert("L"))).mean[0])


XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b"<rdf:Description>xmp-of-the-source</rdf:Description></rdf:RDF></x:xmpmeta>"
)


@pytest.mark.parametrize("source", ["JPEG", "GIF"])
@pytest.mark.parametrize("written", ["jpg", "png", "webp", "gif", "bmp", "tiff", "avif"])
def test_no_answer_carries_the_sources_comment_or_xmp(source: str, written: str):
    """Pillow copies a JPEG's or GIF's comment into what it writes: a camera's or a person's name."""
    original = io.BytesIO()
    extra = {"xmp": XMP} if source == "JPEG" else {}
    Image.new("RGB", (300, 200), (120, 80, 40)).save(original, source, comment=b"comment-of-the-source", **extra)
    assert b"comment-of-the-source" in original.getvalue()
    answer = process(original.getvalue(), f"imageView2/2/w/100/format/{written}").body
    assert b"comment-of-the-source" not in answer and b"xmp-of-the-source" not in answer
