"""Every error as JSON `{"error": message, "request_id": id}` with Cache-Control: no-store; never
a traceback. The id is the one in the X-Request-Id header and the request's log lines."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from imgproxy.errors import ProxyError
from imgproxy.http.observe import REQUEST_ID_HEADER
from imgproxy.logs import REQUEST_ID

log = logging.getLogger("imgproxy")


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body, answered = {"error": message}, {**(headers or {}), "Cache-Control": "no-store"}
    request_id = REQUEST_ID.get()
    if request_id is not None:
        # In the header too: an unexpected error is answered outside the middleware that adds it.
        body["request_id"] = answered[REQUEST_ID_HEADER] = request_id
    return JSONResponse(body, status_code=status, headers=answered)


async def proxy_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProxyError)
    return error_response(exc.status, exc.message, exc.headers)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, exc.detail)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    # Starlette re-raises the error after this answer and uvicorn then drops the connection: say so,
    # or a keep-alive client sends its next request into a closed socket.
    return error_response(500, "internal error", {"Connection": "close"})


HANDLERS = {ProxyError: proxy_error, HTTPException: http_error, Exception: internal_error}
