"""facecrop2/200x200 against what users would pick instead, interleaved on one machine: ratios.

    .venv/bin/pip install -c constraints.txt -e '.[bench]'       # pyvips, libvips in its wheel
    python3 -m venv /tmp/thumbor-venv && /tmp/thumbor-venv/bin/pip install thumbor==7.8.0 'opencv-python-headless<5'
    .venv/bin/python bench/peers.py [--rounds 40] [--photos 4000x3000,crowd] [--thumbor /tmp/thumbor-venv/bin/thumbor]

For each photo, a 200x200 face-centred crop by:
  this, HTTP      GET /<photo>?facecrop2/200x200 from `imgproxy serve` (1 worker, caches off) on loopback
  this, in-proc   parse_pipeline + run, caches off: the same work without HTTP
  libvips         thumbnail_buffer(data, 200, height=200, crop="attention") and its JPEG (Q75, as this
                  project's default), one thread, no operation cache: the engine of the Go imgproxy's
                  smart crop (g:sm)
  floor           Pillow's 1/4-scale DCT decode (draft) alone, the least any shrink-on-load crop pays
  thumbor         thumbor 7.8 /unsafe/200x200/smart/ (OpenCV Haar faces), its own venv and server
                  (file loader, no storage): skipped, with the reason printed, when not installed
and, in the same rounds, facecrop2's parts: its own decode (at the scale it picks) and its
detection on that decode, with the detector passes it ran.

The machine is small and shared, so every round times each engine once on each photo, in a fresh
random order, and the table gives medians. Ratios are medians of the per-round ratios (the two
timings paired in the same round), so they are steadier than the milliseconds: compare them.
this/libvips and this/floor use the in-process timing (all three in-process); thumbor/this uses
the HTTP one (both servers over HTTP).

The photos are built here, deterministically: a grainy photo-like background (Pillow's
effect_noise, blurred, over a soft gradient) with Grace Hopper pasted at about a quarter of the
frame's width, JPEG q90; the 512x600 portrait is Grace Hopper alone; the crowd has 8 small faces.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import os
import random
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
from PIL import Image, ImageFilter
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import free_port, start, wait_until_ready
from bench.timing import floor_decode
from imgproxy.config import Settings
from imgproxy.faces.detect import Detection, DetectOptions
from imgproxy.faces.finder import FaceFinder, find_in
from imgproxy.imaging.decode import Decoded
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import run
from imgproxy.pipeline.values import Encoded
from imgproxy.samples import astronaut, background, grace_hopper, jpeg_bytes, place, with_grain

CROP = "200x200"
THUMBOR_DEFAULT = "/tmp/thumbor-venv/bin/thumbor"
THUMBOR_INSTALL = (
    "python3 -m venv /tmp/thumbor-venv && /tmp/thumbor-venv/bin/pip install thumbor==7.8.0 'opencv-python-headless<5'"
)
ENGINES = ["this, HTTP", "this, in-proc", "libvips", "floor", "thumbor"]
# Where facecrop2's time goes, timed in the same rounds: its own decode, and its detection on it.
PARTS = ["decode", "detect"]


# --- the photos ---------------------------------------------------------------------------------


@functools.cache
def noise_field() -> Image.Image:
    """Film-grain-like mottling for every background, made once at the largest size and cropped:
    effect_noise draws from C's rand(), so one call made first in the process gives the same
    pixels on every run, whichever photos are asked for."""
    return Image.effect_noise((4000, 3000), 48).filter(ImageFilter.GaussianBlur(1.5))


def grainy_background(size: tuple[int, int], seed: int) -> Image.Image:
    gradient = background(size, seed)
    grain = noise_field().crop((0, 0, *size)).convert("RGB")
    # Adds the blurred noise around its mean grey: gradient + (noise - 128).
    return Image.eval(Image.blend(gradient, grain, 0.5), lambda v: max(0, min(255, 2 * v - 128)))


def framed(size: tuple[int, int], seed: int, at: tuple[float, float]) -> Image.Image:
    """Grace Hopper a quarter of the frame wide, her top-left corner at fractions `at` of it."""
    canvas = grainy_background(size, seed)
    canvas = place(canvas, grace_hopper(), size[0] // 4, (round(size[0] * at[0]), round(size[1] * at[1])))
    return with_grain(canvas, seed=seed)


def crowd(size: tuple[int, int] = (1920, 1280)) -> Image.Image:
    """8 small faces, Grace Hopper and the astronaut in turn, 90 to 260 px wide, in a 4x2 grid."""
    canvas = grainy_background(size, seed=4)
    widths = [260, 120, 200, 90, 160, 240, 110, 180]
    cell_w, cell_h = size[0] // 4, size[1] // 2
    for i, width in enumerate(widths):
        photo = grace_hopper() if i % 2 == 0 else astronaut()
        col, row = i % 4, i // 4
        # Off the cell's centre by a fixed amount per face, so the grid isn't regular.
        x = col * cell_w + (cell_w - width) // 2 + (37 * i % 61) - 30
        y = row * cell_h + (cell_h - round(width * photo.height / photo.width)) // 2 + (53 * i % 71) - 35
        canvas = place(canvas, photo, width, (x, y))
    return with_grain(canvas, seed=4)


PHOTOS: dict[str, Callable[[], Image.Image]] = {
    "512x600": grace_hopper,  # a portrait filling the frame (grace_hopper.jpg is 512x600)
    "1920x1440": lambda: framed((1920, 1440), seed=1, at=(0.55, 0.2)),
    "4000x3000": lambda: framed((4000, 3000), seed=2, at=(0.15, 0.3)),
    "crowd": crowd,
}


# --- the engines --------------------------------------------------------------------------------


class RecordingFinder(FaceFinder):
    """A FaceFinder without cache that keeps facecrop2's decode, options and detection."""

    def __init__(self) -> None:
        super().__init__(0)
        self.last: tuple[Decoded, DetectOptions, Detection] | None = None

    def find(
        self, digest: str | None, load: Callable[[], Decoded], options: DetectOptions = DetectOptions()
    ) -> tuple[Decoded | None, Detection]:
        decoded, detection = super().find(digest, load, options)
        assert decoded is not None  # no cache
        self.last = decoded, options, detection
        return decoded, detection


def load_pyvips() -> ModuleType | str:
    """pyvips on one thread with its operation cache off, or why not."""
    os.environ["VIPS_CONCURRENCY"] = "1"  # read when libvips starts, at import
    try:
        import pyvips
    except ImportError as exc:
        return f"pyvips not installed ({exc}): .venv/bin/pip install -c constraints.txt -e '.[bench]'"
    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)
    pyvips.cache_set_max_files(0)
    pyvips.concurrency_set(1)
    return pyvips


def start_thumbor(executable: str, root: Path) -> tuple[subprocess.Popen[bytes], str] | str:
    """thumbor serving the files of `root` on a free loopback port, or why not."""
    if not Path(executable).is_file():
        return f"thumbor not found at {executable}; to include it: {THUMBOR_INSTALL}"
    conf = root.parent / "thumbor.conf"
    conf.write_text(
        f"LOADER = 'thumbor.loaders.file_loader'\n"
        f"FILE_LOADER_ROOT_PATH = {str(root)!r}\n"
        "STORAGE = 'thumbor.storages.no_storage'\n"
        "RESULT_STORAGE = None\n"
        "DETECTORS = ['thumbor.detectors.face_detector', 'thumbor.detectors.feature_detector']\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--ip", "127.0.0.1", "--conf", str(conf), "--log-level", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    problem = wait_until_ready(process, url + "/healthcheck")
    return (process, url) if problem is None else f"thumbor did not start: {problem}"


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def checked(response: httpx.Response) -> bytes:
    response.raise_for_status()
    return response.content


def size_of(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Photo:
    name: str
    data: bytes
    size: tuple[int, int]
    scale: float = 0.0  # the decode scale facecrop2 detected at
    passes: int = 0
    faces: int = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40, help="timings of each engine on each photo (default 40)")
    parser.add_argument("--photos", default=",".join(PHOTOS), help=f"a comma-separated subset of {','.join(PHOTOS)}")
    parser.add_argument("--thumbor", default=THUMBOR_DEFAULT, help="thumbor's executable, in its own venv; 'none' skips it")
    parser.add_argument("--seed", type=int, default=0, help="of the random order within each round")
    args = parser.parse_args()
    names = [n.strip() for n in args.photos.split(",") if n.strip()]
    if unknown := [n for n in names if n not in PHOTOS]:
        parser.error(f"unknown photos {unknown}; known: {', '.join(PHOTOS)}")
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "bench/peers.py", *sys.argv[1:]])

    noise_field()  # first, so its rand() draws never depend on what ran before
    photos = []
    for name in tqdm(names, desc="building photos", file=sys.stderr):
        image = PHOTOS[name]()
        photos.append(Photo(name, jpeg_bytes(image, quality=90), image.size))

    vips = load_pyvips()
    skipped: dict[str, str] = {}
    if isinstance(vips, str):
        skipped["libvips"] = vips
    settings = Settings(cache_bytes=0)
    pipeline = parse_pipeline(f"facecrop2/{CROP}", settings.max_pipeline_ops)
    width, height = (int(v) for v in CROP.split("x"))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "photos"
        root.mkdir()
        for photo in photos:
            (root / f"{photo.name}.jpg").write_bytes(photo.data)

        print("starting imgproxy serve and thumbor...", file=sys.stderr)
        proxy, proxy_url = start(root, 1, cache_bytes="0")
        thumbor = start_thumbor(args.thumbor, root) if args.thumbor != "none" else "--thumbor none"
        if isinstance(thumbor, str):
            skipped["thumbor"] = thumbor
        client = httpx.Client(timeout=60)
        try:
            calls: dict[tuple[str, str], Callable[[], bytes]] = {}
            for photo in photos:
                original = Encoded(photo.data, "image/jpeg")
                finder = RecordingFinder()
                run(pipeline, original, Context(settings, finder))
                assert finder.last is not None
                decoded, options, detection = finder.last
                photo.scale, photo.passes, photo.faces = decoded.scale, detection.passes, len(detection.faces)

                def in_process(original: Encoded = original) -> bytes:
                    return run(pipeline, original, Context(settings, FaceFinder(0))).body

                def http(name: str = photo.name) -> bytes:
                    return checked(client.get(f"{proxy_url}/{name}.jpg?facecrop2/{CROP}"))

                def floor(data: bytes = photo.data) -> bytes:
                    floor_decode(data, 0.25)
                    return b""

                calls[photo.name, "this, HTTP"] = http
                calls[photo.name, "this, in-proc"] = in_process
                calls[photo.name, "floor"] = floor

                def decode(data: bytes = photo.data, scale: float = photo.scale) -> bytes:
                    floor_decode(data, scale)
                    return b""

                def detect(decoded: Decoded = decoded, options: DetectOptions = options) -> bytes:
                    find_in(decoded, options)
                    return b""

                calls[photo.name, "decode"] = decode
                calls[photo.name, "detect"] = detect
                if not isinstance(vips, str):

                    def attention(data: bytes = photo.data, vips: ModuleType = vips) -> bytes:
                        thumb = vips.Image.thumbnail_buffer(data, width, height=height, crop="attention")
                        return bytes(thumb.jpegsave_buffer(Q=settings.quality))

                    calls[photo.name, "libvips"] = attention
                if not isinstance(thumbor, str):

                    def smart(name: str = photo.name, url: str = thumbor[1]) -> bytes:
                        return checked(client.get(f"{url}/unsafe/{CROP}/smart/{name}.jpg"))

                    calls[photo.name, "thumbor"] = smart

                # Warm-up (detector graph, connections, thumbor's cascade) and a check of every answer.
                for engine in ENGINES + PARTS:
                    if (photo.name, engine) in calls:
                        out = calls[photo.name, engine]()
                        if out and size_of(out) != (width, height):
                            raise SystemExit(f"{engine} on {photo.name} answered {size_of(out)}, not {CROP}")

            samples: dict[tuple[str, str], list[float]] = {key: [] for key in calls}
            rounds: list[dict[tuple[str, str], float]] = []
            order = random.Random(args.seed)
            load_before = os.getloadavg()
            with tqdm(total=args.rounds * len(calls), desc="timing", unit="call", file=sys.stderr) as bar:
                for _ in range(args.rounds):
                    keys = list(calls)
                    order.shuffle(keys)
                    this_round = {}
                    for key in keys:
                        started = time.perf_counter()
                        calls[key]()
                        this_round[key] = (time.perf_counter() - started) * 1000
                        samples[key].append(this_round[key])
                        bar.update()
                    rounds.append(this_round)
            load_after = os.getloadavg()
        finally:
            client.close()
            stop(proxy)
            if not isinstance(thumbor, str):
                stop(thumbor[0])

    def median_ms(name: str, engine: str) -> str:
        values = samples.get((name, engine))
        return f"{statistics.median(values):.1f}" if values else "-"

    def ratio(name: str, top: str, bottom: str) -> str:
        if (name, top) not in samples or (name, bottom) not in samples:
            return "-"
        return f"{statistics.median(r[name, top] / r[name, bottom] for r in rounds):.2f}"

    import mediapipe
    import PIL

    versions = [f"Python {sys.version.split()[0]}", f"Pillow {PIL.__version__}", f"MediaPipe {mediapipe.__version__}"]
    if not isinstance(vips, str):
        versions.append(f"pyvips {vips.__version__} (libvips {vips.version(0)}.{vips.version(1)}.{vips.version(2)})")
    if "thumbor" not in skipped:
        versions.append("thumbor " + thumbor_version(args.thumbor))
    print(f"command: {command}")
    print(
        f"machine: {os.cpu_count()} cores, load average {load_before[0]:.1f} before / {load_after[0]:.1f} after; "
        + ", ".join(versions)
    )
    print(f"{args.rounds} interleaved rounds; ms are medians, ratios medians of per-round ratios (paired timings)")
    for engine, why in skipped.items():
        print(f"skipped {engine}: {why}")
    print()
    print(
        "| photo | this, HTTP ms | this, in-proc ms | libvips attention ms | floor ms | thumbor ms "
        "| this/libvips | this/floor | thumbor/this |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for photo in photos:
        label = f"{photo.name} ({photo.size[0]}x{photo.size[1]})" if photo.name == "crowd" else photo.name
        cells = [median_ms(photo.name, engine) for engine in ENGINES]
        ratios = [
            ratio(photo.name, "this, in-proc", "libvips"),
            ratio(photo.name, "this, in-proc", "floor"),
            ratio(photo.name, "thumbor", "this, HTTP"),
        ]
        print(f"| {label} | " + " | ".join(cells + ratios) + " |")
    print()
    print("Where facecrop2's time goes (in-process): its decode, its detection on that decode, the rest (crop, encode).")
    print()
    print("| photo | JPEG q90 | sha256 | decoded at | decode ms | detector passes | detect ms | rest ms | faces found |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for photo in photos:
        short = hashlib.sha256(photo.data).hexdigest()[:12]
        decode_ms, detect_ms = (statistics.median(samples[photo.name, part]) for part in PARTS)
        # Paired in each round; below noise level (detection varies by more than the rest) it reads ~0.
        rest_ms = statistics.median(r[photo.name, "this, in-proc"] - sum(r[photo.name, part] for part in PARTS) for r in rounds)
        rest = f"{rest_ms:.1f}" if rest_ms >= 0.5 else "~0"
        print(
            f"| {photo.name} | {len(photo.data) / 1e6:.2f} MB | {short} | {photo.scale:g} | {decode_ms:.1f} "
            f"| {photo.passes} | {detect_ms:.1f} | {rest} | {photo.faces} |"
        )


def thumbor_version(executable: str) -> str:
    found = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False)
    return (found.stdout or found.stderr).strip().split()[1].lstrip("v") if found.returncode == 0 else "?"


if __name__ == "__main__":
    main()
