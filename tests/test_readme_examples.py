"""The README's shell examples run as printed against the demo `make run` serves.

Every code block of the README that calls `curl` or `imgproxy detect|crop` (a fenced ```sh, ```bash,
```shell or ```console block, or an indented one) is run with bash, from a working folder laid out
like the repository's root after `make run` (a `samples/` folder), against the real proxy serving
those samples with the settings of `make run` (IMGPROXY_API_OPEN=1). `127.0.0.1:8080` and
`localhost:8080` become the test server's address. In a block:

- `make ...` commands are not run: the test plays `make run`'s part, and `make test` is the suite;
- every other command runs, in order, in one bash (so a block may set a variable or write a file
  that its next command uses), and must exit 0;
- a curl command must get a 2xx answer (read from the headers curl dumps) unless it says otherwise,
  and a JSON answer it prints must not report an error in its body (Tencent's and Qiniu's APIs
  answer errors with HTTP 200 and a non-zero `code` / `error_code`).

`imgproxy` and `python3` are the venv's, where `make` installs this checkout.

Conventions in README.md, kept visible to whoever edits it:

- a command's trailing comment that starts with an HTTP status (`# 400, larger than the image`,
  `# 422 {"error": ...}`) is the status that curl command must get; one that starts with
  `# exit N` is the exit status the command must end with;
- an HTML comment on the last non-blank line before a block says how to treat it:
  `<!-- example: network -->`          needs the public internet (an image_url): skipped;
  `<!-- example: skip (<reason>) -->`  cannot run here, for the reason given: skipped;
  `<!-- example: keys AK:SK -->`       runs against a proxy with IMGPROXY_API_KEYS=AK:SK instead;
  `<!-- example: file <name> -->`      the block (of any language) is a file the examples use: it is
                                       written as <name> into every example's working folder.

Examples must not print binary data (curl refuses to write it to a terminal and exits 23): the
test runs without a terminal, so it checks that what they print is text. Nothing is timed: the
only limit is a generous one against a hang.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, Proxy, start_proxy, stop

README = REPO / "README.md"
DEMO_HOSTS = ("127.0.0.1:8080", "localhost:8080")
SHELLS = {"sh", "bash", "shell", "console"}
MARKER = re.compile(r"^<!--\s*example:\s*(?P<what>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
# Against a hang only: a slow machine must never fail the test.
HANG = 900


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the block's first line in README.md
    heading: str
    lang: str  # "" for an indented block
    lines: tuple[str, ...]
    marker: str | None


@dataclass(frozen=True)
class Command:
    text: str  # as printed, continuation lines included
    program: str
    status: int | None  # the HTTP status a curl command must get; None: any 2xx
    exit: int


@dataclass(frozen=True)
class Example:
    id: str
    block: Block
    commands: tuple[Command, ...]

    @property
    def keys(self) -> str | None:
        marker = self.block.marker or ""
        return marker.removeprefix("keys").strip() if marker.startswith("keys ") else None


def blocks(text: str) -> Iterator[Block]:
    """The code blocks of a Markdown text, fenced or indented, each with its heading and marker."""
    lines = text.splitlines()
    heading = ""
    i = 0

    def marker_before(start: int) -> str | None:
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        match = MARKER.match(lines[j]) if j >= 0 else None
        return match["what"] if match else None

    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            end = i + 1
            while end < len(lines) and not lines[end].startswith(fence["fence"]):
                end += 1
            yield Block(i + 2, heading, fence["lang"].lower(), tuple(lines[i + 1 : end]), marker_before(i))
            i = end + 1
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            end = i
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            while not lines[end - 1].strip():
                end -= 1
            yield Block(i + 1, heading, "", tuple(line[4:] for line in lines[i:end]), marker_before(i))
            i = end
            continue
        i += 1


def trailing_comment(line: str) -> str:
    """The comment at the end of a shell line (a `#` outside quotes, after a blank), or ""."""
    quote = ""
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\" and quote != "'":
            i += 2
            continue
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[i + 1 :].strip()
        i += 1
    return ""


def program_of(code: str) -> str:
    """The program a command runs, after any VAR=value assignments; for imgproxy, with its subcommand."""
    words = code.replace("\\\n", " ").split()
    while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
        words = words[1:]
    if not words:
        return ""
    if words[0] == "imgproxy" and len(words) > 1:
        return f"imgproxy {words[1]}"
    return words[0]


def commands(block: Block) -> list[Command]:
    """The block's commands: continuation lines joined, comments and blank lines left out."""
    lines = list(block.lines)
    if block.lang == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    found: list[Command] = []
    pending: list[str] = []
    for line in lines:
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending.append(line)
        if line.endswith("\\"):
            continue
        text = "\n".join(pending)
        pending = []
        comment = trailing_comment(text.splitlines()[-1])
        status = re.match(r"^(\d{3})\b", comment)
        exit_status = re.match(r"^exit (\d+)\b", comment)
        found.append(
            Command(
                text,
                program_of(text),
                int(status[1]) if status else None,
                int(exit_status[1]) if exit_status else 0,
            )
        )
    assert not pending, f"README.md:{block.line}: a command ends with a line continuation"
    return found


def runs_against_the_demo(command: Command) -> bool:
    return command.program == "curl" or (command.program.startswith("imgproxy ") and command.program != "imgproxy serve")


def slug(heading: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", heading)[:40].strip("-") or "top"


def examples(text: str) -> list[Example]:
    found: list[Example] = []
    count: dict[str, int] = {}
    for block in blocks(text):
        if block.lang not in SHELLS | {""}:
            continue
        cmds = commands(block)
        if not any(runs_against_the_demo(command) for command in cmds):
            continue
        count[block.heading] = count.get(block.heading, 0) + 1
        name = f"{slug(block.heading)}-{count[block.heading]}"
        found.append(Example(name, block, tuple(command for command in cmds if command.program != "make")))
    return found


def files(text: str) -> dict[str, str]:
    """The blocks marked `file <name>`: files that examples use, by name."""
    named = {}
    for block in blocks(text):
        if block.marker and block.marker.startswith("file "):
            named[block.marker.removeprefix("file ").strip()] = "\n".join(block.lines) + "\n"
    return named


def skip_reason(example: Example) -> str | None:
    marker = example.block.marker
    if marker is None or marker.startswith("keys "):
        return None
    if marker == "network":
        return "needs the internet"
    if match := re.match(r"^skip\s*\((.+)\)$", marker):
        return match[1]
    raise AssertionError(f"README.md:{example.block.line}: unknown example marker {marker!r}")


TEXT = README.read_text()
EXAMPLES = examples(TEXT)
FILES = files(TEXT)


def params() -> list[object]:
    out = []
    for example in EXAMPLES:
        reason = skip_reason(example)
        marks = [pytest.mark.skip(reason=f"README.md:{example.block.line}: {reason}")] if reason else []
        out.append(pytest.param(example, id=example.id, marks=marks))
    return out


def script(example: Example, port: int) -> str:
    """The example as one bash script that records, under $EXAMPLE_RECORD, each command's exit status
    (exits/N), what it printed (out/N, shown afterwards) and the headers of curl's answer (headers/N)."""
    lines = [
        "set -o pipefail",
        'curl() { command curl --silent --show-error --dump-header "$EXAMPLE_RECORD/headers/$EXAMPLE_STEP" "$@"; }',
    ]
    for step, command in enumerate(example.commands):
        text = command.text
        for host in DEMO_HOSTS:
            text = text.replace(host, f"127.0.0.1:{port}")
        # A group, not a subshell, so that a variable the command sets stays for the next ones.
        lines += [
            f"EXAMPLE_STEP={step}",
            "{",
            text,
            f'}} > "$EXAMPLE_RECORD/out/{step}"',
            f'echo $? > "$EXAMPLE_RECORD/exits/{step}"',
            f'cat "$EXAMPLE_RECORD/out/{step}"',
        ]
    return "\n".join(lines) + "\n"


def vendor_error(printed: bytes) -> str | None:
    """The error a JSON answer reports in its body: Tencent's and Qiniu's APIs answer errors with HTTP
    200 and a non-zero `code` / `error_code`."""
    try:
        answer = json.loads(printed)
    except ValueError:
        return None
    if isinstance(answer, dict):
        for field in ("code", "error_code"):
            if answer.get(field, 0) != 0:
                return f"{field} {answer[field]}: {answer.get('message') or answer.get('error_msg')}"
    return None


def is_text(printed: bytes) -> bool:
    try:
        return "\0" not in printed.decode()
    except UnicodeDecodeError:
        return False


def final_status(headers: Path) -> int:
    """The status of the last answer in a header dump (after any `100 Continue`)."""
    assert headers.exists(), "curl got no answer"
    statuses = re.findall(r"^HTTP/\S+ (\d{3})", headers.read_text(errors="replace"), re.MULTILINE)
    assert statuses, f"no HTTP answer in {headers}"
    return int(statuses[-1])


@pytest.fixture(scope="module")
def workspace(demo_samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the samples, as `make run` builds them."""
    root = tmp_path_factory.mktemp("readme")
    shutil.copytree(demo_samples, root / "samples")
    return root


@pytest.fixture(scope="module")
def proxies(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str | None], Proxy]]:
    """The demo (`make run`'s settings), and on demand a proxy with API keys instead."""
    logs = tmp_path_factory.mktemp("readme-logs")
    running: dict[str | None, Proxy] = {}

    def get(keys: str | None) -> Proxy:
        if keys not in running:
            settings = {"api_keys": keys} if keys else {"api_open": "1"}
            running[keys] = start_proxy(str(workspace / "samples"), logs, **settings)
        return running[keys]

    yield get
    for proxy in running.values():
        stop(proxy.process)


def test_the_readme_has_runnable_examples():
    # Floors, so that a parser broken by a change of the README's layout cannot pass by finding nothing.
    assert len(EXAMPLES) >= 15, [example.id for example in EXAMPLES]
    assert sum(skip_reason(example) is None for example in EXAMPLES) >= 12
    assert sum(len(example.commands) for example in EXAMPLES) >= 40
    assert "sign_tencent.py" in FILES


def test_every_marker_belongs_to_a_block():
    marked = {block.line for block in blocks(TEXT) if block.marker}
    markers = [number for number, line in enumerate(TEXT.splitlines(), 1) if MARKER.match(line)]
    assert len(markers) == len(marked), f"a marker at README.md lines {markers} is not right before a code block"


def test_every_example_is_bash():
    """Skipped examples too: each parses (`bash -n`)."""
    for example in EXAMPLES:
        done = subprocess.run(["bash", "-n"], input=script(example, 8080), capture_output=True, text=True)
        assert done.returncode == 0, f"README.md:{example.block.line}: {done.stderr}"


@pytest.mark.parametrize("example", params())
def test_example_runs_as_printed(
    example: Example, workspace: Path, proxies: Callable[[str | None], Proxy], tmp_path: Path
) -> None:
    proxy = proxies(example.keys)
    port = int(proxy.url.rsplit(":", 1)[1])
    cwd = tmp_path / "repo"
    cwd.mkdir()
    (cwd / "samples").symlink_to(workspace / "samples")
    for name, content in FILES.items():
        (cwd / name).write_text(content)
    record = tmp_path / "record"
    for folder in ("headers", "exits", "out"):
        (record / folder).mkdir(parents=True)
    env = {name: value for name, value in os.environ.items() if not name.startswith("IMGPROXY_")}
    # The venv's bin first: its `imgproxy` is the one `make` installs from this checkout.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["EXAMPLE_RECORD"] = str(record)
    text = script(example, port)
    done = subprocess.run(["bash", "-c", text], cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=HANG)
    where = (
        f"README.md:{example.block.line}\n--- script\n{text}--- stdout\n{done.stdout.decode(errors='replace')[-2000:]}\n"
        f"--- stderr\n{done.stderr.decode(errors='replace')[-3000:]}"
    )
    for step, command in enumerate(example.commands):
        said = repr(command.text)
        exit_file = record / "exits" / str(step)
        assert exit_file.exists(), f"{said} did not run\n{where}"
        assert int(exit_file.read_text()) == command.exit, f"{said} exited {exit_file.read_text().strip()}\n{where}"
        output = (record / "out" / str(step)).read_bytes()
        assert is_text(output), f"{said} prints binary data to the terminal\n{where}"
        if command.program == "curl":
            status = final_status(record / "headers" / str(step))
            if command.status is not None:
                assert status == command.status, f"{said} got {status}, the README says {command.status}\n{where}"
            else:
                assert 200 <= status < 300, f"{said} got {status}\n{where}"
                assert vendor_error(output) is None, f"{said} got {vendor_error(output)}\n{where}"
