"""Encoding pixels into the bytes of an answer."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, JpegImagePlugin

from imgproxy.errors import Unsupported
from imgproxy.imaging.decode import as_rgb
from imgproxy.imaging.frames import ANIMATED, Animation

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
# How `format/<name>` names them in URLs (Qiniu's names first: they are the canonical spelling).
FORMAT_NAMES = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "jpeg": "JPEG"}
URL_NAMES = {format: name for name, format in reversed(FORMAT_NAMES.items())}

# Sum of the JPEG standard's (Annex K) luminance quantization table, which libjpeg scales by quality.
ANNEX_K_LUMINANCE_SUM = 3688


def encode(image: Image.Image, format: str, quality: int, progressive: bool = False, animation: Animation | None = None) -> bytes:
    """`image`, or every frame of `animation`, written as `format`: without EXIF (the pixels are
    already oriented), keeping the colour profile. `quality` counts for JPEG and WebP, `progressive`
    for JPEG; a JPEG of an animation is its first frame.
    """
    icc = image.info.get("icc_profile")
    frames = list(animation.frames) if animation is not None and format in ANIMATED else [image]
    options: dict[str, Any]
    if format == "JPEG":
        frames = [as_rgb(image)]
        options = {"quality": quality, "progressive": progressive, "icc_profile": icc}
    elif format == "WEBP":
        frames = [
            frame if frame.mode in ("RGB", "RGBA") else frame.convert("RGBA" if "A" in frame.getbands() else "RGB")
            for frame in frames
        ]
        options = {"quality": quality, "icc_profile": icc}
    elif format == "PNG":
        options = {"icc_profile": icc}
    elif format == "GIF":
        options = {}
    else:
        raise Unsupported(f"cannot write {format} images")
    if len(frames) > 1:
        assert animation is not None
        options.update(save_all=True, append_images=frames[1:], duration=list(animation.durations), loop=animation.loop)
    out = io.BytesIO()
    frames[0].save(out, format, **options)
    return out.getvalue()


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
