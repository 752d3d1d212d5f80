"""Settings from IMGPROXY_* variables and flags; bad values stop start-up naming the setting."""

import subprocess
import sys

import pytest

from imgproxy.config import ConfigError, Settings, describe


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
