"""Animated images (GIF, WebP, APNG): every frame decoded whole, changed alike, written back with its timing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from PIL import Image, ImageOps, ImageSequence

from imgproxy.errors import ProxyError, TooLarge, Unsupported
from imgproxy.imaging.containers import gif_layout
from imgproxy.imaging.decode import open_checked

# Formats whose animations this proxy reads and writes; a JPEG answer keeps the first frame.
ANIMATED = frozenset({"GIF", "WEBP", "PNG"})
# Most frames an image op works on, every one decoded and processed; beyond it the op answers the
# original unchanged (as Qiniu), faceblur and facemosaic a 400.
MAX_FRAMES = 300
DEFAULT_DURATION = 100  # ms, what browsers assume for a frame that states none


@dataclass(frozen=True)
class Animation:
    frames: tuple[Image.Image, ...]
    durations: tuple[int, ...]  # ms, one per frame
    loop: int  # 0 loops forever

    def map(self, change: Callable[[Image.Image], Image.Image], before_each: Callable[[], None]) -> Animation:
        changed = []
        for frame in self.frames:
            before_each()
            changed.append(change(frame))
        return replace(self, frames=tuple(changed))


def read_animation(data: bytes, max_pixels: int, before_each: Callable[[], None]) -> Animation:
    """Every frame of the animation in `data` as a full RGBA canvas (Pillow composites GIF frames
    over the ones before them), oriented like a still image.

    The frames together must stay within `max_pixels`, the limit a still image has, since they all
    sit in memory at once.
    """
    image = open_checked(data, max_pixels)
    frames = getattr(image, "n_frames", 1)
    width, height = gif_layout(data).canvas if image.format == "GIF" else image.size
    if width * height * frames > max_pixels:
        raise TooLarge(f"animation is {width}x{height} x {frames} frames, over the limit of {max_pixels / 1e6:g} MP")
    decoded, durations = [], []
    try:
        for frame in ImageSequence.Iterator(image):
            before_each()
            # convert() keeps the EXIF block in info, which is what exif_transpose reads the orientation from.
            decoded.append(ImageOps.exif_transpose(frame.convert("RGBA")))
            durations.append(int(frame.info.get("duration") or DEFAULT_DURATION))
    except ProxyError:  # the deadline
        raise
    except Exception as exc:  # Pillow raises many types on broken frame data
        raise Unsupported(f"image data is truncated or corrupt: {exc}") from None
    return Animation(tuple(decoded), tuple(durations), int(image.info.get("loop", 0)))
