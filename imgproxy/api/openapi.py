"""The OpenAPI document of the detect APIs (GET /openapi.json), assembled from each API's own paths."""

from __future__ import annotations

from typing import Any

from imgproxy import __version__
from imgproxy.api import faceid, facepp, native, qiniu, tencent


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for api in (native, facepp, faceid, tencent, qiniu):
        paths.update(api.OPENAPI)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "imgproxy face-detection APIs",
            "version": __version__,
            "description": (
                "The native API and four vendor dialects (Face++ v3, FaceID v1, Tencent, Qiniu v2), "
                "each a thin adapter over one detection core. The download path (GET /<key>?<pipeline>) "
                "is described in the README."
            ),
        },
        "paths": paths,
        "components": {"securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}},
    }
