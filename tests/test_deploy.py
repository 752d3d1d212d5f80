"""The deployment files speak the proxy's real interface (its settings, its health paths, its metrics
port), install exactly the tested versions, and pass the linters and validators a reviewer would
run: hadolint, kubernetes-validate --strict, systemd-analyze security and verify.

A tool that is missing skips its test, except in CI, which installs them all (.ci/run and
pyproject's test extra)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from conftest import REPO, Proxy
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from imgproxy.config import describe

SETTINGS = {env for env, *_ in describe()}
FILES = ["deploy/Dockerfile", "deploy/kubernetes.yaml", "deploy/imgproxy.service"]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# Unprivileged user and group of the image and the pod.
UID = 10001


def tool(name: str) -> str:
    """The path of a command-line tool: the venv's own first (pip-installed linters), then PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{name} is not installed; CI installs it (.ci/run, pyproject's test extra)")
    pytest.skip(f"{name} is not installed")


# --- Dockerfile -------------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (REPO / "deploy/Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, rest = pending.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def args_of(keyword: str) -> list[str]:
    return [rest for kw, rest in dockerfile() if kw == keyword]


def test_dependencies_are_installed_before_the_code_is_copied():
    """A change to the code rebuilds only the layers from COPY imgproxy on: the dependencies come
    first, pinned by constraints.txt, and the code's own install downloads nothing."""
    steps = dockerfile()
    order = [kw + " " + rest for kw, rest in steps]
    deps = next(i for i, step in enumerate(order) if step.startswith("RUN") and "-c constraints.txt" in step)
    code = next(i for i, step in enumerate(order) if step.startswith("COPY") and "imgproxy" in step.split()[1:-1])
    assert deps < code
    copied_before = " ".join(step for step in order[:deps] if step.startswith("COPY"))
    assert "pyproject.toml" in copied_before and "constraints.txt" in copied_before and "imgproxy" not in copied_before.split()
    install = next(step for step in order[code:] if step.startswith("RUN") and "pip install" in step)
    assert "--no-deps" in install and "--no-build-isolation" in install


def test_the_image_installs_the_pinned_runtime_dependencies(tmp_path):
    """The requirements the Dockerfile derives from pyproject.toml (runtime dependencies and the build
    backend, nothing from the test extra) are all pinned by constraints.txt, to versions they allow."""
    run = next(rest for rest in args_of("RUN") if "tomllib" in rest)
    script = shlex.split(run.split(">")[0])
    assert script[:2] == ["python", "-c"]
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    out = subprocess.run([sys.executable, "-c", script[2]], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    wanted = [Requirement(line) for line in out.splitlines()]
    names = {canonicalize_name(r.name) for r in wanted}
    assert canonicalize_name("mediapipe") in names and canonicalize_name("setuptools") in names
    assert not names & {canonicalize_name(n) for n in ("pytest", "ruff", "moto", "scikit-image")}
    pins = constraints()
    for requirement in wanted:
        pinned = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pinned, prereleases=True), (requirement, pinned)


def test_image_labels_follow_the_project():
    labels = dict(item.split("=", 1) for item in shlex.split(" ".join(args_of("LABEL"))))
    defaults = dict(arg.split("=", 1) for arg in args_of("ARG") if "=" in arg)
    assert labels["org.opencontainers.image.title"] == PYPROJECT["project"]["name"]
    assert labels["org.opencontainers.image.description"] == PYPROJECT["project"]["description"]
    assert labels["org.opencontainers.image.licenses"] == PYPROJECT["project"]["license"] == "Apache-2.0"
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    assert defaults["VERSION"] == PYPROJECT["project"]["version"]
    assert labels["org.opencontainers.image.source"] == "${SOURCE_URL}"


def test_image_runs_as_the_unprivileged_user_the_pod_expects():
    (user,) = args_of("USER")
    assert user == f"{UID}:{UID}"
    (base,) = args_of("FROM")
    assert ":" in base and not base.endswith(":latest")


def test_healthcheck_is_exec_form_and_probes_a_running_proxy(proxy: Proxy):
    """The HEALTHCHECK command, run as Docker runs it (no shell), passes against a live proxy on the
    port IMGPROXY_PORT names, and fails where nothing listens."""
    (healthcheck,) = args_of("HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD ") + 4 :])
    assert isinstance(command, list) and command[0] == "python" and "/healthz" in command[-1]
    port = proxy.url.rsplit(":", 1)[1]
    run = [sys.executable, *command[1:]]
    assert subprocess.run(run, env={**os.environ, "IMGPROXY_PORT": port}, capture_output=True).returncode == 0
    closed = subprocess.run(run, env={**os.environ, "IMGPROXY_PORT": "1"}, capture_output=True)
    assert closed.returncode != 0


def test_hadolint_finds_nothing():
    result = subprocess.run(
        [tool("hadolint"), "--no-color", "--failure-threshold", "style", "deploy/Dockerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


# --- .dockerignore ----------------------------------------------------------------------------------


def ignore_patterns() -> list[tuple[bool, re.Pattern[str], str]]:
    """.dockerignore as (excludes, regex, pattern), with Docker's syntax: * and ? within a name,
    ** across folders, ! re-includes, the last matching pattern wins."""
    patterns = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        excludes = not line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            else:
                regex += {"*": "[^/]*", "?": "[^/]"}.get(pattern[i], re.escape(pattern[i]))
                i += 1
        patterns.append((excludes, re.compile(regex), pattern))
    return patterns


def in_context(path: str, patterns=None) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for excludes, regex, _ in patterns or ignore_patterns():
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = excludes
    return not excluded


def build_context() -> dict[str, int]:
    """The files `docker build .` would send, with their sizes."""
    patterns = ignore_patterns()
    reincluded = [pattern for excludes, _, pattern in patterns if not excludes]
    sent = {}
    for folder, dirs, files in os.walk(REPO):
        rel = Path(folder).relative_to(REPO).as_posix()
        rel = "" if rel == "." else rel + "/"
        dirs[:] = [
            d for d in dirs if in_context(rel + d, patterns) or any(p.startswith(rel + d + "/") or "*" in p for p in reincluded)
        ]
        for name in files:
            if in_context(rel + name, patterns):
                sent[rel + name] = (Path(folder) / name).stat().st_size
    return sent


def test_build_context_holds_what_the_dockerfile_copies_and_little_else():
    sources = [src for rest in args_of("COPY") for src in rest.split()[:-1] if not src.startswith("--")]
    assert {"pyproject.toml", "constraints.txt", "README.md", "imgproxy"} <= set(sources)
    for src in sources:
        assert in_context(src) and (not (REPO / src).is_dir() or in_context(src + "/__init__.py")), src
    for path in [".venv/bin/python", ".git/HEAD", "samples/grace_hopper.jpg", "tests/test_deploy.py", "bench/load.py"]:
        assert not in_context(path), path
    for path in ["imgproxy.egg-info/PKG-INFO", "build/lib/imgproxy/cli.py", "imgproxy/__pycache__/cli.cpython-311.pyc"]:
        assert not in_context(path), path
    sent = build_context()
    assert "imgproxy/cli.py" in sent and "pyproject.toml" in sent
    assert not [path for path in sent if path.startswith((".venv/", ".git/", "samples/", "tests/", "bench/"))]
    assert sum(sent.values()) < 5_000_000, sorted(sent, key=sent.get)[-5:]


# --- constraints.txt ----------------------------------------------------------------------------------


def constraints() -> dict[str, Version]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) and re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), line
        assert canonicalize_name(name) not in pins, f"{name} pinned twice"
        pins[canonicalize_name(name)] = Version(version)
    return pins


def test_constraints_pin_everything_make_installs():
    """Every package that pyproject.toml's dependencies, its test and samples extras and its build
    backend pull in, followed through the installed packages' own requirements, has an exact pin that
    its dependents allow: a dependency added without `make constraints` fails here."""
    pins = constraints()
    assert pins[canonicalize_name("mediapipe")] == Version("0.10.21") and pins[canonicalize_name("numpy")] < Version("2")
    project = PYPROJECT["project"]
    todo = [(Requirement(r), "test") for r in project["optional-dependencies"]["test"]]
    todo += [(Requirement(r), "") for r in project["dependencies"] + PYPROJECT["build-system"]["requires"]]
    seen: set[tuple[str, str]] = set()
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({**default_environment(), "extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        if name == "imgproxy":
            todo += [(Requirement(r), e) for e in requirement.extras for r in project["optional-dependencies"][e]]
            continue
        assert name in pins, f"{requirement.name} (from pyproject or a dependency) is not in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (requirement, pins[name])
        for wanted_extra in ["", *sorted(requirement.extras)]:
            if (name, wanted_extra) in seen:
                continue
            seen.add((name, wanted_extra))
            if name == "setuptools":
                continue  # the build backend is pinned for the image; .venv keeps the one venv gave it
            todo += [(Requirement(r), wanted_extra) for r in metadata.requires(requirement.name) or []]


def test_make_and_the_image_install_the_pinned_versions():
    makefile = (REPO / "Makefile").read_text()
    rule = re.search(r"^\$\(INSTALLED\):(.*)\n((?:\t.*\n)+)", makefile, re.M)
    assert rule and "constraints.txt" in rule.group(1).split()
    installs = [line for line in rule.group(2).splitlines() if "pip install" in line]
    assert installs and all("-c constraints.txt" in line for line in installs)
    assert re.search(r"^constraints:", makefile, re.M)
    assert any("-c constraints.txt" in rest for rest in args_of("RUN"))


# --- Kubernetes -------------------------------------------------------------------------------------


def manifests() -> dict[str, dict]:
    documents = [doc for doc in yaml.safe_load_all((REPO / "deploy/kubernetes.yaml").read_text()) if doc]
    by_kind = {doc["kind"]: doc for doc in documents}
    assert len(by_kind) == len(documents)
    return by_kind


def pod() -> dict:
    return manifests()["Deployment"]["spec"]["template"]


def container() -> dict:
    (only,) = pod()["spec"]["containers"]
    return only


def env() -> dict[str, str]:
    return {item["name"]: item["value"] for item in container()["env"]}


@pytest.mark.parametrize("name", FILES)
def test_only_real_settings_are_used(name):
    used = set(re.findall(r"IMGPROXY_[A-Z0-9_]+", (REPO / name).read_text()))
    assert used <= SETTINGS, used - SETTINGS


def test_probes_use_the_health_paths():
    c = container()
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "initialDelaySeconds" not in c["livenessProbe"], "the startup probe covers the model load"
    startup = c["startupProbe"]
    assert startup["httpGet"]["path"] == "/healthz"
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 30, "time for the face models to load"
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports["http"] == int(env()["IMGPROXY_PORT"])
    assert all(p["httpGet"]["port"] == "http" for p in (c["readinessProbe"], c["livenessProbe"], startup))


def test_metrics_are_served_on_their_own_port_and_scraped_there():
    ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
    annotations = pod()["metadata"]["annotations"]
    assert ports["metrics"] == int(env()["IMGPROXY_METRICS_PORT"]) == int(annotations["prometheus.io/port"]) == 9090
    assert ports["metrics"] != ports["http"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    service_ports = manifests()["Service"]["spec"]["ports"]
    assert [p["targetPort"] for p in service_ports] == ["http"], "metrics stay off the Service"


def test_credentials_come_from_a_secret():
    c = container()
    assert {"secretRef": {"name": "imgproxy-credentials", "optional": True}} in c["envFrom"]
    secretish = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL")
    assert not [item["name"] for item in c["env"] if secretish.search(item["name"])]
    manifest = (REPO / "deploy/kubernetes.yaml").read_text()
    assert not re.search(r"AWS_SECRET_ACCESS_KEY\s*[:=]\s*\S", manifest.replace("=...", ""))


def test_pod_runs_unprivileged_on_a_read_only_root():
    spec = pod()["spec"]
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert spec["automountServiceAccountToken"] is False
    security = container()["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security.get("privileged", False) is False and security.get("runAsNonRoot", True) is True
    assert security.get("seccompProfile", {"type": "RuntimeDefault"}) == {"type": "RuntimeDefault"}
    # The one writable place is an emptyDir at /tmp, and the caches are pointed there.
    (mount,) = container()["volumeMounts"]
    assert mount["mountPath"] == "/tmp" and not mount.get("readOnly", False)
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume
    assert env()["MPLCONFIGDIR"].startswith("/tmp/") and env()["PYTHONDONTWRITEBYTECODE"] == "1"


def test_pod_has_resources_and_a_disruption_budget():
    resources = container()["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(resources["limits"])
    assert int(env()["IMGPROXY_THREADS"]) <= int(resources["limits"]["cpu"])
    kinds = manifests()
    budget = kinds["PodDisruptionBudget"]
    assert budget["apiVersion"] == "policy/v1"
    assert budget["spec"]["selector"]["matchLabels"] == pod()["metadata"]["labels"]
    assert budget["spec"]["maxUnavailable"] < kinds["HorizontalPodAutoscaler"]["spec"]["minReplicas"]
    assert pod()["spec"]["terminationGracePeriodSeconds"] > 30, "longer than uvicorn's drain"


def test_manifest_passes_strict_schema_validation(tmp_path):
    """kubernetes-validate checks every resource against the API's OpenAPI schemas it ships (no
    network), rejecting unknown fields with --strict; a misspelt field shows that strictness is on."""
    validate = tool("kubernetes-validate")
    result = subprocess.run([validate, "--strict", "deploy/kubernetes.yaml"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == len(manifests())
    typo = tmp_path / "typo.yaml"
    typo.write_text((REPO / "deploy/kubernetes.yaml").read_text().replace("readOnlyRootFilesystem", "readOnlyRootFileSystem"))
    assert subprocess.run([validate, "--strict", str(typo)], capture_output=True).returncode != 0


# --- systemd ----------------------------------------------------------------------------------------


def unit(name: str = "deploy/imgproxy.service") -> dict[str, list[str]]:
    """The [Service] section's settings; a key set twice keeps both values."""
    settings: dict[str, list[str]] = {}
    section = ""
    for line in (REPO / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_unit_runs_as_the_sysusers_user_with_the_env_file():
    service = unit()
    assert service["EnvironmentFile"] == ["-/etc/imgproxy/env"]
    sysusers = [line.split() for line in (REPO / "deploy/imgproxy.sysusers.conf").read_text().splitlines() if line[:1] == "u"]
    assert [fields[1] for fields in sysusers] == service["User"] == service["Group"] == ["imgproxy"]
    for key, value in {
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "SystemCallArchitectures": "native",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "UMask": "0077",
        "MemoryDenyWriteExecute": "yes",
    }.items():
        assert service[key] == [value], key
    assert "@system-service" in service["SystemCallFilter"]
    assert any(v.startswith("MPLCONFIGDIR=/tmp/") for v in " ".join(service["Environment"]).split())


def test_sysusers_creates_a_system_user_without_a_login(tmp_path):
    sysusers = tool("systemd-sysusers")
    (tmp_path / "etc").mkdir()
    conf = REPO / "deploy/imgproxy.sysusers.conf"
    result = subprocess.run([sysusers, f"--root={tmp_path}", str(conf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (entry,) = [line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines() if line.startswith("imgproxy:")]
    assert int(entry[2]) < 1000 and entry[6].endswith("nologin")
    assert any(line.startswith("imgproxy:") for line in (tmp_path / "etc/group").read_text().splitlines())


def test_unit_exposure_is_low():
    """systemd's own rating of the sandbox, offline (no systemd needs to run): 2.5 or lower."""
    analyze = tool("systemd-analyze")
    result = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", "deploy/imgproxy.service"], cwd=REPO, capture_output=True, text=True
    )
    if "--offline" in result.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd < 252)")
    match = re.search(r"Overall exposure level for imgproxy\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout[-2000:] + result.stderr
    assert float(match.group(1)) <= 2.5, result.stdout


def test_unit_verifies(tmp_path):
    """systemd-analyze verify finds no unknown key or bad value; ExecStart points at a program that
    exists here, since /opt/imgproxy is not installed on a test machine."""
    analyze = tool("systemd-analyze")
    copy = tmp_path / "imgproxy.service"
    text = (REPO / "deploy/imgproxy.service").read_text()
    assert "ExecStart=/opt/imgproxy/bin/imgproxy serve" in text
    copy.write_text(text.replace("ExecStart=/opt/imgproxy/bin/imgproxy serve", f"ExecStart={sys.executable} -m imgproxy serve"))
    result = subprocess.run([analyze, "verify", "--man=no", str(copy)], capture_output=True, text=True)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


# The kernel's MemoryDenyWriteExecute (prctl PR_SET_MDWE, Linux 6.3): kept across exec, like systemd's.
REFUSE_EXEC_GAIN = """
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:
    sys.exit(77)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("a writable and executable mapping was allowed")
except OSError:
    pass
os.execv(sys.argv[1], sys.argv[1:])
"""


def test_detection_works_without_writable_executable_memory(samples_dir: Path, tmp_path):
    """The unit's MemoryDenyWriteExecute=yes: TFLite (XNNPACK), OpenCV, numpy and Pillow detect faces,
    landmarks and attributes, and crop, in a process that may never map memory writable and executable."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("IMGPROXY_")}
    wrap = [sys.executable, "-c", REFUSE_EXEC_GAIN, sys.executable, "-m", "imgproxy"]
    detect = subprocess.run(
        [*wrap, "detect", "--landmarks", "--attributes", str(samples_dir)], env=environ, capture_output=True, text=True
    )
    if detect.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    assert detect.returncode == 0, detect.stderr
    answers = {Path(a["file"]).name: a for a in map(json.loads, detect.stdout.splitlines())}
    assert answers["grace_hopper.jpg"]["faces"] and "landmarks" in answers["grace_hopper.jpg"]["faces"][0]
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(samples_dir / "grace_hopper.jpg", photos)
    crop = subprocess.run(
        [*wrap, "crop", "--size", "200x200", "--out", str(tmp_path / "out"), str(photos)],
        env=environ,
        capture_output=True,
        text=True,
    )
    assert crop.returncode == 0 and (tmp_path / "out/grace_hopper.jpg").stat().st_size > 0, crop.stderr
