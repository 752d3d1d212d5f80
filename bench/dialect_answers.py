"""What every detect API answers to a fixed set of requests, written as JSON lines to compare runs.

    .venv/bin/python bench/dialect_answers.py answers-before.jsonl
    ... change the code ...
    .venv/bin/python bench/dialect_answers.py answers-after.jsonl && diff answers-before.jsonl answers-after.jsonl

A refactor of the API dialects must leave the file unchanged. Starts `imgproxy serve` with the APIs
open over a temporary samples folder and sends each request as a real client would; the fields
that differ on every call (request_id, time_used, log_id) are replaced by their type's name.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imgproxy.samples import write_samples

VOLATILE = ("request_id", "time_used", "log_id")
APPID = "1251000000"


def start(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = 18000 + os.getpid() % 1000
    env = {**os.environ, "IMGPROXY_API_OPEN": "1", "IMGPROXY_ACCESS_LOG": "0", "IMGPROXY_URL_ALLOWLIST": "127.0.0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "imgproxy", "serve", "--port", str(port), "--origin", str(folder)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the proxy did not start")


def requests(folder: Path, url: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(name, path, httpx.post keyword arguments) for every request of the set."""
    photos = {
        name: (folder / name).read_bytes()
        for name in ("grace_hopper.jpg", "astronaut.jpg", "large.jpg", "no_face.jpg", "sideways.jpg")
    }
    not_image = b"<html>not an image</html>"
    for name, data in [*photos.items(), ("html", not_image), ("empty", b"")]:
        encoded = base64.b64encode(data).decode()
        yield f"native {name}", "/v1/face/detect", {"files": {"image": (name, data)}}
        yield (
            f"native {name} landmarks+attributes",
            "/v1/face/detect",
            {"files": {"image": (name, data)}, "data": {"landmarks": "1", "attributes": "1", "max": "3"}},
        )
        yield f"facepp {name}", "/facepp/v3/detect", {"files": {"image_file": (name, data)}}
        yield (
            f"facepp {name} all",
            "/facepp/v3/detect",
            {
                "files": {"image_file": (name, data)},
                "data": {"return_landmark": "2", "return_attributes": "headpose,blur,facequality", "calculate_all": "1"},
            },
        )
        yield f"facepp {name} base64 landmark 1", "/facepp/v3/detect", {"data": {"image_base64": encoded, "return_landmark": "1"}}
        yield f"faceid {name}", "/faceid/v1/detect", {"files": {"image": (name, data)}}
        yield (
            f"faceid {name} multi",
            "/faceid/v1/detect",
            {"files": {"image": (name, data)}, "data": {"multi_oriented_detection": "1"}},
        )
        yield f"tencent {name}", "/face/detect", {"files": {"image": (name, data)}, "data": {"appid": APPID}}
        yield f"tencent {name} mode 1", "/face/detect", {"files": {"image": (name, data)}, "data": {"appid": APPID, "mode": "1"}}
        yield f"qiniu {name}", "/v2/facedetect", {"json": {"image": encoded, "image_type": "BASE64"}}
        yield (
            f"qiniu {name} fields",
            "/v2/facedetect",
            {
                "json": {
                    "image": encoded,
                    "image_type": "BASE64",
                    "max_face_num": 5,
                    "face_field": "age,beauty,expression,face_shape,gender,glasses,landmark,landmark150,quality,"
                    "eye_status,emotion,face_type,mask,spoofing",
                }
            },
        )
    yield "facepp url", "/facepp/v3/detect", {"data": {"image_url": url + "/grace_hopper.jpg"}}
    yield (
        "facepp bad rectangle",
        "/facepp/v3/detect",
        {"files": {"image_file": ("a", photos["grace_hopper.jpg"])}, "data": {"face_rectangle": "1,2,x,4"}},
    )
    yield (
        "facepp unknown attribute",
        "/facepp/v3/detect",
        {"files": {"image_file": ("a", photos["grace_hopper.jpg"])}, "data": {"return_attributes": "smiling"}},
    )
    yield "facepp no image", "/facepp/v3/detect", {"data": {"return_landmark": "1"}}
    yield "faceid no image", "/faceid/v1/detect", {"data": {}}
    yield "tencent url", "/face/detect", {"json": {"appid": APPID, "url": url + "/grace_hopper.jpg"}}
    yield "tencent missing url", "/face/detect", {"json": {"appid": APPID, "url": url + "/missing.jpg"}}
    yield "tencent no image", "/face/detect", {"json": {"appid": APPID}}
    yield "qiniu url", "/v2/facedetect", {"json": {"image": url + "/grace_hopper.jpg", "image_type": "URL"}}
    yield "qiniu bad type", "/v2/facedetect", {"json": {"image": "x", "image_type": "GIF"}}
    yield "qiniu no image", "/v2/facedetect", {"json": {}}
    yield "qiniu not json", "/v2/facedetect", {"data": {"image": "x"}}
    yield "native url", "/v1/face/detect", {"json": {"image_url": url + "/grace_hopper.jpg", "max": 2}}
    yield "native bad option", "/v1/face/detect", {"json": {"image_url": url + "/grace_hopper.jpg", "max": 0}}
    yield "native unknown field", "/v1/face/detect", {"json": {"picture": "x"}}


def stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: (type(item).__name__ if key in VOLATILE else stable(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [stable(item) for item in value]
    return value


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "dialect-answers.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "samples"
        write_samples(folder)
        process, url = start(folder)
        try:
            with out.open("w") as lines:
                for name, path, kwargs in requests(folder, url):
                    response = httpx.post(url + path, timeout=60, **kwargs)
                    try:
                        body: Any = stable(response.json())
                    except ValueError:
                        body = response.text
                    headers = {
                        k: v
                        for k, v in response.headers.items()
                        if k in ("content-type", "cache-control", "retry-after", "www-authenticate")
                    }
                    lines.write(
                        json.dumps(
                            {"request": name, "status": response.status_code, "headers": headers, "body": body}, sort_keys=True
                        )
                        + "\n"
                    )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
