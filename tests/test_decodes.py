"""Shrink-on-load: how many times, and at what scale, an op decodes its original."""

from __future__ import annotations

import pytest

from imgproxy.config import Settings
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging import decode as decoding
from imgproxy.pipeline import context, values
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import run
from imgproxy.pipeline.values import Encoded
from imgproxy.samples import jpeg_bytes, large_photo


@pytest.fixture(scope="module")
def twelve_megapixels() -> Encoded:
    return Encoded(jpeg_bytes(large_photo((4000, 3000)), quality=85), "image/jpeg")


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The sizes of every decode the pipeline makes."""
    sizes: list[tuple[int, int]] = []

    def counted(data: bytes, max_pixels: int, min_scale: float = 1.0) -> decoding.Decoded:
        decoded = decoding.decode(data, max_pixels, min_scale)
        sizes.append(decoded.image.size)
        return decoded

    monkeypatch.setattr(context, "decode", counted)
    return sizes


@pytest.mark.parametrize("query", ["facecrop2/200x200", "facedetect"])
def test_a_12_mp_photo_costs_one_reduced_decode(twelve_megapixels: Encoded, decodes, query: str):
    run(parse_pipeline(query, 30), twelve_megapixels, Context(Settings(), FaceFinder(0)))
    assert decodes == [(1000, 750)]


def test_a_cached_detection_leaves_only_the_crop_decode(twelve_megapixels: Encoded, decodes):
    ctx = Context(Settings(), FaceFinder(16))
    run(parse_pipeline("facecrop2/200x200", 30), twelve_megapixels, ctx)
    run(parse_pipeline("facecrop2/300x300", 30), twelve_megapixels, ctx)
    assert len(decodes) == 2 and all(size[0] <= 1000 for size in decodes)


@pytest.mark.parametrize("query", ["facecrop2/200x200", "imageMogr2/thumbnail/300x|imageView2/1/w/100/h/100"])
def test_a_pipeline_reads_its_originals_header_once(monkeypatch: pytest.MonkeyPatch, query: str):
    """The work check, the ops' sizes and their decodes all ask for the header: it is read once."""
    reads: list[int] = []

    def counted(data: bytes, max_pixels: int) -> decoding.Header:
        reads.append(max_pixels)
        return decoding.read_header(data, max_pixels)

    monkeypatch.setattr(values, "read_header", counted)
    original = Encoded(jpeg_bytes(large_photo((800, 600))), "image/jpeg")
    run(parse_pipeline(query, 30), original, Context(Settings(), FaceFinder(0)))
    assert len(reads) == 1
