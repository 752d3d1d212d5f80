"""The OpenAPI document of the detect APIs (GET /openapi.json), assembled from each API's own paths."""

from __future__ import annotations

from typing import Any

from imgproxy import __version__
from imgproxy.api import faceid_schema, facepp_schema, native_schema, qiniu_schema, tencent_schema


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for api in (native_schema, facepp_schema, faceid_schema, tencent_schema, qiniu_schema):
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
