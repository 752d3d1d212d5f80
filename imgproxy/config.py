"""One settings object, built from `IMGPROXY_*` environment variables.

Every field is also a flag of `imgproxy serve`: field `cache_bytes` is `IMGPROXY_CACHE_BYTES`
and `--cache-bytes`. The CLI writes its flags into the environment before starting uvicorn, so
every worker process builds the same settings with `Settings.from_env()`.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

from PIL import features

ENV_PREFIX = "IMGPROXY_"
# prometheus-client's multiprocess mode is on when this names a folder: `imgproxy serve` sets it
# for several workers, and /metrics then adds up the counts of all of them.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


class ConfigError(ValueError):
    """A setting has a value the proxy cannot start with; the message names the setting."""


def _setting(default: Any, help: str, minimum: float | None = None, choices: tuple[str, ...] = ()) -> Any:
    return field(default=default, metadata={"help": help, "minimum": minimum, "choices": choices})


@dataclass(frozen=True)
class Settings:
    origin: str = _setting(
        "samples", "Where originals come from: a folder path, an http(s):// base URL or s3://<bucket>[/<prefix>]."
    )
    host: str = _setting("127.0.0.1", "Address to listen on.")
    port: int = _setting(8080, "Port to listen on.", minimum=0)
    metrics_port: int = _setting(
        0,
        "Serve /metrics on this port (same address) instead of the main one, so it need not be exposed; 0: the main port.",
        minimum=0,
    )
    workers: int = _setting(1, "uvicorn worker processes (each has its own caches and thread pool).", minimum=1)
    threads: int = _setting(0, "Threads for decode, detection and encode per process; 0 means one per core.", minimum=0)
    queue: int = _setting(0, "Jobs that may wait for a thread before requests get 429; 0 means 8 per thread.", minimum=0)
    cache_bytes: int = _setting(
        256 * 2**20, "Bytes of processed results kept in memory; 0 turns off the result and detection caches.", minimum=0
    )
    max_age: int = _setting(30 * 86400, "Cache-Control max-age of processed results, in seconds.", minimum=0)
    quality: int = _setting(75, "JPEG and WebP quality when the URL names none (Qiniu's default, 75).", minimum=1)
    auto_webp: bool = _setting(
        False,
        "Answer WebP to a request whose Accept lists image/webp, when its pipeline names no format; such answers say"
        " Vary: Accept.",
    )
    auto_avif: bool = _setting(
        False,
        "Answer AVIF to a request whose Accept lists image/avif (preferred to WebP on a tie), when its pipeline names no"
        " format; such answers say Vary: Accept.",
    )
    auto_rotate: bool = _setting(
        False,
        "Turn every image upright by its EXIF orientation before imageMogr2 and imageView2 work on it, as if each began"
        " with auto-orient, and have imageInfo report the size as displayed. Off, as Qiniu: they work on the pixels as"
        " stored until auto-orient, and a JPEG answer keeps the orientation tag.",
    )
    max_source_bytes: int = _setting(20 * 2**20, "Largest original the proxy will process, in bytes (413 beyond).", minimum=1)
    max_source_pixels: int = _setting(
        50_000_000, "Largest original in pixels, read from the header before decoding (413 beyond).", minimum=1
    )
    max_output_side: int = _setting(9999, "Largest output width or height in pixels (400 beyond).", minimum=1)
    max_output_pixels: int = _setting(25_000_000, "Largest output area in pixels (400 beyond).", minimum=1)
    max_pipeline_ops: int = _setting(30, "Most ops one pipeline may chain (400 beyond).", minimum=1)
    max_pixel_work: int = _setting(
        250_000_000,
        "Pixels one pipeline may read and write in all, estimated from the header before it runs (400 beyond).",
        minimum=1,
    )
    process_timeout: float = _setting(
        5.0,
        "Seconds the work of one request may take from when it is handed to the thread pool,"
        " checked between steps and frames (503 beyond).",
        minimum=0.001,
    )
    origin_connect_timeout: float = _setting(3.0, "Seconds to connect to an HTTP origin (504 beyond).", minimum=0.001)
    origin_timeout: float = _setting(15.0, "Seconds for a whole origin fetch, headers and body (504 beyond).", minimum=0.001)
    origin_ttl: float = _setting(
        60.0, "Seconds an HTTP original's ETag is trusted before it is revalidated; 0 revalidates every request.", minimum=0
    )
    origin_retries: int = _setting(
        2,
        "Retries of an origin request that failed to connect or answered 500, 502, 503 or 504, with exponential "
        "backoff and jitter, within the whole-fetch timeout.",
        minimum=0,
    )
    origin_by_host: str = _setting(
        "",
        "Origins by the request's Host (port ignored), as host=origin pairs separated by commas; other hosts use "
        "IMGPROXY_ORIGIN (404 with IMGPROXY_ORIGIN=none).",
    )
    origin_qiniu_key: str = _setting(
        "", "AK:SK of a Qiniu Kodo private bucket: every fetch from an http(s):// origin is a signed private-download URL."
    )
    s3_endpoint: str = _setting("", "The S3 endpoint of an s3:// origin (MinIO, Ceph, R2...); unset: AWS's for the region.")
    s3_region: str = _setting("us-east-1", "The region an s3:// origin's requests are signed for.")
    s3_addressing: str = _setting(
        "",
        "path (endpoint/bucket/key) or virtual (bucket.endpoint/key); unset: path with IMGPROXY_S3_ENDPOINT, else virtual.",
        choices=("path", "virtual"),
    )
    debug_headers: bool = _setting(False, "Add X-Face-Count and X-Crop-Box to facecrop2 answers.")
    api_keys: str = _setting("", "Access keys as AK:SK pairs, comma-separated: they sign download tokens and API requests.")
    api_open: bool = _setting(
        False, "Serve the detect APIs without keys; without it and without IMGPROXY_API_KEYS they answer 401."
    )
    playground: bool = _setting(
        False,
        "Serve the playground page at /playground: an image's faces, crops and pipelines, through the public endpoints;"
        " it lists a folder origin's image names.",
    )
    cache_until_token_expires: bool = _setting(
        False,
        "Let shared caches keep a token-authorized answer until its token expires (public, max-age=<seconds left>) "
        "instead of Cache-Control: private.",
    )
    private_downloads: bool = _setting(
        False, "Require a Qiniu private-download token (&e=<deadline>&token=<AK>:<sign>) on every download URL."
    )
    max_request_bytes: int = _setting(
        32 * 2**20,
        "Largest request body the detect APIs accept, in bytes (413 beyond); base64 makes an image a third larger than its file.",
        minimum=1,
    )
    url_allowlist: str = _setting(
        "",
        "Hosts and networks (names, IPs or CIDRs, comma-separated) that image_url may fetch from"
        " although they are private, loopback or link-local.",
    )
    max_connections: int = _setting(
        1000, "Open client connections per worker process; one beyond them is answered 503 and closed at once.", minimum=1
    )
    max_header_bytes: int = _setting(32 * 1024, "Largest request line plus headers, in bytes (431 beyond).", minimum=1024)
    header_timeout: float = _setting(
        10.0,
        "Seconds a client has to send a request's line and headers, from connecting or from the request's first byte"
        " (408 and closed beyond).",
        minimum=0.001,
    )
    keep_alive_timeout: float = _setting(
        75.0,
        "Seconds an idle keep-alive connection stays open; longer than nginx's upstream keepalive_timeout (60).",
        minimum=0.001,
    )
    body_timeout: float = _setting(60.0, "Seconds a client has to send a detect API request's body (408 beyond).", minimum=0.001)
    access_log: bool = _setting(True, "Log one line per request.")
    log_level: str = _setting("info", "Log level: debug, info, warning or error.", choices=("debug", "info", "warning", "error"))
    log_format: str = _setting(
        "text",
        "text, or json: one JSON object a line (the access lines with method, path, status, bytes, duration_ms, op,"
        " cache, faces, request_id, user_agent).",
        choices=("text", "json"),
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(env_name(f.name))
            if raw is not None:
                values[f.name] = parse_value(f.name, str(f.type), raw, f.metadata["minimum"], f.metadata["choices"])
        return cls(**values)

    def __post_init__(self) -> None:
        parse_key_pairs(self.api_keys)
        parse_allowlist(self.url_allowlist)
        parse_origin_hosts(self.origin_by_host)
        if self.private_downloads and not self.api_keys:
            raise ConfigError(f"{env_name('private_downloads')}: needs keys to check tokens with; set {env_name('api_keys')}")
        for format in self.auto_formats:
            check_writable(format)

    @property
    def auto_formats(self) -> tuple[str, ...]:
        """The formats an Accept header may choose (Pillow's names), the more compact first."""
        return tuple(format for format, on in (("AVIF", self.auto_avif), ("WEBP", self.auto_webp)) if on)

    @cached_property
    def key_pairs(self) -> dict[str, str]:
        """Access key -> secret key."""
        return parse_key_pairs(self.api_keys)

    @cached_property
    def url_allowed(self) -> Allowlist:
        return parse_allowlist(self.url_allowlist)

    @property
    def thread_count(self) -> int:
        return self.threads or os.cpu_count() or 1

    @property
    def queue_limit(self) -> int:
        return self.queue or 8 * self.thread_count


# What users of the Go imgproxy set, and what this proxy calls it.
OTHER_NAMES = {
    "IMGPROXY_BIND": "IMGPROXY_HOST and IMGPROXY_PORT",
    "IMGPROXY_MAX_SRC_RESOLUTION": "IMGPROXY_MAX_SOURCE_PIXELS (in pixels, not megapixels)",
    "IMGPROXY_MAX_SRC_FILE_SIZE": "IMGPROXY_MAX_SOURCE_BYTES",
    "IMGPROXY_KEY": "IMGPROXY_API_KEYS with IMGPROXY_PRIVATE_DOWNLOADS=1 (Qiniu-signed download URLs)",
    "IMGPROXY_SALT": "IMGPROXY_API_KEYS with IMGPROXY_PRIVATE_DOWNLOADS=1 (Qiniu-signed download URLs)",
    "IMGPROXY_TTL": "IMGPROXY_MAX_AGE",
    "IMGPROXY_CONCURRENCY": "IMGPROXY_THREADS",
    "IMGPROXY_MAX_CLIENTS": "IMGPROXY_MAX_CONNECTIONS",
    "IMGPROXY_DOWNLOAD_TIMEOUT": "IMGPROXY_ORIGIN_TIMEOUT",
    "IMGPROXY_READ_REQUEST_TIMEOUT": "IMGPROXY_HEADER_TIMEOUT and IMGPROXY_BODY_TIMEOUT",
    "IMGPROXY_USE_S3": "IMGPROXY_ORIGIN=s3://<bucket>",
    "IMGPROXY_BASE_URL": "IMGPROXY_ORIGIN",
}


def unknown_settings(environ: Mapping[str, str]) -> list[str]:
    """A line for each IMGPROXY_* variable that is no setting, naming what was likely meant: a
    typo is set and silently ignored otherwise."""
    known = [env_name(f.name) for f in fields(Settings)]
    suffixes = [name.removeprefix(ENV_PREFIX) for name in known]  # the shared prefix would make all alike
    lines = []
    for name in sorted(name for name in environ if name.startswith(ENV_PREFIX) and name not in known):
        close = difflib.get_close_matches(name.removeprefix(ENV_PREFIX), suffixes, n=1)
        instead = OTHER_NAMES.get(name) or (ENV_PREFIX + close[0] if close else None)
        lines.append(f"{name} is not a setting" + (f"; use {instead}" if instead else "; it is ignored"))
    return lines


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def parse_value(name: str, type_name: str, raw: str, minimum: float | None, choices: tuple[str, ...] = ()) -> Any:
    """Turn the text of one setting into its typed value, or fail naming the setting."""
    where = env_name(name)
    raw = raw.strip()
    if type_name == "bool":
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{where}: expected 1/0, true/false, yes/no or on/off, got {raw!r}")
    if type_name in ("int", "float"):
        try:
            value = int(raw) if type_name == "int" else float(raw)
        except ValueError:
            kind = "a whole number" if type_name == "int" else "a number"
            raise ConfigError(f"{where}: expected {kind}, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise ConfigError(f"{where}: must be at least {minimum:g}, got {raw!r}")
        return value
    if choices and raw.lower() not in choices:
        raise ConfigError(f"{where}: expected {', '.join(choices[:-1])} or {choices[-1]}, got {raw!r}")
    if choices:
        return raw.lower()
    if not raw:
        raise ConfigError(f"{where}: must not be empty")
    return raw


def check_writable(format: str) -> None:
    """Refuse to start with IMGPROXY_AUTO_<format> on when this Pillow has no codec for it: every
    request that chose it would otherwise fail."""
    if not features.check(format.lower()):
        where = env_name("auto_" + format.lower())
        raise ConfigError(f"{where}: this Pillow was built without the {format} codec ({format.lower()})")


def parse_origin_hosts(text: str) -> dict[str, str]:
    """Host name (lower case) -> origin, from `host=origin` pairs separated by commas."""
    table = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        host, _, origin = item.partition("=")
        host = host.strip().lower().rstrip(".")
        if not HOST_NAME.match(host) or not origin.strip():
            raise ConfigError(f"{env_name('origin_by_host')}: expected host=origin pairs separated by commas, got {item!r}")
        table[host] = origin.strip()
    return table


def parse_key_pairs(text: str, setting: str = "api_keys") -> dict[str, str]:
    """Access key -> secret key, from `AK:SK` pairs separated by commas (the value of `setting`)."""
    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        access, _, secret = item.partition(":")
        if not access or not secret:
            raise ConfigError(f"{env_name(setting)}: expected AK:SK pairs separated by commas, got {item.split(':')[0]!r}...")
        pairs[access] = secret
    return pairs


@dataclass(frozen=True)
class Allowlist:
    """Where image_url may fetch from although the address is not public."""

    hosts: frozenset[str]  # lower-case host names, matched exactly
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def parse_allowlist(text: str) -> Allowlist:
    hosts, networks = set(), []
    for item in filter(None, (part.strip().lower() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        name = item.rstrip(".")
        # A last label of digits means an IP address was meant (no top-level domain is numeric).
        if not HOST_NAME.match(name) or name.rsplit(".", 1)[-1].isdigit():
            raise ConfigError(f"{env_name('url_allowlist')}: expected host names, IP addresses or CIDR networks, got {item!r}")
        hosts.add(name)
    return Allowlist(frozenset(hosts), tuple(networks))


def describe() -> list[tuple[str, str, str, str]]:
    """(env name, flag, default, help) for every setting: the CLI help and the README table."""

    def shown(value: Any) -> str:
        return ("1" if value else "0") if isinstance(value, bool) else str(value)

    return [(env_name(f.name), flag_name(f.name), shown(f.default), f.metadata["help"]) for f in fields(Settings)]
