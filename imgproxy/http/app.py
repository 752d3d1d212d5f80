"""The Starlette application of one proxy process."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, multiprocess
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from imgproxy.api.faceid import FACEID, faceid_detect
from imgproxy.api.facepp import FACEPP, facepp_detect
from imgproxy.api.megvii import UnknownEndpoint
from imgproxy.api.native import native_detect
from imgproxy.api.openapi import document
from imgproxy.api.qiniu import qiniu_detect
from imgproxy.api.tencent import tencent_detect
from imgproxy.config import METRICS_DIR_ENV, Settings
from imgproxy.http.download import download
from imgproxy.http.errors import HANDLERS, error_response
from imgproxy.http.observe import LabelledApp, Observe, labelled
from imgproxy.http.playground import routes as playground_routes
from imgproxy.metrics import registry
from imgproxy.service import Service


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> Response:
    if not request.app.state.service.ready:
        return error_response(503, "not ready: models are loading")
    return JSONResponse({"status": "ready"}, headers={"Cache-Control": "no-store"})


async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


async def metrics(request: Request) -> Response:
    text = generate_latest(registry())
    return Response(text, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def create_app(settings: Settings | None = None) -> Starlette:
    """The app for `settings`, or for the environment's `IMGPROXY_*` variables (uvicorn's factory)."""
    service = Service(settings or Settings.from_env())
    # With a metrics port of its own (served by `imgproxy serve`), the public port has no /metrics.
    metrics_routes = [] if service.settings.metrics_port else [Route("/metrics", labelled("metrics", metrics), methods=["GET"])]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.close()
            if METRICS_DIR_ENV in os.environ:  # this worker's live gauges leave the sum
                multiprocess.mark_process_dead(os.getpid())

    app = Starlette(
        routes=[
            # Each route names its requests for the metrics; the download path names its own by the op.
            Route("/healthz", labelled("healthz", healthz), methods=["GET", "HEAD"]),
            Route("/readyz", labelled("readyz", readyz), methods=["GET", "HEAD"]),
            *metrics_routes,
            Route("/openapi.json", labelled("openapi", openapi), methods=["GET", "HEAD"]),
            Route("/v1/face/detect", labelled("face/detect", native_detect), methods=["POST"]),
            Route(FACEPP.path, labelled(FACEPP.op, facepp_detect), methods=["POST"]),
            Route("/facepp/{rest:path}", LabelledApp(FACEPP.op, UnknownEndpoint(FACEPP))),
            Route(FACEID.path, labelled(FACEID.op, faceid_detect), methods=["POST"]),
            Route("/faceid/{rest:path}", LabelledApp(FACEID.op, UnknownEndpoint(FACEID))),
            Route("/face/detect", labelled("tencent/face/detect", tencent_detect), methods=["POST"]),
            Route("/v2/facedetect", labelled("qiniu/v2/facedetect", qiniu_detect), methods=["POST"]),
            # Only with IMGPROXY_PLAYGROUND=1; else /playground is a key like any other.
            *playground_routes(service.settings),
            Route("/{key:path}", download, methods=["GET", "HEAD"]),
        ],
        middleware=[Middleware(Observe, access_log=service.settings.access_log)],
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.openapi = document()
    return app
