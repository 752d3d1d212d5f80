"""Hostile input against a live server: decompression bombs, formats that start programs, broken
metadata, absurd numbers. Each gets a clear 4xx JSON answer, and the server keeps serving, within
its memory, with no program started."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import struct
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pillow_heif
import pytest
from conftest import Proxy, error_of, start_proxy, stop
from images import endless_eps, frame_bomb_gif, gif_outgrowing_screen, ico_around_png, jpeg_with_broken_metadata, scan_bomb_jpeg
from PIL import ImageFile
from starlette.requests import Request

from imgproxy.api import qiniu, tencent
from imgproxy.api.native import check_credentials
from imgproxy.config import Settings
from imgproxy.deadline import Deadline
from imgproxy.errors import ProcessingTimeout, TooLarge, Unauthorized, Unsupported
from imgproxy.faces.finder import FaceFinder
from imgproxy.http.errors import internal_error
from imgproxy.http.tokens import check_download_token
from imgproxy.imaging.frames import MAX_FRAMES
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.parse import parse_pipeline
from imgproxy.pipeline.run import run
from imgproxy.pipeline.values import Encoded
from imgproxy.samples import grace_hopper

BOMBS = {
    # name: (bytes, status, what the message says)
    "scans.jpg": (scan_bomb_jpeg(), 413, "progressive JPEG of 15001 scans, over the limit of 100"),
    "frames.gif": (gif_outgrowing_screen(), 413, "image is 16000x16000 (256.0 MP), over the limit of 50 MP"),
    "icon.ico": (ico_around_png(), 415, "a format this proxy cannot read"),
    "loop.eps": (endless_eps(), 415, "a format this proxy cannot read"),
}
OPS = ("imageView2/2/w/100", "facecrop2/50x50", "imageInfo", "facedetect")
# 20000 frames of 100 px: 3.5 MB, 800 MB if every frame were decoded as RGBA.
FRAME_BOMB = frame_bomb_gif(20000)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> Iterator[Proxy]:
    """A proxy of its own, with one worker, over the bombs and a photo with broken metadata."""
    folder = tmp_path_factory.mktemp("hostile")
    for name, (data, _, _) in BOMBS.items():
        (folder / name).write_bytes(data)
    for photo in ("grace_hopper.jpg", "large.jpg"):
        (folder / photo).write_bytes((samples_dir / photo).read_bytes())
    (folder / "many-frames.gif").write_bytes(FRAME_BOMB)
    (folder / "broken-metadata.jpg").write_bytes(jpeg_with_broken_metadata(grace_hopper()))
    (folder / "loop").symlink_to(folder / "loop")
    running = start_proxy(str(folder), tmp_path_factory.mktemp("logs"), api_open="1", threads="2")
    yield running
    stop(running.process)


def peak_bytes(pid: int) -> int:
    """The most memory the process has held at once since it started (its high-water mark)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def children(pid: int) -> list[str]:
    """The process ids of the process's children, from /proc (every thread's own list)."""
    return [child for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()]


def test_bombs_in_flight_leave_the_server_serving_within_its_memory(hostile: Proxy):
    """First in the module, so the server's peak memory so far is its start-up's."""
    before = peak_bytes(hostile.process.pid)
    paths = [f"/{name}?imageView2/2/w/100" for name in BOMBS for _ in range(2)]
    with ThreadPoolExecutor(len(paths) + 1) as pool:
        bombs = [pool.submit(hostile.get, path) for path in paths]
        normal = pool.submit(hostile.get, "/grace_hopper.jpg?facecrop2/100x100")
        assert normal.result().status_code == 200
        assert all(400 <= bomb.result().status_code < 500 for bomb in bombs)
    # Decoded, the GIF and the icon take 250 MB each, however briefly.
    assert peak_bytes(hostile.process.pid) - before < 100 * 2**20
    assert children(hostile.process.pid) == []


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_bomb_is_refused_before_decoding(hostile: Proxy, name: str, op: str):
    _, status, message = BOMBS[name]
    assert message in error_of(hostile.get(f"/{name}?{op}"), status)


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_bomb_uploaded_to_the_detect_api_is_refused(hostile: Proxy, name: str):
    data, status, message = BOMBS[name]
    response = httpx.post(hostile.url + "/v1/face/detect", files={"image": (name, data)}, timeout=60)
    assert message in error_of(response, status)


def test_a_frame_bomb_is_answered_as_it_came_and_costs_nothing(hostile: Proxy):
    """As Qiniu: an image op on an animation over the frame limit answers the original, whose
    frames are counted from the container and never decoded (the first request in the module
    keeps the server's memory in check, the bombs in flight with it)."""
    before = peak_bytes(hostile.process.pid)
    for op in ("imageView2/2/w/50", "imageMogr2/thumbnail/50x/rotate/90", "imageMogr2/blur/3x2|imageView2/2/w/50/format/png"):
        response = hostile.get(f"/many-frames.gif?{op}")
        assert (response.status_code, response.headers["content-type"]) == (200, "image/gif"), op
        assert response.content == FRAME_BOMB, op
    assert hostile.get("/many-frames.gif?imageInfo").json()["frameNumber"] == 20000
    # facecrop2 and facedetect decode the first frame only; a frame of one colour has no face
    assert "no face" in error_of(hostile.get("/many-frames.gif?facecrop2/50x50"), 422)
    assert hostile.get("/many-frames.gif?facedetect").json()["faces"] == []
    # faceblur must not answer the faces it was asked to hide
    assert "20000 frames, over the limit of 300" in error_of(hostile.get("/many-frames.gif?faceblur/5"), 400)
    assert peak_bytes(hostile.process.pid) - before < 100 * 2**20


def test_no_frame_of_an_animation_over_the_frame_limit_is_decoded(monkeypatch: pytest.MonkeyPatch):
    loads: list[int] = []
    load = ImageFile.ImageFile.load

    def counted(image: ImageFile.ImageFile) -> object:
        loads.append(image.tell())
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counted)
    pipeline = parse_pipeline("imageMogr2/thumbnail/4x/rotate/90|imageView2/2/w/2", 30)
    over = frame_bomb_gif(MAX_FRAMES + 1, 8)
    result = run(pipeline, Encoded(over, "image/gif"), Context(Settings(), FaceFinder(0)))
    assert (result.body, result.content_type, loads) == (over, "image/gif", [])
    at_limit = frame_bomb_gif(MAX_FRAMES, 8)
    assert run(pipeline, Encoded(at_limit, "image/gif"), Context(Settings(), FaceFinder(0))).body != at_limit
    assert len(loads) >= MAX_FRAMES  # what the count above would have caught


def heic_declaring(width: int, height: int) -> bytes:
    """Grace Hopper as a HEIC whose image spatial extents property (the size its header gives)
    says `width`x`height`, whatever the HEVC stream inside holds."""
    out = io.BytesIO()
    pillow_heif.from_pillow(grace_hopper()).save(out, quality=50)
    data = out.getvalue()
    extents = data.index(b"ispe") + 8  # after the box type and its version and flags
    return data[:extents] + struct.pack(">II", width, height) + data[extents + 8 :]


def test_a_heic_bomb_is_refused_from_its_header(monkeypatch: pytest.MonkeyPatch):
    bomb = Encoded(heic_declaring(30000, 30000), "image/heic")

    def decoding(image: ImageFile.ImageFile) -> None:
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decoding)
    for op in ("imageView2/2/w/100", "facecrop2/50x50", "imageInfo"):
        with pytest.raises(TooLarge, match=r"image is 30000x30000 \(900.0 MP\), over the limit of 50 MP"):
            run(parse_pipeline(op, 30), bomb, Context(Settings(), FaceFinder(0)))


def test_a_heic_whose_pixels_outgrow_its_header_is_refused_by_libheif():
    """The header's size is the one checked; libheif refuses to decode more pixels than it gives."""
    small = Encoded(heic_declaring(10, 10), "image/heic")
    with pytest.raises(Unsupported, match="Security limit exceeded"):
        run(parse_pipeline("imageView2/2/w/5", 30), small, Context(Settings(), FaceFinder(0)))


def test_broken_icc_and_exif_blocks_do_not_break_the_ops(hostile: Proxy):
    for op in ("imageMogr2/strip", "imageMogr2/thumbnail/100x/strip", "imageView2/2/w/100", "imageInfo", "facecrop2/100x100"):
        assert hostile.get(f"/broken-metadata.jpg?{op}").status_code == 200, op
    assert hostile.get("/broken-metadata.jpg?exif").status_code in (200, 422)


@pytest.mark.parametrize("path", ["/loop", "/loop?imageInfo", "/" + "n" * 300 + ".jpg", "/" + "n" * 300 + ".jpg?imageInfo"])
def test_symlink_loops_and_overlong_names_are_404(hostile: Proxy, path: str):
    assert error_of(hostile.get(path), 404) == "Document not found"


@pytest.mark.parametrize(
    "query,message",
    [
        ("facedetect/max/%C2%B2", "max must be a whole number from 1 to 1000, got '²'"),
        ("imageView2/2/w/%E2%91%A0", "w must be a whole number from 1 to 9999, got '①'"),
        ("facecrop2/%D9%A3x%D9%A3", "size must be <W>x<H>"),
        ("facecrop2/" + "9" * 5000 + "x1", "size must be <W>x<H>"),
        ("imageMogr2/rotate/" + "9" * 5000, "rotate must be a whole number from 1 to 360"),
    ],
)
def test_numbers_int_cannot_read_are_400(hostile: Proxy, query: str, message: str):
    assert message in error_of(hostile.get(f"/grace_hopper.jpg?{query}"), 400)


def test_a_json_body_with_a_huge_integer_is_400(hostile: Proxy):
    body = b'{"image_url": "http://example.com/a.jpg", "max": ' + b"9" * 5000 + b"}"
    response = httpx.post(hostile.url + "/v1/face/detect", content=body, headers={"Content-Type": "application/json"}, timeout=60)
    assert "not valid JSON" in error_of(response, 400)


@pytest.mark.parametrize("path", [qiniu.PATH, tencent.PATH])
def test_a_vendor_json_body_with_a_huge_integer_is_the_vendors_error_not_a_crash(hostile: Proxy, path: str):
    body = b'{"image": "aGVsbG8=", "appid": "1", "mode": ' + b"9" * 5000 + b"}"
    response = httpx.post(hostile.url + path, content=body, headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code < 500, response.text


def test_a_tencent_signature_with_an_overlong_expiry_is_malformed_not_a_crash():
    signed = b"a=1&b=&k=ak&e=" + b"9" * 5000 + b"&t=1&r=1&f="
    with pytest.raises(tencent.TencentError) as error:
        tencent.parse_signature(base64.b64encode(b"\0" * 20 + signed).decode())
    assert error.value.code == tencent.SIGNATURE_MALFORMED


def test_a_pipeline_over_the_work_budget_is_refused_at_once(hostile: Proxy):
    """30 blurs or 30 small turns of a 12 MP photo: half a minute of work once, refused from the header."""
    for step in ("imageMogr2/blur/3x2", "imageMogr2/rotate/1"):
        pipeline = "|".join([step] * 30)
        assert "over the limit of 250 MP" in error_of(hostile.get(f"/large.jpg?{pipeline}"), 400)
    assert hostile.get("/large.jpg?imageMogr2/blur/3x2|imageMogr2/thumbnail/200x").status_code == 200


def test_a_deadline_stops_the_work_between_frames_and_steps():
    ticks = iter(range(1000))

    def clock() -> float:  # one second passes every time the deadline is checked
        return float(next(ticks))

    out = io.BytesIO()
    frames = [grace_hopper().resize((40, 48)).rotate(angle) for angle in (0, 10, 20, 30)]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    ctx = Context(Settings(), FaceFinder(0))
    ctx.deadline = Deadline(2.5, clock)
    with pytest.raises(ProcessingTimeout) as error:
        run(parse_pipeline("imageMogr2/rotate/90|imageMogr2/blur/3x2", 30), Encoded(out.getvalue(), "image/gif"), ctx)
    assert error.value.status == 503 and "longer than the limit of 2.5 s" in error.value.message


def test_a_deadline_with_an_overlong_number_is_malformed_not_a_crash():
    with pytest.raises(Unauthorized, match="malformed deadline"):
        check_download_token("http://cdn.example.com/a.jpg", "e=" + "9" * 5000 + "&token=ak:sig", {"ak": "sk"}, 0)


def test_a_non_ascii_authorization_header_is_refused_not_a_crash():
    with pytest.raises(Unauthorized):
        check_credentials("Basic \xe9\xe9\xe9", Settings(api_keys="ak:sk"))


def test_an_internal_error_closes_the_connection_it_breaks():
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    response = asyncio.run(internal_error(request, RuntimeError("bug")))
    assert response.status_code == 500 and response.headers["connection"] == "close"


def test_gs_would_be_there_to_start():
    """The EPS test means something only where Ghostscript is installed (CI installs it)."""
    if os.environ.get("CI"):
        assert subprocess.run(["which", "gs"], capture_output=True).returncode == 0
