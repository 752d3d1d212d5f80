"""facecrop2/<W>x<H>[/pad/<f>][/faces/<largest|all|N>][/fallback/<mode>][/ignore-error/<0|1>]: a WxH
JPEG centred on the faces (DESIGN section 3). Without the extensions it is Qiniu's facecrop2."""

from __future__ import annotations

from dataclasses import dataclass

from imgproxy.errors import BadRequest, Unprocessable
from imgproxy.faces.detect import detection_scale
from imgproxy.imaging.decode import as_rgb
from imgproxy.imaging.resize import Region, check_output, resample
from imgproxy.pipeline.context import Context, image_size, load
from imgproxy.pipeline.framing import KEYS, CropOptions, Framing, frame, no_face_message, read_crop_options
from imgproxy.pipeline.options import MAX_SIDE, read_options, read_size
from imgproxy.pipeline.values import Estimate, Raster, State, area

NAME = "facecrop2"


@dataclass(frozen=True)
class FaceCrop2:
    width: int
    height: int
    options: CropOptions = CropOptions()
    ignore_error: bool = False

    def canonical(self) -> str:
        parts = [NAME, f"{self.width}x{self.height}", *self.options.canonical()]
        return "/".join(parts) + ("/ignore-error/1" if self.ignore_error else "")

    def estimate(self, before: Estimate) -> Estimate:
        if before.size is None:
            return before
        return before.then((self.width, self.height), area(before.size), self.width * self.height)

    def apply(self, state: State, ctx: Context) -> State:
        full = image_size(state, ctx, NAME)
        target = (self.width, self.height)
        if self.width > full[0] or self.height > full[1]:
            raise BadRequest(f"{NAME}: {self.width}x{self.height} exceeds image size {full[0]}x{full[1]}")
        settings = ctx.settings
        check_output(NAME, f"{self.width}x{self.height}", target, 1, settings.max_output_side, settings.max_output_pixels)

        framing = frame(state, ctx, full, target, self.options, op=NAME)
        if framing.reason == "original":
            return state
        window = framing.window
        if window is None:
            raise Unprocessable(no_face_message(NAME, self.options, len(framing.faces)))

        # The detection decode is usually fine enough for the crop too; decode again, finer, only
        # when the window is so small that it would be upscaled. Never coarser than the detection's
        # scale, so the crop is cut from the same pixels whether the detection ran here or came from
        # the cache: one URL always answers the same bytes, as its strong ETag promises.
        scale = max(self.width / window.w, self.height / window.h, detection_scale(full, self.options.detection.min_face_size))
        decoded = load(state, ctx, NAME, scale, reuse=framing.decoded)
        region = Region(target, (window.x, window.y, window.right, window.bottom))
        image = resample(as_rgb(decoded.image), region, full)
        return Raster(image, "JPEG", ctx.settings.quality, notes=notes(framing))


def notes(framing: Framing) -> dict[str, str]:
    """What the debug headers say of a crop: the faces found, the window, and why it is there."""
    assert framing.window is not None
    return {
        "X-Face-Count": str(len(framing.faces)),
        "X-Crop-Box": ",".join(str(v) for v in framing.window.rounded()),
        "X-Crop-Reason": framing.reason,
    }


def parse(args: list[str]) -> FaceCrop2:
    options = read_options(NAME, args, positional=1, keys=KEYS)
    width, height = read_size(NAME, "size", options.positional[0], MAX_SIDE)
    return FaceCrop2(width, height, read_crop_options(NAME, options.values), options.ignore_error)
