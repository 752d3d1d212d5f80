"""`imgproxy detect` and `imgproxy crop` on a folder of real photos, a corrupt file and a file with no face."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from imgproxy import samples
from imgproxy.cli import Progress, crop_name, image_files


def imgproxy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imgproxy", *args], capture_output=True, text=True, timeout=300)


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


def test_progress_draws_on_a_terminal_only():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen, log = Terminal(), io.StringIO()
    for stream in (screen, log):
        bar = Progress(4, stream)
        for failed in (False, True, False, False):
            bar.advance(failed)
        bar.close()
    assert screen.getvalue().endswith("\r[" + "#" * 30 + "] 4/4, 1 failed\n")
    assert "] 2/4, 1 failed" in screen.getvalue()
    assert log.getvalue() == ""


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
    assert run.returncode != 0 and run.stdout == ""
    assert "max must be a whole number" in run.stderr


def test_crop_writes_the_good_ones_and_lists_the_failures(photos: Path, tmp_path: Path):
    out = tmp_path / "crops"
    run = imgproxy("crop", str(photos), "--size", "120x100", "--out", str(out), "--jobs", "2")
    assert run.returncode == 1
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["hopper.jpg", "people/astronaut.png.jpg"]
    for name in written:
        with Image.open(out / name) as crop:
            assert (crop.format, crop.size) == ("JPEG", (120, 100))
    report = run.stderr[run.stderr.index("cropped 2 of 4 images") :]
    assert f"{photos / 'corrupt.jpg'}: image data is truncated or corrupt" in report
    assert f"{photos / 'empty' / 'no_face.jpg'}: facecrop2: no face detected" in report


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
    assert bad.returncode != 0 and "--size" in bad.stderr and not (tmp_path / "x").exists()
