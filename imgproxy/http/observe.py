"""One access-log line and the Prometheus metrics of every request."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgproxy.metrics import IN_FLIGHT, LATENCY, REQUESTS

log = logging.getLogger("imgproxy.access")

# The name of the work a request did (the first op, "original", "healthz", "facepp/detect", ...),
# for the metrics and the access log: set by `labelled` routes, and by the download path itself.
OP_KEY = "imgproxy.op"

Endpoint = Callable[[Request], Awaitable[Response]]


def labelled(label: str, endpoint: Endpoint) -> Endpoint:
    """`endpoint` with its requests counted under `label`."""

    async def counted(request: Request) -> Response:
        request.scope[OP_KEY] = label
        return await endpoint(request)

    return counted


@dataclass(frozen=True)
class LabelledApp:
    """An ASGI app with its requests counted under `label`. A class, not a function: Starlette
    routes a function as a request/response endpoint, and an app's route takes every method."""

    label: str
    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[OP_KEY] = self.label
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
    """Counts and logs each request once, just before the last byte of its answer is sent (so a
    client that has its answer can already scrape the count and read the line), or when it ends
    without a complete answer."""

    def __init__(self, app: ASGIApp, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, sent, recorded = 500, 0, False
        IN_FLIGHT.inc()

        def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            op = scope.get(OP_KEY, "other")
            REQUESTS.labels(op, str(status)).inc()
            LATENCY.labels(op).observe(elapsed)
            if self.access_log:
                client = scope.get("client") or ("-", 0)
                target = scope.get("raw_path", b"").decode("latin-1")
                query = redacted(scope.get("query_string", b"").decode("latin-1"))
                log.info(
                    '%s "%s %s%s" %d %d %.1fms',
                    client[0],
                    scope["method"],
                    target,
                    "?" + query if query else "",
                    status,
                    sent,
                    elapsed * 1000,
                )

        async def observed_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
                if not message.get("more_body", False):
                    record()
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            record()
