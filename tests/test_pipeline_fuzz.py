"""Random pipelines on real images: each one answers or fails with a clear ProxyError, never a crash."""

from __future__ import annotations

import io

import pillow_heif
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from images import endless_eps, frame_bomb_gif, gif_outgrowing_screen, ico_around_png, jpeg_with_broken_metadata, scan_bomb_jpeg

from imgproxy.config import Settings
from imgproxy.errors import ProxyError
from imgproxy.faces.finder import FaceFinder
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.registry import PARSERS
from imgproxy.pipeline.run import run
from imgproxy.pipeline.values import Encoded
from imgproxy.samples import grace_hopper, jpeg_bytes

# Values near and past the ops' limits, and garbage, for the keys each op really takes. Not
# formatted: one a line would stretch these 54 over 58 lines.
VALUES = [
    "0", "1", "2", "5", "6", "80", "9999", "10000", "-1", "200x200", "1x1", "9999x9999", "0x10", "!50p",
    "!999p", "!50px", "!x50p", "200x", "x200", "30x20!", "30x20>", "30x20<", "!30x20r", "!20x20a5a5",
    "!20x20-5-5", "100@", "30x2", "75!", "10k", "1m", "jpg", "png", "webp", "gif", "bmp", "Center",
    "SouthEast", "cmVk", "I0ZGMDAwMDgw", "", " ", "%00", "é", "x", "99999999999999999999",
    # Digits that str.isdigit() or a regex's \d accept and int() rejects or reads: superscripts,
    # circled and Arabic-Indic digits; and a number int() refuses to read (over 4,300 digits).
    "²", "①", "٣", "²x²", "٣x٣", "\u0661\u0660\u0660x\u0661\u0660\u0660", "9" * 5000, "9" * 5000 + "x1",
    "!" + "9" * 5000 + "p",
]  # fmt: skip
GRAMMAR = {  # op -> (leading argument or None, keys that take a value, bare flags)
    "facecrop2": ("size", ("pad", "faces", "fallback"), ()),
    "facedetect": (None, ("landmarks", "attributes", "max", "minsize", "rotate", "draw", "crop", "pad", "faces", "fallback"), ()),
    "faceblur": ("sigma", ("pad",), ()),
    "facemosaic": ("cell", ("pad",), ()),
    "imageView2": ("mode", ("w", "h", "format", "interlace", "q"), ()),
    "imageMogr2": (
        None,
        (
            "thumbnail",
            "gravity",
            "crop",
            "rotate",
            "blur",
            "sharpen",
            "extent",
            "format",
            "quality",
            "interlace",
            "background",
            "size-limit",
        ),
        ("auto-orient", "strip"),
    ),
    "imageInfo": (None, (), ()),
    "exif": (None, (), ()),
    "imageAve": (None, (), ()),
}

# Values each key takes when it is spelled right, drawn most of the time so most pipelines run.
VALID = {
    "size": ["40x30", "100x100", "128x150", "64x120"],
    "pad": ["0.5", "1", "2.5"],
    "faces": ["largest", "all", "2"],
    "fallback": ["error", "center", "attention", "original"],
    "sigma": ["1", "20"],
    "cell": ["2", "12"],
    "mode": ["0", "1", "2", "3", "4", "5"],
    "w": ["1", "50", "120", "400"],
    "h": ["1", "60", "200"],
    "format": ["jpg", "png", "webp", "gif", "bmp", "tiff"],
    "interlace": ["0", "1"],
    "q": ["1", "75", "100!"],
    "quality": ["30", "90!"],
    "thumbnail": ["!50p", "60x", "x40", "50x50!", "900@"],
    "gravity": ["Center", "SouthEast", "North", "face", "faces"],
    "crop": ["40x40", "!20x20a5a5", "x30"],
    "rotate": ["90", "33", "1", "0"],
    "blur": ["3x2", "1x1"],
    "sharpen": ["0", "1"],
    "extent": ["60x60", "30x90"],
    "background": ["cmVk"],
    "size-limit": ["3k", "20k!"],
    "landmarks": ["0", "1"],
    "attributes": ["0", "1"],
    "max": ["1", "3"],
    "minsize": ["16", "40"],
    "draw": ["0", "1"],
    "ignore-error": ["0", "1"],
}


def value_for(draw: st.DrawFn, key: str) -> str:
    valid = VALID.get(key, [])
    return draw(st.sampled_from(valid)) if valid and draw(st.integers(0, 9)) < 8 else draw(st.sampled_from(VALUES))


@st.composite
def ops(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(GRAMMAR)))
    leading, keys, flags = GRAMMAR[name]
    parts = [name]
    if leading:
        parts.append(value_for(draw, leading))
    for key in draw(st.lists(st.sampled_from([*keys, *flags, "ignore-error", "bogus"]), max_size=3, unique=True)):
        parts += [key] if key in flags else [key, value_for(draw, key)]
    return "/".join(parts)


pipelines = st.lists(ops(), min_size=1, max_size=3).map("|".join)


def png_with_alpha() -> bytes:
    out = io.BytesIO()
    grace_hopper().resize((96, 112)).convert("RGBA").save(out, "PNG")
    return out.getvalue()


def animated_gif() -> bytes:
    out = io.BytesIO()
    frames = [grace_hopper().resize((48, 56)).rotate(angle) for angle in (0, 10, 20)]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return out.getvalue()


def heic_with_alpha() -> bytes:
    out = io.BytesIO()
    pillow_heif.from_pillow(grace_hopper().resize((96, 112)).convert("RGBA")).save(out, quality=50)
    return out.getvalue()


ORIGINALS = {
    "jpeg": Encoded(jpeg_bytes(grace_hopper().resize((128, 150)), orientation=6), "image/jpeg"),
    "png": Encoded(png_with_alpha(), "image/png"),
    "gif": Encoded(animated_gif(), "image/gif"),
    "html": Encoded(b"<html>not an image</html>", "image/jpeg"),
    "scan-bomb": Encoded(scan_bomb_jpeg(1024, 200), "image/jpeg"),
    "gif-frame-bomb": Encoded(gif_outgrowing_screen(), "image/gif"),
    "heic": Encoded(heic_with_alpha(), "image/heic"),
    "gif-over-frame-limit": Encoded(frame_bomb_gif(301, 16), "image/gif"),
    "ico": Encoded(ico_around_png(), "image/x-icon"),
    "eps": Encoded(endless_eps(), "application/postscript"),
    "broken-metadata": Encoded(jpeg_with_broken_metadata(grace_hopper().resize((96, 112))), "image/jpeg"),
}
# No time limit: whether a pipeline answers must not depend on the machine's speed.
SETTINGS = Settings(max_output_pixels=4_000_000, process_timeout=3600)


def test_the_grammar_covers_every_op():
    assert set(GRAMMAR) == set(PARSERS)


@pytest.mark.parametrize("kind", sorted(ORIGINALS))
@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(text=pipelines)
def test_a_random_pipeline_answers_or_fails_cleanly(kind: str, text: str):
    try:
        result = run(parse_pipeline(text, 30), ORIGINALS[kind], Context(SETTINGS, FaceFinder(0)))
    except ProxyError as error:
        assert 400 <= error.status < 500 and error.message
        return
    assert result.body and result.content_type
