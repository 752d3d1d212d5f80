"""The proxy's HTTP/1.1 protocol: uvicorn's httptools protocol, with guards against hostile clients.

uvicorn keeps a connection open for as long as its client likes and holds whatever headers it is
sent, so a few machines could tie up the proxy's sockets and memory without ever finishing a
request. Each guard closes one way in:

- Open connections per process are capped (`max_connections`). A connection beyond the cap is
  answered 503 and closed at once, so a flood of sockets cannot use up file descriptors and memory,
  and the connections already open go on being served.
- A request's line and headers must arrive within `header_timeout` seconds of the connection, or
  of the request's first byte. Otherwise a client that connects and says nothing, or sends its
  headers a byte at a time (slowloris), would hold its connection forever. Between requests,
  uvicorn's keep-alive timer (`keep_alive_timeout`) decides how long a connection may stay idle.
  While a request is being served the deadline waits, and the app times a request's body itself
  (`body_timeout`).
- A request's line and headers are capped at `max_header_bytes` (431 beyond). httptools buffers
  each header whole before handing it on and keeps every header it is given, so without the cap
  one 50 MiB header or millions of tiny ones would all be held in memory.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from imgproxy.config import Settings

# A header's bytes on the wire besides its name and value (": " and CRLF). This way a header block
# of millions of empty headers counts about as many bytes as it takes.
HEADER_OVERHEAD = 4


@functools.cache
def settings() -> Settings:
    """The settings of this process: uvicorn makes a protocol per connection."""
    return Settings.from_env()


class HeadTooLarge(Exception):
    """Raised in a parser callback to stop parsing. httptools turns it into HttpParserCallbackError,
    which uvicorn's data_received answers with send_400_response."""


class GuardedProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = settings()
        self.head_deadline: asyncio.TimerHandle | None = None
        self.in_head = False  # from a request's first byte until the end of its headers
        self.head_bytes = 0  # the request's line and headers seen by the parser callbacks
        # Bytes of the chunks that arrived entirely inside the request's head. They include a header
        # that httptools is still buffering, which no callback has reported yet.
        self.head_chunk_bytes = 0
        self.crossed_boundary = False  # whether a request's head began or ended inside the chunk being parsed
        self.head_too_large = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.connections.discard(self)  # so that the count holds only the connections being served
            self.answer_and_close(503, "too many open connections; retry later")
            return
        self.arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        was_in_head, self.crossed_boundary = self.in_head, False
        super().data_received(data)
        if self.transport.is_closing():
            return
        if was_in_head and self.in_head and not self.crossed_boundary:
            self.head_chunk_bytes += len(data)
            if self.head_chunk_bytes > self.limits.max_header_bytes:
                self.refuse_head()
        elif self.head_deadline is None and not self.serving():
            # Bytes that begin no request: the CRLFs that httptools skips between requests, or the
            # rest of a body whose request was already answered. Without a deadline, a client could
            # keep its connection open forever by sending them slowly.
            self.arm_head_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = self.crossed_boundary = True
        self.head_bytes = self.head_chunk_bytes = 0
        if self.head_deadline is None:  # the deadline armed at connection time keeps counting
            self.arm_head_deadline()

    def on_url(self, url: bytes) -> None:
        self.count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.count_head(len(name) + len(value) + HEADER_OVERHEAD)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_head, self.crossed_boundary = False, True
        self.cancel_head_deadline()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self.head_too_large:
            self.refuse_head()
        else:
            super().send_400_response(msg)

    def count_head(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > self.limits.max_header_bytes:
            self.head_too_large = True
            raise HeadTooLarge

    def refuse_head(self) -> None:
        self.answer_and_close(431, f"request headers are over the limit of {self.limits.max_header_bytes} bytes")

    def serving(self) -> bool:
        """Whether a request is being served: its headers are in and its answer is not yet complete."""
        return self.cycle is not None and not self.cycle.response_complete

    def arm_head_deadline(self) -> None:
        self.head_deadline = self.loop.call_later(self.limits.header_timeout, self.head_timed_out)

    def cancel_head_deadline(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def head_timed_out(self) -> None:
        self.head_deadline = None
        if self.serving():
            # A pipelined request is still arriving while an earlier one is served. uvicorn may have
            # paused reading for that one, so the late request gets another period after it.
            self.arm_head_deadline()
        elif self.in_head:
            self.answer_and_close(408, f"request headers not received within {self.limits.header_timeout:g} s")
        else:
            self.transport.close()  # no request was begun, so there is no one to answer

    def answer_and_close(self, status: int, message: str) -> None:
        """A proxy error answer (`{"error": message}`, as imgproxy.http.errors writes it), written
        straight to the socket: the connection's requests are not going through the app."""
        body = json.dumps({"error": message}).encode()
        head = [STATUS_LINE[status]]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/json\r\n",
            b"cache-control: no-store\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
