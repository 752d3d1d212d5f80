"""The README stays true: every setting and every op it serves is documented there."""

from conftest import REPO

from imgproxy.config import describe
from imgproxy.pipeline.registry import PARSERS

README = (REPO / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table():
    for env, flag, default, _help in describe():
        shown = f"`{default}`" if default else "(none)"
        assert f"| `{env}` | `{flag}` | {shown} |" in README, env


def test_every_op_is_documented():
    headings = [line for line in README.splitlines() if line.startswith("#")]
    for name in PARSERS:
        assert any(name in heading for heading in headings), name


def test_the_two_commands():
    assert "make run" in README and "make test" in README
