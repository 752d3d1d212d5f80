"""Small builders of test inputs: broken, hostile and composite images."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from imgproxy.faces.box import Box
from imgproxy.faces.detect import detect


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A PNG of a few dozen bytes whose header declares `width`x`height` pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def faces_in(image: Image.Image) -> list[Box]:
    """Face boxes the proxy's own detector finds, largest first."""
    found = detect(image)
    return [face.box for face in getattr(found, "faces", found)]
