"""Small builders of test inputs: broken, hostile and composite images."""

from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import replace

from conftest import FACES_DEV
from PIL import Image

from imgproxy.faces.box import Box
from imgproxy.faces.detect import detect
from imgproxy.faces.mesh import FaceAnalysis
from imgproxy.samples import astronaut, background, grace_hopper, place, with_grain


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


class BitWriter:
    """JPEG entropy-coded bits: most significant first, a 00 stuffed after every FF byte."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.bits = 0
        self.count = 0

    def write(self, value: int, length: int) -> None:
        for shift in range(length - 1, -1, -1):
            self.bits = (self.bits << 1) | ((value >> shift) & 1)
            self.count += 1
            if self.count == 8:
                self.out.append(self.bits)
                if self.bits == 0xFF:
                    self.out.append(0)
                self.bits = self.count = 0

    def flush(self) -> bytes:
        if self.count:
            self.write((1 << (8 - self.count)) - 1, 8 - self.count)  # padded with ones
        return bytes(self.out)


def scan_bomb_jpeg(side: int = 7000, ac_scans: int = 15000) -> bytes:
    """A grey progressive JPEG of `side`x`side` pixels (1024 or more) that is one DC scan and
    `ac_scans` AC scans of a few dozen bytes each, all end-of-band runs: libjpeg walks every block
    of the image for each scan, so the file costs minutes of CPU while its header looks like any
    photo's."""

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    blocks = ((side + 7) // 8) ** 2
    assert blocks >= 1 << 14, "the end-of-band runs below are 2^14 blocks or more"
    quantization = segment(0xDB, b"\x00" + b"\x01" * 64)
    frame = segment(0xC2, struct.pack(">BHHB", 8, side, side, 1) + b"\x01\x11\x00")
    # One code each, "0": DC difference category 0, and AC EOBRUN of 2^14 + 14 more bits.
    dc_table = segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
    ac_table = segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\xe0")
    dc_bits = BitWriter()
    for _ in range(blocks):
        dc_bits.write(0, 1)
    ac_bits = BitWriter()
    runs = -(-blocks // ((1 << 15) - 1))
    for index in range(runs):
        run = blocks // runs + (index < blocks % runs)
        ac_bits.write(0, 1)
        ac_bits.write(run - (1 << 14), 14)
    dc_scan = segment(0xDA, b"\x01\x01\x00\x00\x00\x00") + dc_bits.flush()
    ac_scan = segment(0xDA, b"\x01\x01\x00\x01\x3f\x00") + ac_bits.flush()
    return b"\xff\xd8" + quantization + frame + dc_table + ac_table + dc_scan + ac_scan * ac_scans + b"\xff\xd9"


def gif_outgrowing_screen(screen: int = 10, frame: int = 16000) -> bytes:
    """An animated GIF whose logical screen is `screen` px square and whose second frame declares
    `frame` px square: Pillow reports the screen's size, then grows the canvas to the frame's while
    decoding (a 16000 px frame: 256 MB of palette pixels, 1 GB as RGBA) before it finds that the
    frame's data is a few bytes long."""
    out = io.BytesIO()
    first, second = (Image.linear_gradient("L").resize((screen, screen)).rotate(angle) for angle in (0, 90))
    first.save(out, "GIF", save_all=True, append_images=[second], optimize=False, disposal=1)
    data = out.getvalue()
    last = data.rindex(b"," + struct.pack("<HH", 0, 0))
    return data[:last] + b"," + struct.pack("<HHHH", 0, 0, frame, frame) + data[last + 9 :]


def frame_bomb_gif(frames: int, side: int = 100) -> bytes:
    """An animated GIF of `frames` frames of `side` px square, each its own image block (Pillow
    would merge identical frames): 20000 frames of 100 px are 3.5 MB, 800 MB decoded as RGBA."""
    out = io.BytesIO()
    Image.new("P", (side, side), 0).save(out, "GIF", optimize=False)
    data = out.getvalue()
    block = data.index(b"," + struct.pack("<HH", 0, 0))
    return data[:block] + data[block:-1] * frames + b";"


def ico_around_png(side: int = 16000) -> bytes:
    """A Windows icon whose one entry is a 1-bit PNG of `side`x`side` blank pixels (32 kB for 16000):
    Pillow decodes an ICO's image while opening it, before a caller sees the size (256 MB)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = (b"\0" * (1 + (side + 7) // 8)) * side
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + png


def endless_eps() -> bytes:
    """An EPS whose PostScript never ends: Pillow hands EPS to Ghostscript, with no time limit."""
    return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n{ } loop\n"


def jpeg_with_broken_metadata(image: Image.Image) -> bytes:
    """`image` as a JPEG whose ICC profile and EXIF block are garbage of the right framing."""
    out = io.BytesIO()
    image.save(out, "JPEG", icc_profile=b"not a profile" * 20, exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f" + b"\x01" * 40)
    return out.getvalue()


def analysis(**changes: object) -> FaceAnalysis:
    """A sharp, well-lit, frontal, whole face; `changes` make it worse."""
    face = FaceAnalysis(
        landmarks=(),
        yaw=0.0,
        pitch=0.0,
        roll=0.0,
        right_eye_ratio=0.3,
        left_eye_ratio=0.3,
        mouth_ratio=0.0,
        right_eye_open=True,
        left_eye_open=True,
        mouth_open=False,
        laplacian_variance=300.0,
        blur=0.0,
        illumination=128.0,
        completeness=1.0,
    )
    return replace(face, **changes)


def six_portraits() -> Image.Image:
    """Grace Hopper six times, 60 to 240 px wide, on a 900x600 photo-like background."""
    canvas = background((900, 600), seed=7)
    for i, width in enumerate([60, 90, 120, 150, 180, 240]):
        canvas = place(canvas, grace_hopper(), width, (20 + (i % 3) * 300, 20 + (i // 3) * 300))
    return with_grain(canvas)


def detector_photos(most_crowded: int) -> list[tuple[str, Image.Image]]:
    """Named photos to check a detector network on: the two samples, six pasted portraits and, when
    faces-dev is here, its `most_crowded` photos with the most labelled faces (many small ones)."""
    found = [("grace_hopper", grace_hopper()), ("astronaut", astronaut()), ("six portraits", six_portraits())]
    if FACES_DEV.is_dir():
        entries = sorted(json.loads((FACES_DEV / "annotations.json").read_text()), key=lambda e: len(e["boxes"]))
        found += [(f"faces-dev {e['file']}", Image.open(FACES_DEV / e["file"]).convert("RGB")) for e in entries[-most_crowded:]]
    return found
