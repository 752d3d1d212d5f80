"""facemosaic/<cell>[/pad/<f>][/ignore-error/<0|1>]: the image with every face found pixelated
into flat squares over a feathered ellipse around the head, the rest of it unchanged. Which faces,
where and on which frames: as faceblur (see there)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from imgproxy.imaging.cover import Change, pixelated
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.faceblur import PAD, cover_estimate, cover_faces, pad_text, read_pad
from imgproxy.pipeline.options import read_int, read_options
from imgproxy.pipeline.values import Estimate, State

NAME = "facemosaic"
MIN_CELL, MAX_CELL = 2, 500
# However small the asked cells, a face is at most 6 cells wide: at 8 or 10 the eyes and the
# smile still show through the squares (more so when the picture is shown small).
CELLS_ACROSS = 6


@dataclass(frozen=True)
class FaceMosaic:
    cell: int  # the squares' side in pixels of the image
    pad: float = PAD
    ignore_error: bool = False

    def canonical(self) -> str:
        return f"{NAME}/{self.cell}" + pad_text(self.pad) + ("/ignore-error/1" if self.ignore_error else "")

    def estimate(self, before: Estimate) -> Estimate:
        return cover_estimate(before)

    def apply(self, state: State, ctx: Context) -> State:
        return cover_faces(state, ctx, NAME, self.pad, self.change)

    def change(self, face_width: float) -> Change:
        return pixelated(max(self.cell, math.ceil(face_width / CELLS_ACROSS)))


def parse(args: list[str]) -> FaceMosaic:
    options = read_options(NAME, args, positional=1, keys=("pad",))
    cell = read_int(NAME, "cell", options.positional[0], MIN_CELL, MAX_CELL)
    return FaceMosaic(cell, read_pad(NAME, options.values), options.ignore_error)
