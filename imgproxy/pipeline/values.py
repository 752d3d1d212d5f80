"""The values that flow from op to op: bytes not yet decoded, pixels, or a JSON document; and
what an op would make of them, known from sizes alone (`Estimate`)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from PIL import Image

from imgproxy.deadline import Deadline
from imgproxy.imaging.decode import Header, oriented_size, read_header, turn_upright
from imgproxy.imaging.encode import CONTENT_TYPES, LOSSY, encode, within
from imgproxy.imaging.frames import ANIMATED, Animation
from imgproxy.imaging.resize import Size
from imgproxy.pipeline.options import Quality


@dataclass(frozen=True)
class Encoded:
    """Image bytes not yet decoded: the original, or what an ignored error passed on."""

    data: bytes
    content_type: str
    _headers: dict[int, Header] = field(default_factory=dict, init=False, compare=False, repr=False)

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:32]

    def header(self, max_pixels: int) -> Header:
        """The image's header (`read_header`), read once: the pipeline's checks, the ops' sizes
        and their decodes all ask for it."""
        if max_pixels not in self._headers:
            self._headers[max_pixels] = read_header(self.data, max_pixels)
        return self._headers[max_pixels]


@dataclass(frozen=True)
class Raster:
    """Decoded pixels and how to write them out."""

    image: Image.Image
    format: str  # Pillow format name of the answer: JPEG, PNG, WEBP, GIF
    quality: int
    progressive: bool = False
    animation: Animation | None = None  # every frame of an animated image; `image` is the first
    # The EXIF orientation the pixels still need to show upright (Qiniu's ops work on the pixels as
    # stored until auto-orient); 1: upright. A JPEG answer carries it as its EXIF orientation tag.
    orientation: int = 1
    # What the op that made the pixels says about them, answered as headers with IMGPROXY_DEBUG_HEADERS
    # (facecrop2's X-Face-Count and X-Crop-Box); later image ops keep them.
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def frame_count(self) -> int:
        return 1 if self.animation is None else len(self.animation.frames)

    @property
    def upright_size(self) -> Size:
        return oriented_size(self.image.size, self.orientation)

    def oriented(self) -> Raster:
        """This raster as a viewer shows it: `orientation` applied to its pixels. Only a still
        image has one to apply: animations are decoded upright."""
        if self.orientation == 1:
            return self
        return replace(self, image=turn_upright(self.image, self.orientation), orientation=1)

    def map(self, change: Callable[[Image.Image], Image.Image], deadline: Deadline) -> Raster:
        """This raster with `change` made to its image, or to every frame of its animation, the
        deadline checked before each frame."""
        deadline.check()
        if self.animation is None:
            return replace(self, image=change(self.image))
        animation = self.animation.map(change, deadline.check)
        return replace(self, image=animation.frames[0], animation=animation)

    def encoded(self) -> Encoded:
        # Only a JPEG says its orientation (browsers read the tag in JPEGs alike); other formats are
        # written upright, which is how a browser would show them if it read theirs.
        raster = self if self.format == "JPEG" else self.oriented()
        data = encode(raster.image, raster.format, raster.quality, raster.progressive, raster.animation, raster.orientation)
        return Encoded(data, CONTENT_TYPES[raster.format])

    def encoded_within(self, limit: int) -> Encoded:
        """Written at the highest quality up to its own that makes at most `limit` bytes (see
        `encode.within`); a format without a quality as it is."""
        if self.format not in LOSSY:
            return self.encoded()
        data = within(limit, self.quality, lambda quality: replace(self, quality=quality).encoded().data)
        return Encoded(data, CONTENT_TYPES[self.format])


@dataclass(frozen=True)
class Document:
    """A JSON answer (imageInfo, exif, facedetect...): ops after it have no image to work on."""

    body: dict[str, Any]


State = Encoded | Raster | Document


@dataclass(frozen=True)
class Estimate:
    """What a pipeline will have made after an op, known from the source's header alone."""

    size: Size | None  # the image the op answers; None for a JSON document
    frames: int
    work: int  # pixels read and written by the ops so far, every frame counted

    def then(self, size: Size | None, reads: int, writes: int, passes: int = 1) -> Estimate:
        """The estimate after an op that reads `reads` pixels a frame and writes `writes` pixels a
        frame `passes` times (a blur or a rotation is a second pass over its output)."""
        return Estimate(size, self.frames, self.work + self.frames * (reads + passes * writes))


def area(size: Size) -> int:
    return size[0] * size[1]


def output(raster: Raster, format: str | None, quality: Quality, progressive: bool, source: Size) -> Raster:
    """`raster`, made from an image of `source` size, set to be written as `format` (None: as it came).

    Qiniu's quality rule: from a JPEG input, unless the quality is forced with '!', the quality is at
    most the source's own scaled by sqrt(source area / output area) (a thumbnail hides artefacts
    that a full-size copy would show), and at most 90 when the source's is 90 or less.
    """
    format = format or raster.format
    value = quality.value
    if not quality.forced and raster.format == "JPEG":
        width, height = raster.image.size
        corrected = raster.quality * math.sqrt(source[0] * source[1] / (width * height))
        value = min(value, math.floor((corrected if raster.quality > 90 else min(90, corrected)) + 0.5))
    animation = raster.animation if format in ANIMATED else None  # a JPEG keeps the first frame, `image`
    return replace(raster, format=format, quality=value, progressive=progressive and format == "JPEG", animation=animation)
