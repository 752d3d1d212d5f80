"""One access-log line and the Prometheus metrics of every request, and the id that ties a
request's answer to its log lines."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgproxy.logs import ACCESS_FIELDS, REQUEST_ID, quoted
from imgproxy.metrics import IN_FLIGHT, LATENCY, REQUESTS

log = logging.getLogger("imgproxy.access")

TRACE_KEY = "imgproxy.trace"
REQUEST_ID_HEADER = "X-Request-Id"
# A client's own X-Request-Id is kept when it looks like an id (nginx's $request_id, a UUID, a
# trace id); anything else, which could garble a log line, is replaced by a new one.
CLIENT_ID = re.compile(r"[A-Za-z0-9._:+=@/-]{1,128}")


@dataclass
class Trace:
    """What the access log and the metrics say of a request, filled in as it is answered."""

    request_id: str
    # The name of the work done (the first op, "original", "healthz", "facepp/detect", ...): set by
    # `labelled` routes, and by the download path itself.
    op: str = "other"
    cache: str | None = None  # the result cache's answer: hit, miss, or revalidated (a 304)
    faces: int | None = None  # faces the answer was made from, when it looked for any


def trace(scope: MutableMapping[str, Any]) -> Trace:
    """The request's trace, begun by `Observe` (or here, for an app called without it)."""
    found = scope.get(TRACE_KEY)
    if found is None:
        found = scope[TRACE_KEY] = Trace(REQUEST_ID.get() or str(uuid.uuid4()))
    assert isinstance(found, Trace)
    return found


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's X-Request-Id if it is a plausible id, else a new UUID."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            if CLIENT_ID.fullmatch(text):
                return text
    return str(uuid.uuid4())


Endpoint = Callable[[Request], Awaitable[Response]]


def labelled(label: str, endpoint: Endpoint) -> Endpoint:
    """`endpoint` with its requests counted under `label`."""

    async def counted(request: Request) -> Response:
        trace(request.scope).op = label
        return await endpoint(request)

    return counted


@dataclass(frozen=True)
class LabelledApp:
    """An ASGI app with its requests counted under `label`. A class, not a function: Starlette
    routes a function as a request/response endpoint, and an app's route takes every method."""

    label: str
    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        trace(scope).op = self.label
        await self.app(scope, receive, send)


# Query parameters that carry a credential (Qiniu's download token and its deadline, keys some
# clients put in the URL): the access log keeps their names only. Headers and bodies, where the
# detect APIs' secrets travel, are never logged.
SECRET_PARAMETERS = frozenset(
    {"token", "e", "api_key", "api_secret", "sign", "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token"}
)
REDACTED = "[redacted]"


def redacted(query: str) -> str:
    """`query` with the value of every secret parameter replaced: `?imageInfo&e=17..&token=AK:sig`
    -> `?imageInfo&e=[redacted]&token=[redacted]`."""
    parts = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        parts.append(f"{name}={REDACTED}" if equals and name.lower() in SECRET_PARAMETERS else part)
    return "&".join(parts)


class Observe:
    """Gives each request its id (the client's X-Request-Id, or a new one), answers it in the
    X-Request-Id header, and counts and logs the request once, just before the last byte of its
    answer is sent (so a client that has its answer can already scrape the count and read the
    line), or when it ends without a complete answer."""

    def __init__(self, app: ASGIApp, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # Not reset afterwards: the id belongs to this request's task, and the error handler that
        # answers an unexpected error (outside this middleware) still puts it in its JSON.
        request_id = request_id_of(scope["headers"])
        REQUEST_ID.set(request_id)
        scope[TRACE_KEY] = Trace(request_id)
        status, sent, recorded = 500, 0, False
        IN_FLIGHT.inc()

        def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            noted = trace(scope)
            REQUESTS.labels(noted.op, str(status)).inc()
            LATENCY.labels(noted.op).observe(elapsed)
            if self.access_log:
                fields = access_fields(scope, noted, status, sent, elapsed)
                log.info(access_line(fields), extra={ACCESS_FIELDS: fields})  # no args: a % in it stays

        bodiless = scope["method"] == "HEAD"

        async def observed_send(message: Message) -> None:
            nonlocal status, sent, bodiless
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
                # uvicorn writes the headers now: for an answer without a body, that is all of it.
                bodiless = bodiless or status in (204, 304)
                if bodiless:
                    record()
            elif message["type"] == "http.response.body" and not bodiless:
                sent += len(message.get("body", b""))
                if not message.get("more_body", False):
                    record()
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            record()


def access_fields(scope: Scope, noted: Trace, status: int, sent: int, elapsed: float) -> dict[str, Any]:
    """The access log's fields of a request: its path with the query's secrets redacted."""
    query = redacted(scope.get("query_string", b"").decode("latin-1"))
    path = scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0] + ("?" + query if query else "")
    agent = next((value.decode("latin-1") for name, value in scope["headers"] if name.lower() == b"user-agent"), None)
    return {
        "client": (scope.get("client") or ("-", 0))[0],
        "method": scope["method"],
        "path": path,
        "status": status,
        "bytes": sent,
        "duration_ms": round(elapsed * 1000, 1),
        "op": noted.op,
        "cache": noted.cache,
        "faces": noted.faces,
        "request_id": noted.request_id,
        "user_agent": agent,
    }


def access_line(fields: dict[str, Any]) -> str:
    """The text access line: `127.0.0.1 "GET /a.jpg?facecrop2/200x200" 200 5316 41.2ms facecrop2
    cache=miss faces=1 "curl/8.5.0"` (the request id is the log line's own stamp)."""
    request = quoted(f"{fields['method']} {fields['path']}")
    outcome = "".join(f" {name}={fields[name]}" for name in ("cache", "faces") if fields[name] is not None)
    agent = quoted(fields["user_agent"]) if fields["user_agent"] is not None else "-"
    return (
        f"{fields['client']} {request} {fields['status']} {fields['bytes']} {fields['duration_ms']}ms "
        f"{fields['op']}{outcome} {agent}"
    )
