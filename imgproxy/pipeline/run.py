"""Running a pipeline over an original and turning the last op's output into an answer."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace

from imgproxy.errors import BadRequest, ProxyError
from imgproxy.imaging.frames import ANIMATED, MAX_FRAMES
from imgproxy.pipeline.context import Context, OverFrameLimit
from imgproxy.pipeline.parse import Pipeline
from imgproxy.pipeline.values import Document, Encoded, Estimate, Raster, State

log = logging.getLogger("imgproxy.pipeline")


@dataclass(frozen=True)
class Result:
    body: bytes
    content_type: str
    cacheable: bool = True  # JSON documents answer Cache-Control: no-store
    headers: dict[str, str] = field(default_factory=dict)
    faces: int | None = None  # found by the pipeline's detection, if it ran one

    @property
    def size(self) -> int:
        return len(self.body) + 64 * len(self.headers) + 128


def run(pipeline: Pipeline, original: Encoded, ctx: Context) -> Result:
    """Apply the ops left to right; with ignore-error an op that fails passes its input on, and so
    does an image op on an animation over the frame limit, ignore-error or not (Qiniu answers
    such a GIF as it came): its input is then the original's bytes, none of its frames decoded."""
    check_work(pipeline, original, ctx)
    state: State = original
    for op in pipeline.ops:
        ctx.deadline.check()
        try:
            state = op.apply(state, ctx)
        except OverFrameLimit as exc:
            log.debug("passed the original on through %s: %s", op.canonical(), exc.message)
        except ProxyError as exc:
            if not op.ignore_error:
                raise
            log.debug("ignored error of %s: %s", op.canonical(), exc.message)
    return render(state, ctx)


def check_work(pipeline: Pipeline, original: Encoded, ctx: Context) -> None:
    """Refuse (400) a pipeline whose ops would read and write more pixels than the budget, known
    from the original's header before any pixel is decoded.

    The estimate stops at an op whose output is over the output limits: that op answers its own,
    more precise error when it is reached.
    """
    settings = ctx.settings
    try:
        header = original.header(settings.max_source_pixels)
    except ProxyError:
        return  # the first op answers (or ignores) what is wrong with the original
    frames = header.frames if header.format in ANIMATED else 1
    # Over the frame limit no op decodes every frame: the image ops pass the original on, the face
    # ops read the first frame alone.
    estimate = Estimate(header.size, frames if frames <= MAX_FRAMES else 1, 0)
    for op in pipeline.ops:
        after = op.estimate(estimate)
        if after.size is not None and (
            max(after.size) > settings.max_output_side
            or after.size[0] * after.size[1] * after.frames > settings.max_output_pixels
        ):
            break
        estimate = after
        if estimate.size is None:
            break
    if estimate.work > settings.max_pixel_work:
        raise BadRequest(
            f"pipeline would read and write about {estimate.work / 1e6:.0f} MP of pixels, "
            f"over the limit of {settings.max_pixel_work / 1e6:g} MP"
        )


def as_negotiated(raster: Raster, format: str | None) -> Raster:
    """`raster` to be written as the `format` the client's Accept chose, at the quality it would have
    had. Bytes passed on unchanged (an ignored error, `fallback/original`) and JSON never get here.
    An animation keeps its own format unless `format` animates too: a still of its first frame
    is a different picture, not a smaller file."""
    if format is None or format == raster.format or (raster.animation is not None and format not in ANIMATED):
        return raster
    return replace(raster, format=format, progressive=False)


def render(state: State, ctx: Context) -> Result:
    if isinstance(state, Encoded):
        return Result(state.data, state.content_type, faces=ctx.faces_found)
    if isinstance(state, Document):
        body = json.dumps(state.body, ensure_ascii=False, separators=(",", ":")).encode()
        return Result(body, "application/json", cacheable=False, faces=ctx.faces_found)
    encoded = as_negotiated(state, ctx.auto_format).encoded()
    headers = dict(state.notes) if ctx.settings.debug_headers else {}
    return Result(encoded.data, encoded.content_type, headers=headers, faces=ctx.faces_found)
