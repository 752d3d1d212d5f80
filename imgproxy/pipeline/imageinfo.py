"""imageInfo: Qiniu's `{"size", "format", "width", "height", "colorModel"}` (+ `frameNumber` for a GIF,
`orientation` for an image with an EXIF orientation tag), read from the header without decoding
the pixels.

As Qiniu's, width and height are the pixels' as stored: a phone's portrait stored on its side with
orientation `Right-top` reports its width larger than its height. With IMGPROXY_AUTO_ROTATE they
are the size as displayed, which every image op then works on.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from imgproxy.errors import BadRequest
from imgproxy.imaging.decode import open_checked
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.exif import NAMED_VALUES
from imgproxy.pipeline.options import read_options
from imgproxy.pipeline.values import Document, Encoded, Estimate, Raster, State

NAME = "imageInfo"
ORIENTATIONS = NAMED_VALUES["Orientation"]  # libexif's words, as Qiniu answers them: "Top-left", "Right-top"...
# A HEIF is named for the HEVC coding inside it: the only one this proxy decodes, and what phones write.
FORMATS = {
    "JPEG": "jpeg",
    "MPO": "jpeg",
    "PNG": "png",
    "GIF": "gif",
    "WEBP": "webp",
    "BMP": "bmp",
    "TIFF": "tiff",
    "HEIF": "heic",
}
# Qiniu names colour models as Go's image/color does: a JPEG is "ycbcr", a truecolour PNG "rgba"
# (its alpha-less pixels are stored as RGBA), one with alpha "nrgba" (non-premultiplied).
MODELS = {
    "1": "gray",
    "L": "gray",
    "I;16": "gray16",
    "I;16B": "gray16",
    "I": "gray16",
    "LA": "nrgba",
    "RGB": "rgba",
    "RGBA": "nrgba",
    "CMYK": "cmyk",
}


@dataclass(frozen=True)
class ImageInfo:
    ignore_error: bool = False

    def canonical(self) -> str:
        return NAME + ("/ignore-error/1" if self.ignore_error else "")

    def estimate(self, before: Estimate) -> Estimate:
        """A JSON document; reads the header only."""
        return before if before.size is None else before.then(None, 0, 0)

    def apply(self, state: State, ctx: Context) -> State:
        # After an image op, describe what that op would have answered.
        encoded = state.encoded() if isinstance(state, Raster) else state
        if not isinstance(encoded, Encoded):
            raise BadRequest(f"{NAME}: needs an image, but the op before it answers JSON")
        header = encoded.header(ctx.settings.max_source_pixels)
        width, height = header.size if ctx.settings.auto_rotate else header.stored
        body: dict[str, object] = {
            "size": len(encoded.data),
            "format": FORMATS.get(header.format, header.format.lower()),
            "width": width,
            "height": height,
            "colorModel": color_model(open_checked(encoded.data, ctx.settings.max_source_pixels)),
        }
        if header.format == "GIF":
            body["frameNumber"] = header.frames
        if header.orientation is not None:
            body["orientation"] = ORIENTATIONS[header.orientation]
        return Document(body)


def color_model(image: Image.Image) -> str:
    """The colour model of an opened (not decoded) image, in Qiniu's words."""
    if image.format in ("JPEG", "MPO"):
        return {"L": "gray", "CMYK": "cmyk"}.get(image.mode, "ycbcr")
    if image.format in ("WEBP", "HEIF"):  # lossy WebP and HEIC are YCbCr, with an alpha plane beside it when they have one
        return "nycbcra" if image.mode == "RGBA" else "ycbcr"
    if image.mode in ("P", "PA") and image.palette is not None:
        return f"palette{len(image.palette.palette) // len(image.palette.mode)}"
    return MODELS.get(image.mode, image.mode.lower())


def parse(args: list[str]) -> ImageInfo:
    return ImageInfo(read_options(NAME, args).ignore_error)
