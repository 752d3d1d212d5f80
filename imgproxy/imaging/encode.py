"""Encoding pixels into the bytes of an answer."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from PIL import Image, JpegImagePlugin

from imgproxy.errors import Unsupported
from imgproxy.imaging.decode import EXIF_ORIENTATION, as_rgb
from imgproxy.imaging.frames import ANIMATED, Animation

# Every format read is written too, so a source keeps its format when no `format` is asked (as Qiniu).
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "AVIF": "image/avif",
    "HEIF": "image/heic",  # written only when asked (`format/heic`): browsers but Safari cannot show it
}
# How `format/<name>` names them in URLs (Qiniu's names first: they are the canonical spelling).
FORMAT_NAMES = {
    "jpg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "gif": "GIF",
    "bmp": "BMP",
    "tiff": "TIFF",
    "avif": "AVIF",
    "heic": "HEIF",
    "jpeg": "JPEG",
}
URL_NAMES = {format: name for name, format in reversed(FORMAT_NAMES.items())}

# The formats written at a quality, which size-limit can lower.
LOSSY = frozenset({"JPEG", "WEBP", "AVIF", "HEIF"})
# libavif's encoder speed, 0 (smallest) to 10 (fastest): 9, as the Go imgproxy defaults to, writes a
# 512x600 portrait in about a tenth of speed 6's time for a few percent more bytes. One thread: the
# proxy's own pool already keeps every core busy.
AVIF_SPEED = 9
# x265's fastest preset: a 512x600 portrait in 72 ms here, against 175 ms (superfast) to 233 ms
# (medium) for 6-15% fewer bytes. HEIC is for the apps that ask for it; AVIF is the smaller format.
HEIC_PRESET = "ultrafast"
# Sum of the JPEG standard's (Annex K) luminance quantization table, which libjpeg scales by quality.
ANNEX_K_LUMINANCE_SUM = 3688


def encode(
    image: Image.Image,
    format: str,
    quality: int,
    progressive: bool = False,
    animation: Animation | None = None,
    orientation: int = 1,
) -> bytes:
    """`image`, or every frame of `animation`, written as `format`: without the source's EXIF or
    comment (Pillow would copy a JPEG's or GIF's, which may name a camera, a place or a person),
    keeping the colour profile. A JPEG whose pixels are not upright gets an EXIF block of one tag,
    its `orientation`, so viewers turn it. `quality` counts for JPEG, WebP, AVIF and HEIC, `progressive`
    for JPEG; a JPEG, BMP, TIFF, AVIF or HEIC of an animation is its first frame.
    """
    icc = image.info.get("icc_profile")
    frames = list(animation.frames) if animation is not None and format in ANIMATED else [image]
    options: dict[str, Any]
    if format == "JPEG":
        frames = [as_rgb(image)]
        # Optimized Huffman tables: libjpeg's defaults fit no image in particular and cost 4-9% more
        # bytes at q75, up to 40% at the low qualities size-limit goes down to. The price is a second
        # pass over the coefficients, about 4 ms more per megapixel (README, Benchmarks).
        options = {"quality": quality, "progressive": progressive, "optimize": True, "icc_profile": icc, "comment": b""}
        if orientation != 1:
            exif = Image.Exif()
            exif[EXIF_ORIENTATION] = orientation
            options["exif"] = exif.tobytes()
    elif format == "WEBP":
        frames = [rgb_or_rgba(frame) for frame in frames]
        options = {"quality": quality, "icc_profile": icc}
    elif format == "AVIF":  # a still image: an animation is written as its first frame
        frames = [rgb_or_rgba(image)]
        options = {"quality": quality, "speed": AVIF_SPEED, "max_threads": 1, "icc_profile": icc}
    elif format == "HEIF":  # a still image, as AVIF
        frames = [rgb_or_rgba(image)]
        options = {"quality": quality, "enc_params": {"preset": HEIC_PRESET}, "icc_profile": icc}
    elif format == "PNG":
        options = {"icc_profile": icc}
    elif format == "GIF":
        options = {"comment": b""}
    elif format == "BMP":
        # Flattened like a JPEG: Pillow's 32-bit BMP marks no alpha channel, so readers show the
        # transparent pixels' colours. No colour profile: Pillow writes no V5 header to hold one.
        opaque = image.mode in ("1", "L", "RGB") or (image.mode == "P" and "transparency" not in image.info)
        frames = [image if opaque else as_rgb(image)]
        options = {}
    elif format == "TIFF":  # LZW: lossless, and read by every TIFF reader, unlike deflate or JPEG-in-TIFF
        frames = [image]
        options = {"compression": "tiff_lzw", "icc_profile": icc}
    else:
        raise Unsupported(f"cannot write {format} images")
    if len(frames) > 1:
        assert animation is not None
        options.update(save_all=True, append_images=frames[1:], duration=list(animation.durations), loop=animation.loop)
    out = io.BytesIO()
    frames[0].save(out, format, **options)
    return out.getvalue()


def rgb_or_rgba(image: Image.Image) -> Image.Image:
    """`image` in the modes the WebP, AVIF and HEIC writers take: RGB, or RGBA where it has alpha."""
    return image if image.mode in ("RGB", "RGBA") else image.convert("RGBA" if "A" in image.getbands() else "RGB")


def within(limit: int, quality: int, write: Callable[[int], bytes]) -> bytes:
    """What `write` makes at the highest quality up to `quality` that is at most `limit` bytes long;
    when no quality is, the smallest answer tried (quality 1's, barring a quirk of the encoder):
    Qiniu documents its size-limit as a target, not a refusal.

    A binary search, since the size grows with the quality: about 7 encodings instead of up to 100.
    """
    first = write(quality)
    if len(first) <= limit:
        return first
    low, high = 1, quality - 1
    fitting: bytes | None = None
    smallest = first
    while low <= high:
        middle = (low + high) // 2
        data = write(middle)
        if len(data) <= limit:
            fitting, low = data, middle + 1
        else:
            smallest = data if len(data) <= len(smallest) else smallest  # a tie goes to the lower quality
            high = middle - 1
    return smallest if fitting is None else fitting


def jpeg_quality(data: bytes) -> int | None:
    """The libjpeg quality a JPEG was most likely written with, read from its luminance table.

    libjpeg multiplies the standard table by 5000/q percent below quality 50 and by 200-2q percent
    from 50 up, so the ratio of the sums gives q back (to about one step).
    """
    try:
        image = Image.open(io.BytesIO(data), formats=("JPEG",))
    except Exception:  # not a JPEG, or a header Pillow cannot read: no quality to go by
        return None
    assert isinstance(image, JpegImagePlugin.JpegImageFile)
    tables = image.quantization
    if not tables:
        return None
    percent = sum(tables[min(tables)]) * 100 / ANNEX_K_LUMINANCE_SUM
    quality = 5000 / percent if percent > 100 else (200 - percent) / 2
    return max(1, min(100, round(quality)))
