"""`imgproxy detect` and `imgproxy crop` on a folder of real photos, a corrupt file and a file with no face;
their exit statuses, crop's progress bar, and the native libraries' chatter kept off stderr."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from conftest import start_proxy, stop
from PIL import Image

from imgproxy import samples
from imgproxy.cli import crop_name, image_files

# What MediaPipe and TensorFlow Lite print on their own when a graph first runs (imgproxy/quiet.py).
CHATTER = ("TensorFlow Lite", "absl::InitializeLog", "W0000", "inference_feedback_manager", "landmark_projection_calculator")
# The runner's own IMGPROXY_* settings would change what the commands do and add warnings to stderr.
ENV = {name: value for name, value in os.environ.items() if not name.startswith("IMGPROXY_")}


def imgproxy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imgproxy", *args], env=env or ENV, capture_output=True, text=True, timeout=300)


def on_terminal(*args: str) -> tuple[int, str]:
    """imgproxy run with its stderr on a pseudo-terminal 100 columns wide: its exit status and what
    the terminal was sent."""
    screen, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "imgproxy", *args], env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal
    )
    os.close(terminal)
    shown = bytearray()
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            if select.select([screen], [], [], 1)[0]:
                try:
                    chunk = os.read(screen, 65536)
                except OSError:  # EIO: the last process holding the terminal has exited
                    break
                if not chunk:
                    break
                shown += chunk
    finally:
        os.close(screen)
    return process.wait(timeout=60), shown.decode(errors="replace")


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hopper.jpg, people/astronaut.png, corrupt.jpg (cut short), empty/no_face.jpg and a text file."""
    root = tmp_path_factory.mktemp("photos")
    (root / "hopper.jpg").write_bytes(samples.jpeg_bytes(samples.grace_hopper()))
    (root / "people").mkdir()
    samples.astronaut().save(root / "people" / "astronaut.png")
    (root / "corrupt.jpg").write_bytes(samples.jpeg_bytes(samples.large_photo((1600, 1200)))[:6000])
    (root / "empty").mkdir()
    (root / "empty" / "no_face.jpg").write_bytes(samples.jpeg_bytes(samples.background((800, 600), seed=3)))
    (root / "notes.txt").write_text("not a photo")
    return root


def test_folders_are_walked_for_images_and_named_files_are_taken_as_they_are(photos: Path):
    found = [p.relative_to(photos).as_posix() for p in image_files([str(photos)])]
    assert found == ["corrupt.jpg", "empty/no_face.jpg", "hopper.jpg", "people/astronaut.png"]
    assert image_files([str(photos / "notes.txt")]) == [photos / "notes.txt"]


def test_crop_names_keep_jpegs_and_never_collide():
    assert crop_name(Path("a/b.jpg")) == Path("a/b.jpg")
    assert crop_name(Path("b.JPEG")) == Path("b.JPEG")
    assert crop_name(Path("a/b.png")) == Path("a/b.png.jpg")


def test_detect_prints_one_json_line_per_file(photos: Path):
    run = imgproxy("detect", str(photos), str(photos / "notes.txt"), "--max", "1", "--landmarks", "--jobs", "2")
    assert run.returncode == 1, run.stderr  # two files failed
    lines = {Path(line["file"]).relative_to(photos).as_posix(): line for line in map(json.loads, run.stdout.splitlines())}
    assert list(lines) == ["corrupt.jpg", "empty/no_face.jpg", "hopper.jpg", "people/astronaut.png", "notes.txt"]
    assert "corrupt" in lines["corrupt.jpg"]["error"] and "not an image" in lines["notes.txt"]["error"]
    assert lines["empty/no_face.jpg"]["faces"] == []
    hopper = lines["hopper.jpg"]
    assert (hopper["width"], hopper["height"], hopper["orientation"]) == (512, 600, 0)
    (face,) = hopper["faces"]
    assert len(face["landmarks"]) == 478 and "pose" not in face and face["score"] > 0.5
    assert len(lines["people/astronaut.png"]["faces"]) == 1


def test_detect_answers_what_the_server_answers(proxy, samples_dir: Path):
    run = imgproxy("detect", str(samples_dir / "grace_hopper.jpg"), "--attributes")
    assert run.returncode == 0, run.stderr
    line = json.loads(run.stdout)
    assert line.pop("file") == str(samples_dir / "grace_hopper.jpg")
    assert line == proxy.get("/grace_hopper.jpg?facedetect/attributes/1").json()


def test_detect_refuses_bad_options_before_reading_anything(photos: Path):
    run = imgproxy("detect", str(photos), "--max", "0")
    assert run.returncode == 2 and run.stdout == ""
    assert "max must be a whole number" in run.stderr


def test_detect_keeps_the_native_libraries_chatter_off_stderr(samples_dir: Path):
    # The console script, as a user runs it; --landmarks runs the mesh graph too.
    command = Path(sys.executable).with_name("imgproxy")
    photo = str(samples_dir / "grace_hopper.jpg")
    run = subprocess.run([command, "detect", photo, "--landmarks"], env=ENV, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert not [line for line in run.stderr.splitlines() if any(word in line for word in CHATTER)], run.stderr
    (face,) = json.loads(run.stdout)["faces"]
    assert len(face["landmarks"]) == 478


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_keeps_the_native_libraries_chatter_out_of_its_log(samples_dir: Path, tmp_path: Path, workers: str):
    server = start_proxy(str(samples_dir), tmp_path, workers=workers, api_open="1")
    try:
        assert server.get("/grace_hopper.jpg?facedetect/attributes/1").status_code == 200
    finally:
        stop(server.process)
    log = server.log.read_text()
    assert "Application shutdown complete" in log  # the workers' lines reach it, through the filter when workers > 1
    assert not [line for line in log.splitlines() if any(word in line for word in CHATTER)], log


def test_the_native_stderr_filter_passes_on_everything_else():
    script = """if True:
        import os, sys
        from imgproxy import quiet
        quiet.filter_native_stderr()
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n")
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
        os.write(2, b"W0000 00:00:1796246517.284477    4572 inference_feedback_manager.cc:114] Feedback manager\\n")
        os.write(2, b"I0000 00:00:1796246517.284477    4572 gl_context.cc:357] GL version: 3.2\\n")
        os.write(2, b"E0000 00:00:1796246517.459801    4598 calculator_graph.cc:928] a real native error\\n")
        os.write(2, b"a native line of another library\\n")
        print("a Python line", file=sys.stderr)
        raise RuntimeError("a Python error")
    """
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    lines = run.stderr.splitlines()
    assert "E0000 00:00:1796246517.459801    4598 calculator_graph.cc:928] a real native error" in lines
    assert "a native line of another library" in lines and "a Python line" in lines
    assert "RuntimeError: a Python error" in lines and "Traceback (most recent call last):" in lines
    assert not [line for line in lines if any(word in line for word in CHATTER)], run.stderr
    assert not [line for line in lines if line.startswith("I0000")], run.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["crop"], "the following arguments are required: DIR, --size, --out"),
        (["detect"], "the following arguments are required: PATH"),
        (["resize"], "invalid choice: 'resize'"),
        (["crop", "{photos}", "--size", "200", "--out", "{tmp}/x"], "imgproxy crop: --size: facecrop2: size must be"),
        (["crop", "{tmp}/none", "--size", "20x20", "--out", "{tmp}/x"], "none is not a folder"),
        (["crop", "{tmp}", "--size", "20x20", "--out", "{tmp}/x"], "imgproxy crop: no images in"),
        (["detect", "{photos}", "--minsize", "big"], "imgproxy detect: facedetect: minsize"),
    ],
)
def test_usage_errors_exit_with_status_2_before_any_work(photos: Path, tmp_path: Path, args: list[str], message: str):
    run = imgproxy(*(arg.format(photos=photos, tmp=tmp_path) for arg in args))
    assert (run.returncode, run.stdout) == (2, ""), run.stderr
    assert message in run.stderr
    assert not (tmp_path / "x").exists()


def test_a_bad_setting_exits_with_status_2(photos: Path, tmp_path: Path):
    env = {**ENV, "IMGPROXY_QUALITY": "best"}
    for args in (["detect", str(photos / "hopper.jpg")], ["crop", str(photos), "--size", "20x20", "--out", str(tmp_path)]):
        run = imgproxy(*args, env=env)
        assert (run.returncode, run.stdout) == (2, "")
        assert "IMGPROXY_QUALITY: expected a whole number, got 'best'" in run.stderr


def test_crop_writes_the_good_ones_and_reports_the_failures(photos: Path, tmp_path: Path):
    out = tmp_path / "crops"
    run = imgproxy("crop", str(photos), "--size", "120x100", "--out", str(out), "--jobs", "2")
    assert run.returncode == 1
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["hopper.jpg", "people/astronaut.png.jpg"]
    for name in written:
        with Image.open(out / name) as crop:
            assert (crop.format, crop.size) == ("JPEG", (120, 100))
    # Not a terminal: no bar, no chatter, only a line per failure (in the files' order) and the summary.
    assert "\r" not in run.stderr
    corrupt, no_face, summary = run.stderr.splitlines()
    assert corrupt.startswith(f"{photos / 'corrupt.jpg'}: image data is truncated or corrupt")
    assert no_face == f"{photos / 'empty' / 'no_face.jpg'}: facecrop2: no face detected"
    assert summary == f"cropped 2 of 4 images into {out}, 2 failed"


def test_crop_on_a_terminal_shows_a_progress_bar_with_its_rate(photos: Path, tmp_path: Path):
    status, shown = on_terminal("crop", str(photos), "--size", "120x100", "--out", str(tmp_path / "crops"), "--jobs", "2")
    assert status == 1, shown
    # The bar's last state: count of total, elapsed<remaining, the rate (inverted below 1 photo/s), failures.
    assert re.search(r"cropping: 100%\|.*\| 4/4 \[\d\d:\d\d<00:00, +[\d.]+(photo/s|s/photo), 2 failed\]", shown), shown
    # What stays on screen of each line: the terminal ends lines with \r\n, the bar redraws after a \r.
    lines = [line.rsplit("\r", 1)[-1] for line in shown.replace("\r\n", "\n").split("\n")[:-1]]
    assert f"{photos / 'empty' / 'no_face.jpg'}: facecrop2: no face detected" in lines
    assert lines[-1] == f"cropped 2 of 4 images into {tmp_path / 'crops'}, 2 failed"
    assert not [word for word in CHATTER if word in shown], shown


def test_crop_of_good_photos_succeeds_and_sizes_are_checked(photos: Path, tmp_path: Path):
    good = tmp_path / "good"
    good.mkdir()
    (good / "hopper.jpg").write_bytes((photos / "hopper.jpg").read_bytes())
    run = imgproxy("crop", str(good), "--size", "200x200", "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    assert "cropped 1 of 1 images" in run.stderr
    too_big = imgproxy("crop", str(good), "--size", "800x800", "--out", str(tmp_path / "big"))
    assert too_big.returncode == 1 and "exceeds image size 512x600" in too_big.stderr
    bad = imgproxy("crop", str(good), "--size", "200", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "--size" in bad.stderr and not (tmp_path / "x").exists()
