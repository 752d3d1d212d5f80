"""Real parts for the tests: sample photos on disk, the proxy under uvicorn, nginx as an HTTP origin."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from imgproxy.api.dialect import endpoint
from imgproxy.samples import write_samples

try:
    from playwright.sync_api import Browser, expect, sync_playwright
except ImportError:  # the browser fixture skips, or fails in CI
    sync_playwright = None

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"  # Debian's: never a browser Playwright downloads
WAIT = 60_000  # ms, for a browser: against a hang only; a slow machine must never fail a test
FACES_DEV = REPO.parent / "shared" / "data" / "faces-dev"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {seconds} s")


@dataclass
class Proxy:
    url: str
    process: subprocess.Popen
    log: Path

    def get(self, path: str, **kwargs) -> httpx.Response:
        return httpx.get(self.url + path, timeout=60, **kwargs)

    def head(self, path: str, **kwargs) -> httpx.Response:
        return httpx.head(self.url + path, timeout=60, **kwargs)


def error_of(response: httpx.Response, status: int) -> str:
    """The message of a proxy error answer, after checking it is one: JSON, never cached."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    return response.json()["error"]


def answer_when_work_fails(dialect: ModuleType, error: Exception) -> httpx.Response:
    """What a vendor dialect's endpoint answers when its work fails with `error` (in-process):
    failures that cannot be caused from outside, like a bug or shed load."""

    async def failing(request: Request, service: object) -> dict:
        raise error

    app = Starlette(routes=[Route(dialect.PATH, endpoint(replace(dialect.DIALECT, result=failing)), methods=["POST"])])
    app.state.service = None  # the failing work never reaches it

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy") as client:
            return await client.post(dialect.PATH)

    return asyncio.run(call())


def start_proxy(origin: str, log_dir: Path, environ: Mapping[str, str] | None = None, **settings: str) -> Proxy:
    """`imgproxy serve` as a user runs it, on a free loopback port, ready when /readyz says so;
    `environ` adds other variables (AWS credentials) to the process's environment."""
    port = free_port()
    env = {**os.environ, **(environ or {}), "IMGPROXY_DEBUG_HEADERS": "1"}
    env.update({"IMGPROXY_" + name.upper(): value for name, value in settings.items()})
    log = log_dir / f"proxy-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "imgproxy", "serve", "--host", "127.0.0.1", "--port", str(port), "--origin", origin],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/readyz", process)
    except Exception as exc:
        process.kill()
        raise RuntimeError(log.read_text(errors="replace")[-3000:]) from exc
    return Proxy(url, process, log)


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@pytest.fixture(scope="session")
def samples_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples, to which tests add files of their own (hostile ones among them)."""
    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder)
    return folder


@pytest.fixture(scope="session")
def demo_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples exactly as `make run` builds them, for tests of what a user sees in the folder;
    nothing is added to it."""
    folder = tmp_path_factory.mktemp("demo-samples")
    write_samples(folder)
    return folder


@pytest.fixture(scope="session")
def proxy(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """The proxy over a folder of sample photos, debug headers on, the detect APIs open."""
    running = start_proxy(str(samples_dir), tmp_path_factory.mktemp("logs"), api_open="1")
    yield running
    stop(running.process)


@pytest.fixture(scope="session")
def closed(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """The proxy with neither API keys nor IMGPROXY_API_OPEN: every detect API refuses requests."""
    running = start_proxy(str(samples_dir), tmp_path_factory.mktemp("logs"))
    yield running
    stop(running.process)


@dataclass
class Nginx:
    url: str
    root: Path
    access_log: Path

    def hits(self, path: str, method: str = "GET") -> int:
        """How many `method` requests for `path` reached this origin."""
        lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
        return sum(1 for line in lines if line.split(" ")[:2] == [method, path])


def start_nginx(config: str, prefix: Path, ready_url: str) -> subprocess.Popen:
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed: .ci/run installs it with apt-get install nginx")
    conf = prefix / "nginx.conf"
    conf.write_text(config)
    process = subprocess.Popen(
        ["nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off; pid nginx.pid;"],
        stdout=subprocess.DEVNULL,
        stderr=(prefix / "stderr.log").open("wb"),
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise RuntimeError((prefix / "stderr.log").read_text())
            try:
                httpx.get(ready_url, timeout=1)
                return process
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    except Exception:
        process.kill()
        raise


@pytest.fixture(scope="module")
def nginx_origin(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> Iterator[Nginx]:
    """Real nginx serving a copy of the samples on a free loopback port, logging every request."""
    tmp_path = tmp_path_factory.mktemp("nginx")
    root = tmp_path / "bucket"
    shutil.copytree(samples_dir, root)
    (tmp_path / "logs").mkdir()
    port = free_port()
    # As root (CI), nginx workers would drop to `nobody`, who cannot read pytest's private temp folders.
    user = "user root;" if os.geteuid() == 0 else ""
    config = textwrap.dedent(f"""
        {user}
        worker_processes 1;
        error_log {tmp_path}/logs/error.log;
        events {{ worker_connections 256; }}
        http {{
            types {{ image/jpeg jpg jpeg; image/png png; text/html html; }}
            default_type application/octet-stream;
            log_format origin '$request_method $uri $status';
            access_log {tmp_path}/logs/access.log origin;
            client_body_temp_path {tmp_path}/logs;
            proxy_temp_path {tmp_path}/logs;
            fastcgi_temp_path {tmp_path}/logs;
            uwsgi_temp_path {tmp_path}/logs;
            scgi_temp_path {tmp_path}/logs;
            server {{
                listen 127.0.0.1:{port};
                root {root};
                location = /html-as-jpeg.jpg {{ default_type image/jpeg; types {{ }} }}
                location /slow/ {{ limit_rate 20k; alias {root}/; }}
                location = /redirect.jpg {{ return 302 http://[::1]:{port}/grace_hopper.jpg; }}
            }}
        }}
    """)
    process = start_nginx(config, tmp_path, f"http://127.0.0.1:{port}/")
    yield Nginx(f"http://127.0.0.1:{port}", root, tmp_path / "logs" / "access.log")
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")  # not longer: Playwright's sync API keeps an event loop running, which asyncio.run refuses
def browser() -> Iterator[Browser]:
    missing = None
    if sync_playwright is None:
        missing = "playwright is not installed (pyproject's test extra)"
    elif not os.path.exists(CHROMIUM):
        missing = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI installs it (.ci/run)")
        pytest.skip(missing)
    expect.set_options(timeout=WAIT)
    with sync_playwright() as playwright:
        # As root (CI's container) Chromium's sandbox cannot start; the page is our own anyway.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()
