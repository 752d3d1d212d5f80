"""The Starlette application of one proxy process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from imgproxy.api.native import face_detect
from imgproxy.config import Settings
from imgproxy.http.download import download
from imgproxy.http.errors import HANDLERS, error_response
from imgproxy.http.observe import OP_KEY, Observe
from imgproxy.service import Service


async def healthz(request: Request) -> Response:
    request.scope[OP_KEY] = "healthz"
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> Response:
    request.scope[OP_KEY] = "readyz"
    if not request.app.state.service.ready:
        return error_response(503, "not ready: models are loading")
    return JSONResponse({"status": "ready"}, headers={"Cache-Control": "no-store"})


async def metrics(request: Request) -> Response:
    request.scope[OP_KEY] = "metrics"
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def create_app(settings: Settings | None = None) -> Starlette:
    """The app for `settings`, or for the environment's `IMGPROXY_*` variables (uvicorn's factory)."""
    service = Service(settings or Settings.from_env())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.close()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/readyz", readyz, methods=["GET", "HEAD"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/v1/face/detect", face_detect, methods=["POST"]),
            Route("/{key:path}", download, methods=["GET", "HEAD"]),
        ],
        middleware=[Middleware(Observe, access_log=service.settings.access_log)],
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    app.state.service = service
    return app
