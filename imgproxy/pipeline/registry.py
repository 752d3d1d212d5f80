"""Every op the pipeline knows: its name in the URL and the function that parses its arguments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from imgproxy.pipeline import exif, faceblur, facecrop2, facedetect, facemosaic, imageave, imageinfo, imagemogr2, imageview2
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.values import Estimate, State


class Op(Protocol):
    @property
    def ignore_error(self) -> bool:
        """With ignore-error/1 a failing op passes its input on (Qiniu's rule)."""

    def canonical(self) -> str:
        """The op as one normal spelling, so equal pipelines share cache entries and ETags."""

    def estimate(self, before: Estimate) -> Estimate:
        """What the op would make of `before`, and the pixels it would read and write, from sizes
        alone: the work budget is checked on it before any pixel is touched."""

    def apply(self, state: State, ctx: Context) -> State:
        """Turn the previous op's output into this op's, raising ProxyError on failure."""


PARSERS: dict[str, Callable[[list[str]], Op]] = {
    facecrop2.NAME: facecrop2.parse,
    facedetect.NAME: facedetect.parse,
    faceblur.NAME: faceblur.parse,
    facemosaic.NAME: facemosaic.parse,
    imageview2.NAME: imageview2.parse,
    imagemogr2.NAME: imagemogr2.parse,
    imageinfo.NAME: imageinfo.parse,
    exif.NAME: exif.parse,
    imageave.NAME: imageave.parse,
}
