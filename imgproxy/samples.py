"""Sample photos built from the real ones that matplotlib and scikit-image ship.

`python -m imgproxy.samples DIR` writes the folder `make run` serves; tests and benchmarks build
their composites (small faces on large canvases, faces at edges, EXIF-rotated copies) from here.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def grace_hopper() -> Image.Image:
    import matplotlib

    return Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB")


def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


def coffee() -> Image.Image:
    """A real photo with no face in it: a cup of coffee (scikit-image)."""
    from skimage import data

    return Image.fromarray(data.coffee())


def background(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A plain backdrop with no face in it: a soft two-colour gradient, like a wall or the sky.

    Busy random textures are a poor canvas: at low scores the detector reads faces into them.
    """
    rng = np.random.default_rng(seed)
    top, bottom = rng.integers(60, 200, size=(2, 3))
    ramp = np.linspace(0.0, 1.0, size[1])[:, None, None]
    pixels = top + (bottom - top) * ramp + np.zeros((1, size[0], 1))
    return Image.fromarray(pixels.astype(np.uint8))


def with_grain(image: Image.Image, sigma: float = 4.0, seed: int = 0) -> Image.Image:
    """Sensor-like noise, so a large composite encodes and decodes like a real photo."""
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, dtype=np.int16) + rng.normal(0, sigma, (image.height, image.width, 1)).astype(np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def place(canvas: Image.Image, photo: Image.Image, width: int, at: tuple[int, int]) -> Image.Image:
    """`canvas` with `photo` scaled to `width` pixels wide pasted at `at` (top-left)."""
    scaled = photo.resize((width, round(photo.height * width / photo.width)), Image.Resampling.LANCZOS)
    out = canvas.copy()
    out.paste(scaled, at)
    return out


def large_photo(size: tuple[int, int] = (4000, 3000)) -> Image.Image:
    """A ~12 MP photo: Grace Hopper filling most of the frame beside the astronaut."""
    canvas = background(size)
    canvas = place(canvas, grace_hopper(), size[0] * 11 // 20, (0, 0))
    canvas = place(canvas, astronaut(), size[0] * 9 // 20, (size[0] * 11 // 20, size[1] // 8))
    return with_grain(canvas)


def jpeg_bytes(image: Image.Image, quality: int = 90, orientation: int | None = None) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def sample_files() -> dict[str, bytes]:
    hopper = grace_hopper()
    return {
        "grace_hopper.jpg": jpeg_bytes(hopper),
        "astronaut.jpg": jpeg_bytes(astronaut()),
        "large.jpg": jpeg_bytes(large_photo(), quality=88),
        "small_face.jpg": jpeg_bytes(place(background((3000, 2000), seed=1), hopper, 360, (2100, 500))),
        "edge.jpg": jpeg_bytes(place(background((1600, 900), seed=2), hopper, 512, (1088, 0))),
        # Stored turned 90 degrees clockwise; EXIF orientation 8 tells viewers to turn it back.
        "rotated.jpg": jpeg_bytes(hopper.transpose(Image.Transpose.ROTATE_270), orientation=8),
        # Stored on its side with no EXIF to say so, as some phone uploads are: facedetect/rotate/1 finds her.
        "sideways.jpg": jpeg_bytes(hopper.transpose(Image.Transpose.ROTATE_90)),
        "no_face.jpg": jpeg_bytes(coffee()),
    }


def write_samples(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in sample_files().items():
        (folder / name).write_bytes(data)


if __name__ == "__main__":
    write_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "samples"))
