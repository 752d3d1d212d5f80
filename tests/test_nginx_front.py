"""nginx in front, with the repo's own nginx.conf.example: shared cache and consistent hashing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import REPO, Proxy, free_port, start_nginx, start_proxy, stop


def local_config(example: str, port: int, upstreams: list[Proxy], prefix: Path) -> str:
    """The example as written, with this test's port, instances and folders put in."""
    servers = [line for line in example.splitlines() if line.strip().startswith("server 127.0.0.1:808")]
    assert len(servers) == 2, "the example names two upstream instances"
    config = example.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    for line, proxy in zip(servers, upstreams, strict=True):
        config = config.replace(line, line.replace(line.split()[1], proxy.url.removeprefix("http://")))
    config = config.replace("/var/cache/nginx", str(prefix / "cache")).replace("/var/log/nginx", str(prefix))
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix}/tmp-{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = config.replace("http {\n", "http {\n" + temp_paths, 1)
    # As root (CI), nginx workers would drop to `nobody`, who cannot read pytest's private temp folders.
    return ("user root;\n" if os.geteuid() == 0 else "") + config


@pytest.fixture(scope="module")
def front(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Proxy]]]:
    prefix = tmp_path_factory.mktemp("front")
    (prefix / "cache").mkdir()
    upstreams: list[Proxy] = []
    try:
        upstreams += [start_proxy(str(samples_dir), prefix) for _ in range(2)]
        port = free_port()
        example = (REPO / "nginx.conf.example").read_text()
        nginx = start_nginx(local_config(example, port, upstreams, prefix), prefix, f"http://127.0.0.1:{port}/healthz")
        try:
            yield f"http://127.0.0.1:{port}", upstreams
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    finally:
        for proxy in upstreams:
            stop(proxy.process)


def served_by(upstreams: list[Proxy], path: str) -> list[int]:
    return [i for i, proxy in enumerate(upstreams) if f'"GET {path}"' in proxy.log.read_text()]


def test_results_are_cached_by_nginx(front):
    url, upstreams = front
    path = "/grace_hopper.jpg?facecrop2/160x160"
    first = httpx.get(url + path, timeout=30)
    second = httpx.get(url + path, timeout=30)
    assert first.status_code == second.status_code == 200
    assert (first.headers["x-cache-status"], second.headers["x-cache-status"]) == ("MISS", "HIT")
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    assert len(served_by(upstreams, path)) == 1
    assert sum(proxy.log.read_text().count(f'"GET {path}"') for proxy in upstreams) == 1


def test_errors_are_never_cached(front):
    url, _ = front
    for _ in range(2):
        response = httpx.get(url + "/no_face.jpg?facecrop2/100x100", timeout=30)
        assert response.status_code == 422 and response.headers["x-cache-status"] == "MISS"


def test_each_url_goes_to_one_instance_and_both_share_the_work(front):
    url, upstreams = front
    paths = [f"/astronaut.jpg?facecrop2/{side}x{side}" for side in range(100, 140)]
    for path in paths:
        assert httpx.get(url + path, timeout=30).status_code == 200
    owners = [served_by(upstreams, path) for path in paths]
    assert all(len(owner) == 1 for owner in owners)
    counts = [sum(1 for owner in owners if owner == [i]) for i in range(2)]
    assert min(counts) >= 5, counts
