"""Encoding pixels into the bytes of an answer."""

from __future__ import annotations

import io

from PIL import Image

from imgproxy.errors import Unsupported
from imgproxy.imaging.decode import as_rgb

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


def encode(image: Image.Image, format: str, quality: int, progressive: bool = False) -> bytes:
    """`image` written as `format`, without EXIF (the pixels are already oriented), keeping the colour profile."""
    out = io.BytesIO()
    icc = image.info.get("icc_profile")
    if format == "JPEG":
        as_rgb(image).save(out, "JPEG", quality=quality, progressive=progressive, icc_profile=icc)
    else:
        raise Unsupported(f"cannot write {format} images")
    return out.getvalue()
