"""exif: Qiniu's `{"<Tag>": {"val": "<text>", "type": <EXIF type>}}` of the image's EXIF block.

The tags are those of IFD0, the Exif IFD and the GPS IFD, named as in the EXIF standard; `type`
is the entry's EXIF type (2 ASCII, 3 SHORT, 5 RATIONAL, 7 UNDEFINED...) and `val` the text libexif
(which Qiniu's answers come from) would show, for the tags below; other values are written plainly.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, TiffImagePlugin

from imgproxy.errors import BadRequest, Unprocessable
from imgproxy.imaging.decode import open_checked
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.options import read_options
from imgproxy.pipeline.values import Document, Encoded, Estimate, Raster, State

NAME = "exif"
ASCII, UNDEFINED = 2, 7
RATIONALS = (5, 10)
SUB_IFDS = {ExifTags.IFD.Exif: ExifTags.TAGS, ExifTags.IFD.GPSInfo: ExifTags.GPSTAGS}
POINTERS = {ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo, ExifTags.IFD.Interop}

# libexif's words for the coded values users look at most.
NAMED_VALUES: dict[str, dict[int, str]] = {
    "Orientation": {
        1: "Top-left",
        2: "Top-right",
        3: "Bottom-right",
        4: "Bottom-left",
        5: "Left-top",
        6: "Right-top",
        7: "Right-bottom",
        8: "Left-bottom",
    },
    "ResolutionUnit": {2: "Inch", 3: "Centimeter"},
    "FocalPlaneResolutionUnit": {2: "Inch", 3: "Centimeter"},
    "ColorSpace": {1: "sRGB", 2: "Adobe RGB", 0xFFFF: "Uncalibrated"},
    "YCbCrPositioning": {1: "Centered", 2: "Co-sited"},
    "ExposureProgram": {
        0: "Not defined",
        1: "Manual",
        2: "Normal program",
        3: "Aperture priority",
        4: "Shutter priority",
        5: "Creative program (biased toward depth of field)",
        6: "Creative program (biased toward fast shutter speed)",
        7: "Portrait mode (for closeup photos with the background out of focus)",
        8: "Landscape mode (for landscape photos with the background in focus)",
    },
    "MeteringMode": {
        0: "Unknown",
        1: "Average",
        2: "Center-weighted average",
        3: "Spot",
        4: "Multi spot",
        5: "Pattern",
        6: "Partial",
        255: "Other",
    },
    "Flash": {
        0: "Flash did not fire",
        1: "Flash fired",
        16: "Flash did not fire, compulsory flash mode",
        24: "Flash did not fire, auto mode",
        25: "Flash fired, auto mode",
        32: "No flash function",
    },
    "WhiteBalance": {0: "Auto white balance", 1: "Manual white balance"},
    "ExposureMode": {0: "Auto exposure", 1: "Manual exposure", 2: "Auto bracket"},
    "SceneCaptureType": {0: "Standard", 1: "Landscape", 2: "Portrait", 3: "Night scene"},
}


@dataclass(frozen=True)
class Exif:
    ignore_error: bool = False

    def canonical(self) -> str:
        return NAME + ("/ignore-error/1" if self.ignore_error else "")

    def estimate(self, before: Estimate) -> Estimate:
        """A JSON document; reads the EXIF block only."""
        return before if before.size is None else before.then(None, 0, 0)

    def apply(self, state: State, ctx: Context) -> State:
        if isinstance(state, Raster):  # answers this proxy makes never carry EXIF
            raise Unprocessable(f"{NAME}: no exif data")
        if not isinstance(state, Encoded):
            raise BadRequest(f"{NAME}: needs an image, but the op before it answers JSON")
        raw = open_checked(state.data, ctx.settings.max_source_pixels).info.get("exif")
        tags = read_exif(raw) if raw else {}
        if not tags:
            raise Unprocessable(f"{NAME}: no exif data")
        return Document(tags)


def read_exif(raw: bytes) -> dict[str, dict[str, Any]]:
    """Qiniu's JSON of an EXIF block (a TIFF structure, after an optional `Exif\\0\\0`)."""
    data = raw.removeprefix(b"Exif\x00\x00")
    fp = io.BytesIO(data)
    head = fp.read(8)
    try:
        ifd0 = load_ifd(fp, head, TiffImagePlugin.ImageFileDirectory_v2(head).next)
        ifds = [(ifd0, ExifTags.TAGS)]
        ifds += [(load_ifd(fp, head, ifd0[tag], tag), names) for tag, names in SUB_IFDS.items() if tag in ifd0]
    except Exception:  # a corrupt block: as good as none
        return {}
    tags: dict[str, dict[str, Any]] = {}
    for ifd, names in ifds:
        for tag, value in ifd.items():
            if tag in POINTERS or tag not in names:
                continue
            kind = ifd.tagtype[tag]
            tags[names[tag]] = {"val": describe(names[tag], kind, value), "type": kind}
    return tags


def load_ifd(fp: io.BytesIO, head: bytes, offset: int, group: int | None = None) -> TiffImagePlugin.ImageFileDirectory_v2:
    ifd = TiffImagePlugin.ImageFileDirectory_v2(head, group=group)
    fp.seek(offset)
    ifd.load(fp)
    return ifd


def describe(name: str, kind: int, value: Any) -> str:
    """The value as libexif writes it for people: `1/50 sec.`, `f/5.6`, `Exif Version 2.3`, `Inch`."""
    if kind == ASCII:
        return str(value).strip("\x00 ")
    values = tuple(value) if isinstance(value, (bytes, tuple)) else (value,)
    if kind == UNDEFINED:
        return undefined(name, bytes(values))
    if name in NAMED_VALUES and len(values) == 1 and values[0] in NAMED_VALUES[name]:
        return NAMED_VALUES[name][values[0]]
    if kind in RATIONALS and len(values) == 1 and values[0].denominator:
        number = float(values[0])
        if name == "ExposureTime":
            return f"1/{round(1 / number)} sec." if 0 < number < 1 else f"{number:g} sec."
        if name == "FNumber":
            return f"f/{number:.1f}"
        if name in ("ApertureValue", "MaxApertureValue"):
            return f"{number:.2f} EV (f/{2 ** (number / 2):.1f})"
        if name == "ShutterSpeedValue":
            return f"{number:.2f} EV (1/{round(2**number)} sec.)"
        if name in ("ExposureBiasValue", "BrightnessValue"):
            return f"{number:.2f} EV"
        if name == "FocalLength":
            return f"{number:.1f} mm"
    return ", ".join(number_text(v) for v in values)


def number_text(value: Any) -> str:
    """A rational with as many decimals as its denominator has digits (libexif's rule), else the number."""
    if isinstance(value, TiffImagePlugin.IFDRational):
        if not value.denominator:
            return f"{value.numerator}/0"
        decimals = int(math.log10(value.denominator) - 0.08 + 1.0)
        return f"{float(value):.{decimals}f}"
    return str(value)


def undefined(name: str, data: bytes) -> str:
    if name in ("ExifVersion", "FlashPixVersion", "InteroperabilityVersion") and len(data) == 4:
        text = data.decode("ascii", "replace")
        label = {"ExifVersion": "Exif", "FlashPixVersion": "FlashPix"}.get(name, "Interoperability")
        return f"{label} Version {int(text[:2]) if text[:2].isdigit() else text[:2]}.{text[2:].rstrip('0') or '0'}"
    if name == "ComponentsConfiguration":
        return " ".join({1: "Y", 2: "Cb", 3: "Cr", 4: "R", 5: "G", 6: "B"}.get(b, "-") for b in data)
    return f"{len(data)} bytes undefined data"


def parse(args: list[str]) -> Exif:
    return Exif(read_options(NAME, args).ignore_error)
