"""imageAve: Qiniu's `{"RGB": "0xRRGGBB"}`, the mean colour of the image."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import ImageStat

from imgproxy.pipeline.context import Context, load
from imgproxy.pipeline.options import read_options
from imgproxy.pipeline.values import Document, Estimate, State, area

NAME = "imageAve"
# A JPEG decoded at 1/8 scale is made of its 8x8 blocks' DC terms, which are the blocks' means:
# the mean of the whole comes out the same for an eighth of the work.
AVERAGE_SCALE = 1 / 8


@dataclass(frozen=True)
class ImageAve:
    ignore_error: bool = False

    def canonical(self) -> str:
        return NAME + ("/ignore-error/1" if self.ignore_error else "")

    def estimate(self, before: Estimate) -> Estimate:
        """A JSON document; reads every pixel once."""
        return before if before.size is None else before.then(None, area(before.size), 0)

    def apply(self, state: State, ctx: Context) -> State:
        rgba = load(state, ctx, NAME, AVERAGE_SCALE).image.convert("RGBA")
        alpha = rgba.getchannel("A")
        # Transparent pixels have no colour to count, unless nothing else is there.
        mask = alpha if alpha.getbbox() else None
        mean = ImageStat.Stat(rgba.convert("RGB"), mask=mask).mean
        return Document({"RGB": "0x" + "".join(f"{math.floor(channel + 0.5):02x}" for channel in mean)})


def parse(args: list[str]) -> ImageAve:
    return ImageAve(read_options(NAME, args).ignore_error)
