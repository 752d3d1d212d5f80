"""Every error as JSON `{"error": message}` with Cache-Control: no-store; never a traceback."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from imgproxy.errors import ProxyError

log = logging.getLogger("imgproxy")


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={**(headers or {}), "Cache-Control": "no-store"})


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
