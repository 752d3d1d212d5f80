"""Log lines as text or as one JSON object a line, each stamped with the id of its request.

uvicorn runs each request in its own task, and a task works on a copy of the context it was
started in: the id set for one request (`REQUEST_ID`) is seen by everything that request runs,
the worker threads included (`WorkerPool.run` carries the context over), and by no other request.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("imgproxy_request_id", default=None)

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request)s: %(message)s"
# The attribute of an access-log record that holds its fields (`logging`'s `extra`).
ACCESS_FIELDS = "access"


class RequestStamp(logging.Filter):
    """Stamps every record with the id of the request being answered, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        record.request_id = request_id
        record.request = f" [{request_id}]" if request_id else ""
        return True


class JSONLines(logging.Formatter):
    """One JSON object a line: time, level, logger, request_id and the message; an access line
    carries its fields (method, path, status, ...) instead of a message."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        access = getattr(record, ACCESS_FIELDS, None)
        if access is not None:
            entry.update(access)
        else:
            entry["message"] = record.getMessage()
            request_id = getattr(record, "request_id", None)
            if request_id:
                entry["request_id"] = request_id
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def logging_config(level: str, format: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for `level` and `format` (text or json); uvicorn applies it in
    every worker process, so workers log like the parent."""
    formatter = {"()": JSONLines} if format == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": RequestStamp}},
        "formatters": {"lines": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "lines",
                "filters": ["request"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {"uvicorn.access": {"level": "WARNING"}},  # Observe writes the access lines
    }


def quoted(text: str) -> str:
    """`text` safe inside a double-quoted field of a text log line: quotes, backslashes and
    control characters escaped (as nginx does), so a client cannot forge a line or a field."""
    escaped = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return f'"{escaped}"'
