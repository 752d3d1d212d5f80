"""Settings from IMGPROXY_* variables and flags; bad values stop start-up naming the setting."""

import os
import subprocess
import sys

import pytest

from imgproxy.config import ConfigError, Settings, describe, unknown_settings


def test_defaults():
    settings = Settings.from_env({})
    assert settings.max_source_bytes == 20 * 2**20
    assert settings.max_pipeline_ops == 30
    assert settings.max_age == 30 * 86400
    assert settings.debug_headers is False


def test_values_from_the_environment():
    settings = Settings.from_env(
        {
            "IMGPROXY_PORT": "9000",
            "IMGPROXY_CACHE_BYTES": "0",
            "IMGPROXY_DEBUG_HEADERS": "1",
            "IMGPROXY_ORIGIN": "https://bucket.example.com",
            "IMGPROXY_ORIGIN_TIMEOUT": "2.5",
        }
    )
    assert (settings.port, settings.cache_bytes, settings.debug_headers) == (9000, 0, True)
    assert settings.origin == "https://bucket.example.com" and settings.origin_timeout == 2.5


@pytest.mark.parametrize(
    "env,message",
    [
        ({"IMGPROXY_PORT": "eighty"}, "IMGPROXY_PORT: expected a whole number, got 'eighty'"),
        ({"IMGPROXY_CACHE_BYTES": "-1"}, "IMGPROXY_CACHE_BYTES: must be at least 0, got '-1'"),
        ({"IMGPROXY_DEBUG_HEADERS": "maybe"}, "IMGPROXY_DEBUG_HEADERS: expected 1/0, true/false, yes/no or on/off, got 'maybe'"),
        ({"IMGPROXY_ORIGIN_TIMEOUT": "soon"}, "IMGPROXY_ORIGIN_TIMEOUT: expected a number, got 'soon'"),
        ({"IMGPROXY_LOG_LEVEL": "loud"}, "IMGPROXY_LOG_LEVEL: expected debug, info, warning or error, got 'loud'"),
    ],
)
def test_bad_values_name_the_setting(env, message):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert str(error.value) == message


def test_every_setting_has_a_flag_and_help():
    for env, flag, _default, help in describe():
        assert env.startswith("IMGPROXY_") and flag.startswith("--") and help


@pytest.mark.parametrize(
    "args,message",
    [
        (["--port", "eighty"], "IMGPROXY_PORT: expected a whole number, got 'eighty'"),
        (["--origin", "/no/such/folder"], "IMGPROXY_ORIGIN: '/no/such/folder' is not a folder"),
        (["--origin", "ftp://example.com"], "IMGPROXY_ORIGIN: only folders, http(s):// URLs and s3:// buckets are supported"),
    ],
)
def test_serve_refuses_to_start_with_a_bad_flag(args, message):
    done = subprocess.run([sys.executable, "-m", "imgproxy", "serve", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert message in done.stderr


def test_unknown_variables_name_what_was_meant():
    lines = unknown_settings(
        {"IMGPROXY_PROT": "80", "IMGPROXY_MAX_SRC_RESOLUTION": "50", "IMGPROXY_BIND": ":80", "IMGPROXY_ZZZ": "1", "HOME": "/"}
    )
    assert lines == [
        "IMGPROXY_BIND is not a setting; use IMGPROXY_HOST and IMGPROXY_PORT",
        "IMGPROXY_MAX_SRC_RESOLUTION is not a setting; use IMGPROXY_MAX_SOURCE_PIXELS (in pixels, not megapixels)",
        "IMGPROXY_PROT is not a setting; use IMGPROXY_PORT",
        "IMGPROXY_ZZZ is not a setting; it is ignored",
    ]


def test_the_commands_report_unknown_variables_and_their_version(tmp_path):
    env = {**os.environ, "IMGPROXY_KEY": "secret"}
    done = subprocess.run(
        [sys.executable, "-m", "imgproxy", "detect", str(tmp_path / "none.jpg")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "imgproxy detect: warning: IMGPROXY_KEY is not a setting; use IMGPROXY_API_KEYS" in done.stderr
    version = subprocess.run([sys.executable, "-m", "imgproxy", "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("imgproxy ")
