"""`imgproxy serve` and friends: flags mirror the `IMGPROXY_*` settings one to one."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields

from imgproxy.config import ConfigError, Settings, describe, env_name

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def logging_config(level: str) -> dict:
    """uvicorn applies this in every worker process, so workers log like the parent."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": LOG_FORMAT}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {"uvicorn.access": {"level": "WARNING"}},  # Observe writes the access lines
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imgproxy", description="A face-aware image proxy for object storage.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the download path and the APIs over HTTP")
    for (env, flag, default, help), f in zip(describe(), fields(Settings)):
        serve.add_argument(flag, dest=f.name, metavar="VALUE", help=f"{help} [{env}, default {default}]")
    return parser


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from imgproxy.origin import open_origin

    for f in fields(Settings):
        value = getattr(args, f.name)
        if value is not None:
            os.environ[env_name(f.name)] = value
    try:
        settings = Settings.from_env()
        open_origin(settings)  # fail now, naming the setting, rather than in every worker
    except ConfigError as exc:
        sys.exit(f"imgproxy: {exc}")
    uvicorn.run(
        "imgproxy.http.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=logging_config(settings.log_level),
        access_log=False,
        timeout_graceful_shutdown=30,
    )


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        serve(args)
