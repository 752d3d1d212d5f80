"""The OpenAPI 3.0 description of `facepp`'s endpoint, assembled into /openapi.json by `api.openapi`."""

from __future__ import annotations

from typing import Any

from imgproxy.api.facepp import FACEPP, SOURCES
from imgproxy.api.megvii import error_responses

# OpenAPI 3.0 path item of the endpoint, assembled into /openapi.json with the other APIs.
_TEXT_FIELDS: dict[str, Any] = {
    "api_key": {
        "type": "string",
        "minLength": 1,
        "description": "Access key (IMGPROXY_API_KEYS AK). Not checked when the API is open.",
    },
    "api_secret": {"type": "string", "minLength": 1, "description": "Secret key of api_key (IMGPROXY_API_KEYS SK)."},
    "image_url": {
        "type": "string", "pattern": r"\S",
        "description": "http(s) URL of the image; used only without image_file and image_base64. Private and "
        "loopback addresses are refused unless IMGPROXY_URL_ALLOWLIST names them.",
    },
    "image_base64": {"type": "string", "pattern": r"\S", "description": "The image as base64; used only without image_file."},
    "return_landmark": {
        "type": "integer", "enum": [0, 1, 2], "default": 0,
        "description": "0: no landmarks; 1: Face++'s 83 named points; 2: its 106 named points.",
    },
    "return_attributes": {
        "type": "string", "default": "none",
        "pattern": r"^\s*(none|(headpose|blur|facequality)(\s*,\s*(headpose|blur|facequality))*)\s*$",
        "description": "none, or a comma-separated list of headpose, blur and facequality. Face++'s other "
        "attributes (gender, age, smiling, emotion, beauty, ...) are not computed: asking for one answers "
        "400 BAD_ARGUMENTS:return_attributes.",
    },
    "calculate_all": {
        "type": "integer", "enum": [0, 1], "default": 0,
        "description": "1: landmarks and attributes for every face, not only the largest five.",
    },
    "face_rectangle": {
        "type": "string", "pattern": r"^\s*\d+\s*,\s*\d+\s*,\s*0*[1-9]\d*\s*,\s*0*[1-9]\d*\s*$",
        "description": "top,left,width,height: detect only inside this rectangle and answer it as the face.",
    },
}  # fmt: skip
_POINT = {"type": "object", "required": ["x", "y"], "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}}
_SCORE = {
    "type": "object",
    "required": ["value", "threshold"],
    "properties": {"value": {"type": "number", "minimum": 0, "maximum": 100}, "threshold": {"type": "number"}},
}
_ANGLE = {"type": "number", "minimum": -180, "maximum": 180}
_FACE = {
    "type": "object",
    "required": ["face_token", "face_rectangle"],
    "properties": {
        "face_token": {"type": "string", "description": "The same for the same face of the same image."},
        "face_rectangle": {
            "type": "object",
            "required": ["top", "left", "width", "height"],
            "properties": {name: {"type": "integer", "minimum": 0} for name in ("top", "left", "width", "height")},
        },
        "landmark": {
            "type": "object", "additionalProperties": _POINT,
            "description": "83 or 106 points by Face++'s names, for the largest five faces (all with calculate_all).",
        },
        "attributes": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "headpose": {
                    "type": "object",
                    "required": ["pitch_angle", "roll_angle", "yaw_angle"],
                    "properties": {"pitch_angle": _ANGLE, "roll_angle": _ANGLE, "yaw_angle": _ANGLE},
                },
                "blur": {
                    "type": "object",
                    "required": ["blurness", "motionblur", "gaussianblur"],
                    "properties": {"blurness": _SCORE, "motionblur": _SCORE, "gaussianblur": _SCORE},
                },
                "facequality": _SCORE,
            },
        },
    },
}  # fmt: skip
OPENAPI: dict[str, dict[str, Any]] = {
    FACEPP.path: {
        "post": {
            "summary": "Face++ Detect API v3",
            "description": "Faces, largest first, with Face++'s fields. Only headpose, blur and facequality "
            "attributes are computed; see the README's honesty table.",
            "operationId": "faceppDetect",
            "tags": ["Face++"],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["api_key", "api_secret"],
                            "properties": {**_TEXT_FIELDS, "image_file": {"type": "string", "format": "binary"}},
                            "anyOf": [{"required": [name]} for name in SOURCES],
                        }
                    },
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["api_key", "api_secret"],
                            "properties": _TEXT_FIELDS,
                            "anyOf": [{"required": [name]} for name in SOURCES if name != "image_file"],
                        }
                    },
                },
            },
            "responses": {
                "200": {
                    "description": "The faces found (face_num counts them all).",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["request_id", "time_used", "image_id", "face_num", "faces"],
                                "properties": {
                                    "request_id": {"type": "string"},
                                    "time_used": {"type": "integer"},
                                    "image_id": {"type": "string"},
                                    "face_num": {"type": "integer", "minimum": 0},
                                    "faces": {"type": "array", "items": _FACE},
                                },
                            }
                        }
                    },
                },
                **error_responses(FACEPP, {
                    400: "MISSING_ARGUMENTS, BAD_ARGUMENTS, IMAGE_ERROR_UNSUPPORTED_FORMAT, INVALID_IMAGE_SIZE, "
                    "INVALID_IMAGE_URL or IMAGE_FILE_TOO_LARGE.",
                    401: "AUTHENTICATION_ERROR: api_key and api_secret do not match a configured pair, or the "
                    "API has no keys and is not open.",
                    403: "CONCURRENCY_LIMIT_EXCEEDED: the proxy is shedding load; retry after Retry-After seconds.",
                    412: "IMAGE_DOWNLOAD_TIMEOUT: image_url took too long.",
                    500: "INTERNAL_ERROR.",
                }),
            },
        }
    }
}  # fmt: skip
