"""`imgproxy serve` and friends: flags mirror the `IMGPROXY_*` settings one to one.

`imgproxy detect` and `imgproxy crop` run the proxy's own ops (facedetect, facecrop2) on local
files, with the same settings (`IMGPROXY_QUALITY`, the size limits...) from the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from imgproxy import __version__, quiet
from imgproxy.config import METRICS_DIR_ENV, ConfigError, Settings, describe, env_name, unknown_settings
from imgproxy.logs import logging_config
from imgproxy.origin.folder import IMAGE_SUFFIXES

if TYPE_CHECKING:  # the commands import the pipeline when they run, so `serve` starts without it
    from imgproxy.pipeline.context import Context
    from imgproxy.pipeline.values import Encoded

T = TypeVar("T")
# Exit statuses besides 0: a command that cannot start as given (a flag, a setting, a path) stops
# with argparse's own status for a bad flag, so scripts tell it from files that failed.
USAGE_ERROR = 2
FILES_FAILED = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imgproxy", description="A face-aware image proxy for object storage.")
    parser.add_argument("--version", action="version", version=f"imgproxy {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the download path and the APIs over HTTP")
    for (env, flag, default, help), f in zip(describe(), fields(Settings), strict=True):
        serve.add_argument(flag, dest=f.name, metavar="VALUE", help=f"{help} [{env}, default {default}]")

    detect = commands.add_parser("detect", help="print the facedetect JSON of image files, one line per file")
    detect.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders searched recursively for images")
    detect.add_argument("--landmarks", action="store_true", help="add the face mesh's 478 landmarks to each face")
    detect.add_argument("--attributes", action="store_true", help="add pose, eyes, mouth and quality to each face")
    detect.add_argument("--max", metavar="N", help="keep the N largest faces")
    detect.add_argument("--minsize", metavar="PX", help="smallest face width to look for, in pixels of the image")
    detect.add_argument("--rotate", action="store_true", help="also look for faces turned by 90, 180 or 270 degrees")
    add_jobs(detect)

    crop = commands.add_parser("crop", help="facecrop2 every image of a folder into another folder")
    crop.add_argument("folder", metavar="DIR", help="folder searched recursively for images")
    crop.add_argument("--size", required=True, metavar="WxH", help="size of the crops, as facecrop2/<W>x<H>")
    crop.add_argument("--out", required=True, metavar="DIR", help="folder the crops are written to, with DIR's layout")
    add_jobs(crop)
    return parser


def add_jobs(command: argparse.ArgumentParser) -> None:
    cores = os.cpu_count() or 1
    command.add_argument(
        "--jobs", type=int, default=cores, metavar="N", help=f"images processed at once [default {cores}, one per core]"
    )


def serve_command(args: argparse.Namespace) -> None:
    from imgproxy.origin import Origins

    for f in fields(Settings):
        value = getattr(args, f.name)
        if value is not None:
            os.environ[env_name(f.name)] = value
    settings = local_settings("serve")
    metrics_dir = None
    if settings.workers > 1 and METRICS_DIR_ENV not in os.environ:
        # Before prometheus-client is first imported: each worker then writes its counts to files
        # there, and any worker's /metrics adds them all up (prometheus-client's multiprocess mode).
        metrics_dir = tempfile.mkdtemp(prefix="imgproxy-metrics-")
        os.environ[METRICS_DIR_ENV] = metrics_dir
    try:
        Origins(settings)  # fail now, naming the setting, rather than in every worker
    except ConfigError as exc:
        refuse("serve", str(exc))
    if settings.metrics_port:
        from imgproxy.metrics import serve_metrics

        serve_metrics(settings.host, settings.metrics_port)
    try:
        run_uvicorn(settings)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def run_uvicorn(settings: Settings) -> None:
    import uvicorn

    uvicorn.run(
        "imgproxy.http.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,
        timeout_graceful_shutdown=30,
        http="imgproxy.http.protocol:GuardedProtocol",
        # uvicorn annotates it int, but hands it to loop.call_later, which takes fractions of a second.
        timeout_keep_alive=settings.keep_alive_timeout,  # type: ignore[arg-type]
    )


def detect_command(args: argparse.Namespace) -> None:
    """One JSON object per file on stdout, `{"file": ..., **native}` or `{"file": ..., "error": ...}`;
    exit status 1 when any file failed."""
    from imgproxy.errors import ProxyError
    from imgproxy.pipeline.facedetect import FaceDetect, read_native_options
    from imgproxy.pipeline.values import Document

    flags = {"landmarks": args.landmarks, "attributes": args.attributes, "rotate": args.rotate}
    values = {name: "1" for name, on in flags.items() if on}
    values.update({name: value for name, value in (("max", args.max), ("minsize", args.minsize)) if value is not None})
    try:
        op = FaceDetect(read_native_options(values))
    except ProxyError as exc:
        refuse("detect", exc.message)
    settings = local_settings("detect")

    def detect_one(path: Path, data: bytes) -> dict[str, Any]:
        result = op.apply(encoded(data), context(settings))
        assert isinstance(result, Document)
        return result.body

    failed = False
    for path, outcome in run_files(image_files(args.paths), detect_one, settings, args.jobs):
        if isinstance(outcome, str):
            failed = True
            line = {"file": str(path), "error": outcome}
        else:
            line = {"file": str(path), **outcome}
        print(json.dumps(line, ensure_ascii=False, separators=(",", ":")), flush=True)
    sys.exit(FILES_FAILED if failed else 0)


def crop_command(args: argparse.Namespace) -> None:
    """facecrop2/<size> of every image under DIR, written under --out with the same layout; each
    failure reported with its reason as it happens, and exit status 1 when there are any."""
    from tqdm import tqdm

    from imgproxy.errors import ProxyError
    from imgproxy.pipeline import facecrop2
    from imgproxy.pipeline.values import Raster

    try:
        op = facecrop2.parse([args.size])
    except ProxyError as exc:
        refuse("crop", f"--size: {exc.message}")
    root, out = Path(args.folder), Path(args.out)
    if not root.is_dir():
        refuse("crop", f"{root} is not a folder")
    files = image_files([str(root)])
    if not files:
        refuse("crop", f"no images in {root}")
    settings = local_settings("crop")

    def crop_one(path: Path, data: bytes) -> None:
        result = op.apply(encoded(data), context(settings))
        assert isinstance(result, Raster)
        target = out / crop_name(path.relative_to(root))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(result.encoded().data)

    failed = 0
    # disable=None: the bar only on a terminal, so a log or a script's captured stderr holds just
    # the failure and summary lines.
    with tqdm(total=len(files), desc="cropping", unit="photo", file=sys.stderr, disable=None, dynamic_ncols=True) as bar:
        for path, outcome in run_files(files, crop_one, settings, args.jobs):
            if isinstance(outcome, str):
                failed += 1
                bar.write(f"{path}: {outcome}", file=sys.stderr)  # above the bar, which is then redrawn
                bar.set_postfix_str(f"{failed} failed", refresh=False)
            bar.update()
    print(f"cropped {len(files) - failed} of {len(files)} images into {out}, {failed} failed", file=sys.stderr)
    if failed:
        sys.exit(FILES_FAILED)


def local_settings(command: str) -> Settings:
    """The settings from the environment; a bad one stops the command, an unknown one is reported."""
    for line in unknown_settings(os.environ):
        print(f"imgproxy {command}: warning: {line}", file=sys.stderr)
    try:
        return Settings.from_env()
    except ConfigError as exc:
        refuse(command, str(exc))


def refuse(command: str, message: str) -> NoReturn:
    print(f"imgproxy {command}: {message}", file=sys.stderr)
    sys.exit(USAGE_ERROR)


def encoded(data: bytes) -> Encoded:
    from imgproxy.pipeline.values import Encoded

    return Encoded(data, "application/octet-stream")


def context(settings: Settings) -> Context:
    """A context per image, as the server makes one per request."""
    from imgproxy.faces.finder import FaceFinder
    from imgproxy.pipeline.context import Context

    return Context(settings, FaceFinder(0))  # every file is seen once: nothing to cache


def image_files(paths: Sequence[str]) -> list[Path]:
    """The files named, and the image files (by suffix) under the folders named, in a stable order.
    A named file is tried whatever its name; one that does not exist fails on its own line."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(path)
    return files


def crop_name(relative: Path) -> Path:
    """Where the crop of `relative` goes: JPEG names are kept, other names get ".jpg" added (so
    a.png and a.jpg do not write the same file)."""
    if relative.suffix.lower() in (".jpg", ".jpeg", ".jpe"):
        return relative
    return relative.with_name(relative.name + ".jpg")


def run_files(
    files: Sequence[Path], work: Callable[[Path, bytes], T], settings: Settings, jobs: int
) -> Iterable[tuple[Path, T | str]]:
    """(file, result or failure reason) for each file in order, `jobs` files at a time.

    `work` gets the file's path and bytes; a file that cannot be read, is over the size limit or
    that the op refuses yields the reason instead of a result.
    """
    from imgproxy.errors import ProxyError

    def one(path: Path) -> T | str:
        try:
            data = read_limited(path, settings.max_source_bytes)
            return work(path, data)
        except ProxyError as exc:
            return exc.message
        except OSError as exc:
            return f"cannot read: {exc.strerror or exc}"

    pool = ThreadPoolExecutor(max(1, jobs), thread_name_prefix="imgproxy-cli")
    try:
        yield from zip(files, pool.map(one, files), strict=True)
    finally:
        pool.shutdown(cancel_futures=True)  # on Ctrl-C, do not work through the rest of the folder first


def read_limited(path: Path, limit: int) -> bytes:
    from imgproxy.errors import TooLarge

    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"file is over the limit of {limit} bytes (IMGPROXY_MAX_SOURCE_BYTES)")
    return data


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    commands = {"serve": serve_command, "detect": detect_command, "crop": crop_command}
    quiet.filter_native_stderr()  # every command runs the face graphs, serve's in its workers too
    commands[args.command](args)
