"""The values that flow from op to op, and the per-request context ops share."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from PIL import Image

from imgproxy.config import Settings
from imgproxy.deadline import Deadline
from imgproxy.errors import BadRequest
from imgproxy.faces.detect import Detection, DetectOptions, detection_scale
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.decode import Decoded, decode, read_header
from imgproxy.imaging.encode import CONTENT_TYPES, encode, jpeg_quality
from imgproxy.imaging.frames import ANIMATED, MAX_FRAMES, Animation, read_animation
from imgproxy.imaging.resize import Size, resizable
from imgproxy.pipeline.options import Quality


@dataclass(frozen=True)
class Encoded:
    """Image bytes not yet decoded: the original, or what an ignored error passed on."""

    data: bytes
    content_type: str

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:32]


@dataclass(frozen=True)
class Raster:
    """Decoded, oriented pixels and how to write them out."""

    image: Image.Image
    format: str  # Pillow format name of the answer: JPEG, PNG, WEBP, GIF
    quality: int
    progressive: bool = False
    animation: Animation | None = None  # every frame of an animated image; `image` is the first

    @property
    def frame_count(self) -> int:
        return 1 if self.animation is None else len(self.animation.frames)

    def map(self, change: Callable[[Image.Image], Image.Image], deadline: Deadline) -> Raster:
        """This raster with `change` made to its image, or to every frame of its animation, the
        deadline checked before each frame."""
        deadline.check()
        if self.animation is None:
            return replace(self, image=change(self.image))
        animation = self.animation.map(change, deadline.check)
        return replace(self, image=animation.frames[0], animation=animation)

    def encoded(self) -> Encoded:
        data = encode(self.image, self.format, self.quality, self.progressive, self.animation)
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


@dataclass
class Context:
    """What the ops of one request share: the settings, the face cache, the request's deadline
    (started when the request's work is submitted), and the debug headers facecrop2 writes."""

    settings: Settings
    faces: FaceFinder
    debug_headers: dict[str, str] = field(default_factory=dict)
    deadline: Deadline = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = Deadline(self.settings.process_timeout)


def image_size(state: State, ctx: Context, op: str) -> Size:
    """The oriented size of the image in `state`, read from the header when not yet decoded."""
    if isinstance(state, Raster):
        return state.image.size
    if isinstance(state, Encoded):
        return read_header(state.data, ctx.settings.max_source_pixels).size
    raise BadRequest(f"{op}: needs an image, but the op before it answers JSON")


def load(state: State, ctx: Context, op: str, min_scale: float = 1.0, reuse: Decoded | None = None) -> Decoded:
    """The pixels of `state`, decoded with at least `min_scale` of the original's resolution:
    `reuse` (an earlier decode of the same state) when it is fine enough, else a new decode."""
    if reuse is not None and reuse.scale >= min_scale:
        return reuse
    if isinstance(state, Raster):
        return Decoded(state.image, state.image.size)
    if isinstance(state, Encoded):
        return decode(state.data, ctx.settings.max_source_pixels, min_scale)
    raise BadRequest(f"{op}: needs an image, but the op before it answers JSON")


def find_faces(state: State, ctx: Context, full: Size, options: DetectOptions, *, op: str) -> tuple[Decoded | None, Detection]:
    """The detection of the image in `state` (cached by the original's content hash), and the
    decode it ran on when it ran: the caller reuses that decode when it is fine enough."""
    decoded: Decoded | None = None

    def load_for_detection() -> Decoded:
        nonlocal decoded
        decoded = load(state, ctx, op, detection_scale(full, options.min_face_size))
        return decoded

    digest = state.digest if isinstance(state, Encoded) else None
    detection = ctx.faces.find(digest, load_for_detection, options)  # sets `decoded` on a cache miss
    return decoded, detection


def load_raster(state: State, ctx: Context, op: str, min_scale: float = 1.0) -> Raster:
    """`state` as pixels for the image ops: every frame of an animation, in a mode they can all work
    on, and the source's format and JPEG quality (Qiniu's default output format, and quality cap).

    A still JPEG is decoded with at least `min_scale` of its resolution, so callers size their
    geometry on `image_size` and scale it to the decoded pixels (see `resize.resample`).
    """
    if isinstance(state, Raster):
        return state
    if isinstance(state, Encoded):
        header = read_header(state.data, ctx.settings.max_source_pixels)
        format = "JPEG" if header.format == "MPO" else header.format  # MPO: a camera JPEG with a second picture
        format = format if format in CONTENT_TYPES else "PNG"  # BMP, TIFF...: written losslessly
        if header.frames > 1 and header.format in ANIMATED:
            if header.frames > MAX_FRAMES:
                raise BadRequest(f"{op}: the image has {header.frames} frames, over the limit of {MAX_FRAMES}")
            animation = read_animation(state.data, ctx.settings.max_source_pixels, ctx.deadline.check)
            return Raster(animation.frames[0], format, ctx.settings.quality, animation=animation)
        image = resizable(decode(state.data, ctx.settings.max_source_pixels, min_scale).image)
        quality = (jpeg_quality(state.data) if format == "JPEG" else None) or ctx.settings.quality
        return Raster(image, format, quality)
    raise BadRequest(f"{op}: needs an image, but the op before it answers JSON")


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
