"""The values that flow from op to op, and the per-request context ops share."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from PIL import Image

from imgproxy.config import Settings
from imgproxy.errors import BadRequest
from imgproxy.faces.box import Size
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.decode import Decoded, decode, read_header


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


@dataclass(frozen=True)
class Document:
    """A JSON answer (imageInfo, exif, facedetect...): ops after it have no image to work on."""

    body: dict[str, Any]


State = Encoded | Raster | Document


@dataclass
class Context:
    settings: Settings
    faces: FaceFinder
    debug_headers: dict[str, str] = field(default_factory=dict)


def image_size(state: State, ctx: Context, op: str) -> Size:
    """The oriented size of the image in `state`, read from the header when not yet decoded."""
    if isinstance(state, Raster):
        return state.image.size
    if isinstance(state, Encoded):
        return read_header(state.data, ctx.settings.max_source_pixels).size
    raise BadRequest(f"{op}: needs an image, but the op before it answers JSON")


def load(state: State, ctx: Context, op: str, min_scale: float = 1.0) -> Decoded:
    """The pixels of `state`, decoded with at least `min_scale` of the original's resolution."""
    if isinstance(state, Raster):
        return Decoded(state.image, state.image.size)
    if isinstance(state, Encoded):
        return decode(state.data, ctx.settings.max_source_pixels, min_scale)
    raise BadRequest(f"{op}: needs an image, but the op before it answers JSON")
