"""Running a pipeline over an original and turning the last op's output into an answer."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from imgproxy.errors import ProxyError
from imgproxy.pipeline.parse import Pipeline
from imgproxy.pipeline.state import Context, Document, Encoded, State

log = logging.getLogger("imgproxy.pipeline")


@dataclass(frozen=True)
class Result:
    body: bytes
    content_type: str
    cacheable: bool = True  # JSON documents answer Cache-Control: no-store
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.body) + 64 * len(self.headers) + 128


def run(pipeline: Pipeline, original: Encoded, ctx: Context) -> Result:
    """Apply the ops left to right; with ignore-error an op that fails passes its input on."""
    state: State = original
    for op in pipeline.ops:
        try:
            state = op.apply(state, ctx)
        except ProxyError as exc:
            if not op.ignore_error:
                raise
            log.debug("ignored error of %s: %s", op.canonical(), exc.message)
    return render(state, ctx)


def render(state: State, ctx: Context) -> Result:
    headers = dict(ctx.debug_headers) if ctx.settings.debug_headers else {}
    if isinstance(state, Encoded):
        return Result(state.data, state.content_type, headers=headers)
    if isinstance(state, Document):
        body = json.dumps(state.body, ensure_ascii=False, separators=(",", ":")).encode()
        return Result(body, "application/json", cacheable=False, headers=headers)
    encoded = state.encoded()
    return Result(encoded.data, encoded.content_type, headers=headers)
