"""The OpenAPI 3.0 description of `faceid`'s endpoint, assembled into /openapi.json by `api.openapi`."""

from __future__ import annotations

from typing import Any

from imgproxy.api.faceid import FACEID
from imgproxy.api.megvii import error_responses

# OpenAPI 3.0 path item of the endpoint, assembled into /openapi.json with the other APIs.
_FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
OPENAPI: dict[str, dict[str, Any]] = {
    FACEID.path: {
        "post": {
            "summary": "FaceID Detect API v1",
            "description": "Faces, largest first, as fractions of the image, each with a quality score.",
            "operationId": "faceidDetect",
            "tags": ["FaceID"],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["api_key", "api_secret", "image"],
                            "properties": {
                                "api_key": {
                                    "type": "string",
                                    "minLength": 1,
                                    "description": "Access key (IMGPROXY_API_KEYS AK).",
                                },
                                "api_secret": {"type": "string", "minLength": 1, "description": "Secret key of api_key."},
                                "image": {"type": "string", "format": "binary", "description": "The photo."},
                                "multi_oriented_detection": {
                                    "type": "string", "enum": ["0", "1"], "default": "0",
                                    "description": "1: also look for faces turned by 90, 180 and 270 degrees.",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "The faces found.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["request_id", "time_used", "faces"],
                                "properties": {
                                    "request_id": {"type": "string"},
                                    "time_used": {"type": "number"},
                                    "faces": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["quality", "quality_threshold", "rect", "token"],
                                            "properties": {
                                                "quality": {"type": "number", "minimum": 0, "maximum": 100},
                                                "quality_threshold": {"type": "number"},
                                                "rect": {
                                                    "type": "object",
                                                    "required": ["left", "top", "width", "height"],
                                                    "properties": dict.fromkeys(("left", "top", "width", "height"), _FRACTION),
                                                },
                                                "token": {"type": "string"},
                                                "orientation": {
                                                    "type": "integer", "enum": [0, 90, 180, 270],
                                                    "description": "Only with multi_oriented_detection=1.",
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        }
                    },
                },
                **error_responses(FACEID, {
                    400: "MISSING_ARGUMENTS, BAD_ARGUMENTS, IMAGE_ERROR_UNSUPPORTED_FORMAT or INVALID_IMAGE_SIZE.",
                    403: "AUTHORIZATION_ERROR (keys do not match, or the API has no keys and is not open), or "
                    "CONCURRENCY_LIMIT_EXCEEDED (the proxy is shedding load; retry after Retry-After seconds).",
                    500: "INTERNAL_ERROR.",
                }),
            },
        }
    }
}  # fmt: skip
