"""Decoding untrusted bytes: limits checked from the header, shrink-on-load, EXIF orientation."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import pillow_heif
from PIL import Image, UnidentifiedImageError

from imgproxy.errors import TooLarge, Unsupported
from imgproxy.imaging.containers import MAX_JPEG_SCANS, gif_layout, jpeg_scan_count

# The proxy checks its own pixel limit from the header before decoding (see `open_checked`);
# Pillow's process-wide bomb guard would otherwise refuse sizes the operator allowed.
Image.MAX_IMAGE_PIXELS = None

# HEIC, what phones write: pillow-heif's plugin opens it lazily (the size from the container's
# boxes, nothing decoded until `load`) and hands back pixels upright, libheif having applied the
# container's rotation and mirroring (the EXIF orientation it leaves is 1). Its embedded thumbnails,
# depth and auxiliary images are not parsed: nothing here uses them. One decoding thread, as for
# AVIF in encode.py: the proxy's own pool already keeps every core busy. libheif's own security
# limits stay on. The plugin registers the writer encode.py uses for `format/heic`.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False, decode_threads=1)

# The formats this proxy reads, each recognised by the file's own bytes whatever its name or
# Content-Type. Never EPS, PS or PDF (Pillow runs Ghostscript for them), nor ICO, ICNS, DCX and
# the like, whose containers Pillow decodes while opening, before any limit can be checked.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF")
EXIF_ORIENTATION = 0x0112
SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that turn the stored image by 90 degrees
# What turns stored pixels of each EXIF orientation upright: Pillow's `exif_transpose` table, kept
# here because pixels that were resized or cropped no longer carry the EXIF block it reads.
UPRIGHTING = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Header:
    format: str  # Pillow's name: JPEG, PNG, WEBP, GIF, ...
    stored: tuple[int, int]  # the pixels' size as stored, before EXIF orientation
    orientation: int | None  # the EXIF orientation tag (1-8); None without one
    mode: str
    frames: int

    @property
    def size(self) -> tuple[int, int]:
        """As displayed, after EXIF orientation."""
        return oriented_size(self.stored, self.orientation or 1)


@dataclass(frozen=True)
class Decoded:
    image: Image.Image  # oriented pixels (unless decoded as stored), possibly reduced on load
    full_size: tuple[int, int]  # the size of the original at full resolution, oriented as `image`
    orientation: int = 1  # the EXIF orientation `image` still needs to show upright; 1: upright

    @property
    def scale(self) -> float:
        """Decoded pixels per original pixel (the smaller of the two axes)."""
        return min(self.image.width / self.full_size[0], self.image.height / self.full_size[1])


def open_checked(data: bytes, max_pixels: int) -> Image.Image:
    """Open `data` lazily (header only) and refuse it before any pixel is decoded if decoding it
    would cost too much: too many pixels, GIF frames larger than the image, too many JPEG scans."""
    if not data:
        raise Unsupported("not an image: the body is empty")
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise Unsupported("not an image, or a format this proxy cannot read") from None
    except Exception as exc:  # Pillow raises many types on malformed headers
        raise Unsupported(f"image header is corrupt: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise Unsupported("image has no pixels")
    if image.format == "GIF":
        width, height = gif_layout(data).canvas
    if width * height > max_pixels:
        raise TooLarge(f"image is {width}x{height} ({width * height / 1e6:.1f} MP), over the limit of {max_pixels / 1e6:g} MP")
    if image.format in ("JPEG", "MPO") and image.info.get("progressive"):  # a baseline JPEG codes each component once
        scans = jpeg_scan_count(data)
        if scans > MAX_JPEG_SCANS:
            raise TooLarge(f"image is a progressive JPEG of {scans} scans, over the limit of {MAX_JPEG_SCANS}")
    return image


def orientation_of(image: Image.Image) -> int | None:
    """The EXIF orientation tag of an opened image; None without one, or with a value outside 1-8."""
    try:
        value = image.getexif().get(EXIF_ORIENTATION)
    except Exception:  # a broken EXIF block must not make a readable image unreadable
        return None
    return value if value in range(1, 9) else None


def oriented_size(stored: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The size of `stored`-sized pixels shown with EXIF `orientation`."""
    return (stored[1], stored[0]) if orientation in SWAPS_AXES else stored


def turn_upright(image: Image.Image, orientation: int) -> Image.Image:
    """Stored pixels of EXIF `orientation` turned and mirrored as a viewer shows them."""
    return image.transpose(UPRIGHTING[orientation]) if orientation in UPRIGHTING else image


def read_header(data: bytes, max_pixels: int) -> Header:
    image = open_checked(data, max_pixels)
    return Header(image.format or "", image.size, orientation_of(image), image.mode, getattr(image, "n_frames", 1))


def decode(data: bytes, max_pixels: int, min_scale: float = 1.0, *, as_stored: bool = False) -> Decoded:
    """Decode `data`, at the smallest JPEG DCT scale that keeps `min_scale` of the pixels, and turn
    it upright by its EXIF orientation unless `as_stored` (the orientation is then left for later).

    Pillow's `draft` lets libjpeg skip 1/2, 3/4 or 7/8 of the work for a 12 MP photo when the
    caller needs only a fraction of its pixels; other formats decode at full size.
    """
    image = open_checked(data, max_pixels)
    orientation = orientation_of(image) or 1
    stored = image.size
    if min_scale < 1 and image.format in ("JPEG", "MPO"):  # MPO: a camera JPEG with a second picture
        image.draft("RGB", (max(1, math.ceil(stored[0] * min_scale)), max(1, math.ceil(stored[1] * min_scale))))
    try:
        image.load()
    except Exception as exc:
        raise Unsupported(f"image data is truncated or corrupt: {exc}") from None
    if as_stored:
        return Decoded(image, stored, orientation)
    return Decoded(turn_upright(image, orientation), oriented_size(stored, orientation))


def as_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """`image` as RGB, transparent pixels flattened onto `background`."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, background)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")
