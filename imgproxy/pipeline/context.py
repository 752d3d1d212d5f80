"""What the ops of one request share (`Context`), and how they get pixels and faces from a value:
header reads, decodes at the scale they need, and the cached detection."""

from __future__ import annotations

from dataclasses import dataclass, field

from imgproxy.config import Settings
from imgproxy.deadline import Deadline
from imgproxy.errors import BadRequest
from imgproxy.faces.detect import Detection, DetectOptions, detection_scale
from imgproxy.faces.finder import FaceFinder
from imgproxy.imaging.decode import Decoded, Header, decode
from imgproxy.imaging.encode import CONTENT_TYPES, jpeg_quality
from imgproxy.imaging.frames import ANIMATED, MAX_FRAMES, read_animation
from imgproxy.imaging.resize import Size, resizable
from imgproxy.pipeline.values import Encoded, Raster, State


@dataclass
class Context:
    """What the ops of one request share: the settings, the face cache, and the request's deadline
    (started when the request's work is submitted)."""

    settings: Settings
    faces: FaceFinder
    # The format the client's Accept chose (IMGPROXY_AUTO_WEBP/AVIF), for a pipeline that names none:
    # the image answer is written in it. None: the pipeline's own format.
    auto_format: str | None = None
    deadline: Deadline = field(init=False)
    faces_found: int | None = field(init=False, default=None)  # by the last detection, for the access log

    def __post_init__(self) -> None:
        self.deadline = Deadline(self.settings.process_timeout)


class OverFrameLimit(BadRequest):
    """An animation with more frames than the image ops work on (`MAX_FRAMES`), known from its
    container before any frame is decoded. As Qiniu does, `run` answers it by passing the original
    on unchanged; an op that must not show the original (faceblur) refuses it as a 400 instead."""


def image_size(state: State, ctx: Context, op: str) -> Size:
    """The size of the image in `state` as displayed, read from the header when not yet decoded."""
    return image_view(state, ctx, op, as_stored=False)[0]


def image_view(state: State, ctx: Context, op: str, *, as_stored: bool) -> tuple[Size, int]:
    """The size of the image in `state` and the EXIF orientation its pixels still need to show
    upright: as displayed (orientation 1), or `as_stored`, before the orientation a Qiniu op has not
    applied yet. Read from the header when not yet decoded."""
    if isinstance(state, Raster):
        return (state.image.size, state.orientation) if as_stored else (state.upright_size, 1)
    if isinstance(state, Encoded):
        header = state.header(ctx.settings.max_source_pixels)
        orientation = stored_orientation(header) if as_stored else 1
        return (header.stored if orientation != 1 else header.size), orientation
    raise BadRequest(f"{op}: needs an image, but the op before it answers JSON")


def stored_orientation(header: Header) -> int:
    """The orientation a decode `as_stored` leaves to apply: an animation's frames are always
    decoded upright."""
    return 1 if header.frames > 1 and header.format in ANIMATED else header.orientation or 1


def load(state: State, ctx: Context, op: str, min_scale: float = 1.0, reuse: Decoded | None = None) -> Decoded:
    """The upright pixels of `state`, decoded with at least `min_scale` of the original's
    resolution: `reuse` (an earlier decode of the same state) when it is fine enough, else a new
    decode."""
    if reuse is not None and reuse.scale >= min_scale:
        return reuse
    if isinstance(state, Raster):
        image = state.oriented().image
        return Decoded(image, image.size)
    if isinstance(state, Encoded):
        return decode(state.data, ctx.settings.max_source_pixels, min_scale)
    raise BadRequest(f"{op}: needs an image, but the op before it answers JSON")


def find_faces(state: State, ctx: Context, full: Size, options: DetectOptions, *, op: str) -> tuple[Decoded | None, Detection]:
    """The decode detection ran on when it ran (the caller reuses it when it is fine enough), and
    the detection of the image in `state`, cached by the original's content hash."""
    digest = state.digest if isinstance(state, Encoded) else None
    decoded, detection = ctx.faces.find(
        digest, lambda: load(state, ctx, op, detection_scale(full, options.min_face_size)), options
    )
    ctx.faces_found = len(detection.faces)
    return decoded, detection


def load_raster(state: State, ctx: Context, op: str, min_scale: float = 1.0, *, as_stored: bool = False) -> Raster:
    """`state` as pixels for the image ops: every frame of an animation, in a mode they can all work
    on, and the source's format and JPEG quality (Qiniu's default output format, and quality cap);
    upright, or `as_stored` with the orientation left to apply.

    A still JPEG is decoded with at least `min_scale` of its resolution, so callers size their
    geometry on `image_size` and scale it to the decoded pixels (see `resize.resample`).
    """
    if isinstance(state, Raster):
        return state if as_stored else state.oriented()
    if isinstance(state, Encoded):
        header = state.header(ctx.settings.max_source_pixels)
        # MPO: a camera JPEG with a second picture; HEIC: a phone's photo, which browsers cannot show.
        format = "JPEG" if header.format in ("MPO", "HEIF") else header.format
        format = format if format in CONTENT_TYPES else "PNG"  # BMP, TIFF...: written losslessly
        if header.frames > 1 and header.format in ANIMATED:
            if header.frames > MAX_FRAMES:
                raise OverFrameLimit(f"{op}: the image has {header.frames} frames, over the limit of {MAX_FRAMES}")
            animation = read_animation(state.data, ctx.settings.max_source_pixels, ctx.deadline.check)
            return Raster(animation.frames[0], format, ctx.settings.quality, animation=animation)
        decoded = decode(state.data, ctx.settings.max_source_pixels, min_scale, as_stored=as_stored)
        quality = (jpeg_quality(state.data) if format == "JPEG" else None) or ctx.settings.quality
        return Raster(resizable(decoded.image), format, quality, orientation=decoded.orientation)
    raise BadRequest(f"{op}: needs an image, but the op before it answers JSON")
