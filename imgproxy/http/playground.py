"""GET /playground: a page that shows what the proxy sees (IMGPROXY_PLAYGROUND=1).

The page is plain HTML, CSS and JavaScript from `playground/`, with no build step and nothing
from the internet. It works through the public endpoints only (`/<key>?facedetect...`,
`?facecrop2/...`, the Qiniu ops, `POST /v1/face/detect` when the detect API is open), so it never
grants more than a URL would. What it cannot learn from them is `setup.json`: a folder origin's
image names (the one thing a URL does not tell, and the reason the page is off by default) and
whether the detect API will take an upload.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from imgproxy.config import Settings
from imgproxy.errors import NotFound
from imgproxy.http.observe import labelled
from imgproxy.origin.folder import FolderOrigin
from imgproxy.service import Service

STATIC = Path(__file__).with_name("playground")
LISTING_LIMIT = 500
# The page's scripts and styles are its own files: no inline script or style, nothing from
# elsewhere. Photos are shown from this origin, or from blob: URLs of the bytes it fetched.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; connect-src 'self';"
        " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str

    @classmethod
    def load(cls, name: str, media_type: str) -> Asset:
        body = (STATIC / name).read_bytes()
        return cls(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')

    async def answer(self, request: Request) -> Response:
        # no-cache: a browser may keep a copy but asks first (a 304 costs nothing), so the page,
        # its script and its styles always come from the same release.
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache", "ETag": self.etag}
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def routes(settings: Settings) -> list[Route]:
    """The playground's routes, none unless IMGPROXY_PLAYGROUND is on: without them these paths
    are keys like any other. They go before the download path's catch-all route."""
    if not settings.playground:
        return []
    page = Asset.load("index.html", "text/html; charset=utf-8")
    script = Asset.load("playground.js", "text/javascript; charset=utf-8")
    styles = Asset.load("playground.css", "text/css; charset=utf-8")
    return [
        Route("/playground", labelled("playground", page.answer), methods=["GET", "HEAD"]),
        Route("/playground/playground.js", labelled("playground", script.answer), methods=["GET", "HEAD"]),
        Route("/playground/playground.css", labelled("playground", styles.answer), methods=["GET", "HEAD"]),
        Route("/playground/setup.json", labelled("playground", setup), methods=["GET", "HEAD"]),
    ]


async def setup(request: Request) -> Response:
    """What the page needs to know beyond the public endpoints: the images it can offer, and
    whether it can send a photo of the user's own to the detect API (and if not, why)."""
    service: Service = request.app.state.service
    settings = service.settings
    body = {
        "listing": await listing(service, request.headers.get("host")),
        "upload": upload(settings),
        "downloads": {
            "available": not settings.private_downloads,
            "reason": "Every download here needs a signed token (IMGPROXY_PRIVATE_DOWNLOADS=1), which this page cannot make."
            if settings.private_downloads
            else "",
        },
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def listing(service: Service, host: str | None) -> dict[str, Any]:
    def unavailable(reason: str) -> dict[str, Any]:
        return {"available": False, "keys": [], "truncated": False, "reason": reason}

    if service.settings.private_downloads:
        return unavailable("Downloads are private here, so the bucket is not listed: type a key.")
    try:
        origin = service.origins.for_host(host).origin
    except NotFound:
        return unavailable("No origin serves this host name.")
    if not isinstance(origin, FolderOrigin):
        return unavailable("This origin is not a local folder and cannot be listed: type a key.")
    found = await origin.list_images(LISTING_LIMIT)
    reason = f"The first {LISTING_LIMIT} images of the folder; type a key for the others." if found.truncated else ""
    return {"available": True, "keys": found.keys, "truncated": found.truncated, "reason": reason}


def upload(settings: Settings) -> dict[str, Any]:
    # The detect API's own access rule (api/access.py): keys win over IMGPROXY_API_OPEN.
    if settings.key_pairs:
        reason = "The detect API needs one of its access keys (IMGPROXY_API_KEYS), and this page sends none."
    elif not settings.api_open:
        reason = "The detect API is closed: start the proxy with IMGPROXY_API_OPEN=1 (make run does) to try your own photos."
    else:
        reason = ""
    return {"available": not reason, "reason": reason, "max_bytes": min(settings.max_request_bytes, settings.max_source_bytes)}
