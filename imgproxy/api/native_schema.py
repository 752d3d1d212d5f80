"""The OpenAPI 3.0 description of `native`'s endpoint, assembled into /openapi.json by `api.openapi`."""

from __future__ import annotations

from typing import Any

_POINT = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
_FLAG_TEXT = {"type": "string", "enum": ["0", "1"]}
_FORM_OPTIONS = {
    "landmarks": _FLAG_TEXT, "attributes": _FLAG_TEXT, "rotate": _FLAG_TEXT,
    "max": {"type": "string", "pattern": "^[0-9]{1,4}$", "description": "1 to 1000"},
    "minsize": {"type": "string", "pattern": "^[0-9]{1,4}$", "description": "16 to 9999"},
}  # fmt: skip
_ERROR = {"application/json": {"schema": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}

# The endpoint in OpenAPI 3.0, for /openapi.json.
OPENAPI: dict[str, dict[str, Any]] = {
    "/v1/face/detect": {
        "post": {
            "summary": "The native face-detection JSON of an uploaded, base64 or fetched image",
            "security": [{"basic": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "image": {"type": "string", "format": "binary"},
                                **_FORM_OPTIONS,
                            },
                        }
                    },
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "image_base64": {"type": "string"},
                                "image_url": {"type": "string", "format": "uri"},
                                **_FORM_OPTIONS,
                            },
                        }
                    },
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "image_base64": {"type": "string"},
                                "image_url": {"type": "string", "format": "uri"},
                                "landmarks": {"type": "boolean"},
                                "attributes": {"type": "boolean"},
                                "rotate": {"type": "boolean"},
                                "max": {"type": "integer", "minimum": 1, "maximum": 1000},
                                "minsize": {"type": "integer", "minimum": 16, "maximum": 9999},
                            },
                        }
                    },
                },
            },
            "responses": {
                "200": {
                    "description": "The faces, largest first",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["width", "height", "orientation", "faces"],
                                "properties": {
                                    "width": {"type": "integer"},
                                    "height": {"type": "integer"},
                                    "orientation": {"type": "integer", "enum": [0, 90, 180, 270]},
                                    "faces": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["box", "score", "keypoints"],
                                            "properties": {
                                                "box": {
                                                    "type": "array",
                                                    "items": {"type": "number"},
                                                    "minItems": 4,
                                                    "maxItems": 4,
                                                },
                                                "score": {"type": "number"},
                                                "keypoints": {"type": "object", "additionalProperties": _POINT},
                                                "landmarks": {"type": "array", "items": _POINT, "nullable": True},
                                            },
                                        },
                                    },
                                },
                            }
                        }
                    },
                },
                **{
                    status: {"description": why, "content": _ERROR}
                    for status, why in (
                        ("400", "No image, a bad option or field, or a refused image_url"),
                        ("401", "No valid key pair, or the API is closed"),
                        ("408", "The body did not all arrive within the body timeout"),
                        ("413", "The body, the image or its pixels over the limits"),
                        ("415", "Not an image, or a body that is not multipart, form or JSON"),
                        ("429", "Too many requests queued"),
                        ("502", "image_url could not be fetched"),
                        ("504", "image_url timed out"),
                    )
                },
            },
        }
    }
}
