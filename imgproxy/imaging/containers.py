"""What a file's own bytes say about the cost of decoding it, where Pillow's header does not tell.

Two bombs pass a pixel check made on the header alone: a progressive JPEG of thousands of tiny
scans (libjpeg decodes the whole image once per scan), and a GIF whose frames are larger than the
logical screen Pillow reports as its size (Pillow grows the canvas to hold them). Both are read
here from the container's structure, without decoding anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imgproxy.errors import Unsupported

# libjpeg writes 10 scans for a colour progressive JPEG and 6 for a grey one; mozjpeg's optimised
# scripts stay under 20. Each scan costs a pass over the image's coefficients.
MAX_JPEG_SCANS = 100

START_OF_SCAN = b"\xff\xda"
# Markers that carry no length (TEM, RST0-7, SOI, EOI).
STANDALONE = frozenset({0x01, *range(0xD0, 0xDA)})

GIF_EXTENSION, GIF_IMAGE, GIF_TRAILER = 0x21, 0x2C, 0x3B
# Pillow skips bytes it does not recognise between blocks and reads on; so does the walk below.
GIF_BLOCK = re.compile(rb"[!,;]")


def jpeg_scan_count(data: bytes) -> int:
    """An upper bound on the number of scans of the JPEG in `data` (the first image of an MPO and
    the ones after it together): the segments are walked to the first start-of-scan, and every
    FF DA after it is counted, since entropy-coded data never holds those two bytes (an FF there
    is always followed by 00 or a restart marker)."""
    position = 2  # after SOI
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return 0  # not a marker where one must be: libjpeg refuses the file before decoding
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
        elif marker in STANDALONE:
            position += 2
        elif marker == START_OF_SCAN[1]:
            return 1 + data.count(START_OF_SCAN, position + 2)
        else:
            position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return 0


@dataclass(frozen=True)
class GifLayout:
    canvas: tuple[int, int]  # the logical screen, grown to hold every frame as Pillow grows it
    frames: int


def gif_layout(data: bytes) -> GifLayout:
    """The canvas and frame count of the GIF in `data`, from its blocks (no LZW data is decoded)."""
    if len(data) < 13 or data[:3] != b"GIF":
        raise Unsupported("not a GIF")
    width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    flags = data[10]
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0
    while True:
        found = GIF_BLOCK.search(data, position)
        if found is None or data[found.start()] == GIF_TRAILER:
            break
        position = found.start()
        if data[position] == GIF_EXTENSION:
            position = skip_sub_blocks(data, position + 2)
            continue
        descriptor = data[position + 1 : position + 10]
        if len(descriptor) < 9:
            break
        left, top, frame_width, frame_height = (int.from_bytes(descriptor[i : i + 2], "little") for i in range(0, 8, 2))
        width, height = max(width, left + frame_width), max(height, top + frame_height)
        frames += 1
        local = descriptor[8]
        position += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
        position = skip_sub_blocks(data, position + 1)  # after the LZW code size
    return GifLayout((width, height), max(frames, 1))


def skip_sub_blocks(data: bytes, position: int) -> int:
    """The position after the chain of length-prefixed sub-blocks starting at `position`."""
    while position < len(data):
        size = data[position]
        position += 1 + size
        if size == 0:
            break
    return position
