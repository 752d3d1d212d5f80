"""imageView2/<mode>/w/<W>/h/<H>/format/<f>/interlace/<0|1>/q/<q>[!]/ignore-error/<0|1>: Qiniu's thumbnails.

Modes, as Qiniu documents them (w and h bound the long and short edge in modes 0, 4 and 5):
0 long edge <= w and short edge <= h; 1 at least w x h, then the centre w x h; 2 inside w x h;
3 at least w x h; 4 long edge >= w and short edge >= h; 5 mode 4, then the centre crop.
A missing w or h bounds nothing in modes 0 and 2 and equals the other in modes 1, 3, 4 and 5.
The output is never larger than the source (see `resize.imageview2`).

As imageMogr2 without auto-orient, it works on the pixels as stored (w is the stored width), and a
JPEG answer keeps the EXIF orientation tag, so a browser shows it upright; IMGPROXY_AUTO_ROTATE=1
and a face gravity work on the upright image.

`gravity/<face|faces>` (modes 1 and 5, an extension: Qiniu's imageView2 has no gravity) moves the
cut onto the faces, as imageMogr2's face gravity does; the cut keeps its size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from imgproxy.errors import BadRequest
from imgproxy.imaging.encode import FORMAT_NAMES, URL_NAMES
from imgproxy.imaging.resize import Region, Size, check_output, imageview2, resample
from imgproxy.pipeline.context import Context, image_view, load_raster
from imgproxy.pipeline.imagemogr2 import FACE_GRAVITIES, place_on_faces
from imgproxy.pipeline.options import MAX_SIDE, Quality, read_choice, read_flag, read_int, read_options, read_quality
from imgproxy.pipeline.values import Estimate, State, area, output

NAME = "imageView2"
CUT_MODES = (1, 5)


@dataclass(frozen=True)
class ImageView2:
    mode: int
    width: int | None = None
    height: int | None = None
    format: str | None = None  # Pillow's name; None keeps the source's
    interlace: bool = False
    quality: Quality | None = None  # None: the configured default, 75 as in Qiniu
    gravity: str | None = None  # face or faces; None: the centre, and always without w and h
    ignore_error: bool = False

    def canonical(self) -> str:
        parts = [NAME, str(self.mode)]
        if self.width is not None:
            parts += ["w", str(self.width)]
        if self.height is not None:
            parts += ["h", str(self.height)]
        if self.gravity is not None:
            parts += ["gravity", self.gravity]
        if self.format is not None:
            parts += ["format", URL_NAMES[self.format]]
        if self.interlace:
            parts += ["interlace", "1"]
        if self.quality is not None:
            parts += ["q", self.quality.text()]
        if self.ignore_error:
            parts += ["ignore-error", "1"]
        return "/".join(parts)

    def scaled(self, src: Size) -> Size:
        return imageview2(src, self.mode, self.width, self.height)[0]

    def region(self, src: Size) -> Region:
        """The centred cut: a face gravity moves it (`apply`) but never resizes it."""
        return Region.of(src, *imageview2(src, self.mode, self.width, self.height))

    def estimate(self, before: Estimate) -> Estimate:
        if before.size is None:
            return before
        size = self.region(before.size).size
        return before.then(size, area(before.size), area(size))

    def apply(self, state: State, ctx: Context) -> State:
        settings = ctx.settings
        as_stored = not (settings.auto_rotate or self.gravity is not None)
        src, _ = image_view(state, ctx, NAME, as_stored=as_stored)
        region = self.region(src)
        raster = load_raster(state, ctx, NAME, min(1.0, region.scale), as_stored=as_stored)
        bounds = "/".join(f"{key}/{value}" for key, value in (("w", self.width), ("h", self.height)) if value)
        check_output(
            NAME,
            bounds or "the size without w or h",
            region.size,
            raster.frame_count,
            settings.max_output_side,
            settings.max_output_pixels,
        )
        if self.gravity is not None:
            region, notes = place_on_faces(state, ctx, src, self.scaled(src), region, FACE_GRAVITIES[self.gravity], op=NAME)
            raster = replace(raster, notes={**raster.notes, **notes})
        raster = raster.map(lambda image: resample(image, region, src), ctx.deadline)
        return output(raster, self.format, self.quality or Quality(settings.quality), self.interlace, src)


def parse(args: list[str]) -> ImageView2:
    options = read_options(NAME, args, positional=1, keys=("w", "h", "format", "interlace", "q", "gravity", "colors"))
    values = options.values
    if "colors" in values:  # Qiniu documents it; the palette is the encoder's, which this proxy does not let URLs set
        raise BadRequest(f"{NAME}: colors is not supported")
    mode = read_int(NAME, "mode", options.positional[0], 0, 5)
    gravity = None
    if "gravity" in values:
        gravity = read_choice(NAME, "gravity", values["gravity"], {name: name for name in FACE_GRAVITIES})
        if mode not in CUT_MODES:
            raise BadRequest(f"{NAME}: gravity places the cut of modes 1 and 5; mode {mode} cuts nothing")
        if "w" not in values and "h" not in values:
            gravity = None  # the size is kept: there is no cut to place
    return ImageView2(
        mode=mode,
        width=read_int(NAME, "w", values["w"], 1, MAX_SIDE) if "w" in values else None,
        height=read_int(NAME, "h", values["h"], 1, MAX_SIDE) if "h" in values else None,
        format=read_choice(NAME, "format", values["format"], FORMAT_NAMES) if "format" in values else None,
        interlace=read_flag(NAME, "interlace", values["interlace"]) if "interlace" in values else False,
        quality=read_quality(NAME, "q", values["q"]) if "q" in values else None,
        gravity=gravity,
        ignore_error=options.ignore_error,
    )
