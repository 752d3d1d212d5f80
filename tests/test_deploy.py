"""The deployment files speak the proxy's real interface: its settings and its health paths."""

import re

import pytest
from conftest import REPO

from imgproxy.config import describe

SETTINGS = {env for env, *_ in describe()}
FILES = ["deploy/Dockerfile", "deploy/kubernetes.yaml", "deploy/imgproxy.service"]


@pytest.mark.parametrize("name", FILES)
def test_only_real_settings_are_used(name):
    used = set(re.findall(r"IMGPROXY_[A-Z0-9_]+", (REPO / name).read_text()))
    assert used <= SETTINGS, used - SETTINGS


def test_probes_use_the_health_paths():
    manifest = (REPO / "deploy/kubernetes.yaml").read_text()
    assert "path: /readyz" in manifest and "path: /healthz" in manifest
    assert "/healthz" in (REPO / "deploy/Dockerfile").read_text()


def test_credentials_come_from_a_secret():
    manifest = (REPO / "deploy/kubernetes.yaml").read_text()
    assert "secretRef: {name: imgproxy-credentials" in manifest
    assert not re.search(r"AWS_SECRET_ACCESS_KEY\s*[:=]\s*\S", manifest.replace("=...", ""))
