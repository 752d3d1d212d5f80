"""The OpenAPI 3.0 description of `tencent`'s endpoint, assembled into /openapi.json by `api.openapi`."""

from __future__ import annotations

from typing import Any

from imgproxy.api.tencent import PATH, POSE_LIMIT

_FACE_ITEM = {
    "type": "object",
    "required": ["face_id", "x", "y", "width", "height"],
    "properties": {
        "face_id": {"type": "string", "description": "Decimal id, the same for the same face of the same image."},
        "x": {
            "type": "integer",
            "description": "Left of the face box, pixels of the image as displayed (EXIF orientation applied).",
        },
        "y": {"type": "integer", "description": "Top of the face box."},
        "width": {"type": "number", "description": "Width of the face box."},
        "height": {"type": "number", "description": "Height of the face box."},
        "pitch": {
            "type": "integer",
            "minimum": -POSE_LIMIT,
            "maximum": POSE_LIMIT,
            "description": "Degrees, < 0 looking up; only when the face mesh found the face.",
        },
        "yaw": {
            "type": "integer",
            "minimum": -POSE_LIMIT,
            "maximum": POSE_LIMIT,
            "description": "Degrees, < 0 turned to the subject's own left.",
        },
        "roll": {"type": "integer", "minimum": -180, "maximum": 180, "description": "Degrees, > 0 clockwise in the image."},
    },
    "description": "gender, age, expression, glass and beauty are not supported and never present.",
}
_ANSWER = {
    "type": "object",
    "required": ["data", "code", "message"],
    "properties": {
        "code": {"type": "integer", "description": "0 on success, else one of the seed's error codes."},
        "message": {"type": "string"},
        "data": {
            "type": "object",
            "description": "Empty when code is not 0.",
            "properties": {
                "session_id": {"type": "string", "description": "Always empty: results are not kept."},
                "image_width": {"type": "integer"},
                "image_height": {"type": "integer"},
                "face": {"type": "array", "items": _FACE_ITEM},
            },
        },
    },
}
_APPID = {"type": "string", "minLength": 1, "description": "The project's AppID; must match the signature's a=."}
_MODE = {"type": "integer", "enum": [0, 1], "default": 0, "description": "0: all faces, 1: the largest face."}

OPENAPI: dict[str, dict[str, Any]] = {
    PATH: {
        "post": {
            "tags": ["Tencent"],
            "operationId": "tencentFaceDetect",
            "summary": "Tencent Cloud face detection (legacy recognition.image.myqcloud.com API)",
            "description": (
                "Every outcome is HTTP 200 with Tencent's `code` in the body, except load shedding "
                "(code 15, HTTP 429) and internal errors (code 213, HTTP 500)."
            ),
            "parameters": [
                {
                    "name": "Authorization",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": (
                        "Tencent's reusable signature: base64(HMAC-SHA1(SecretKey, original) + original), original "
                        "'a=<appid>&b=<bucket>&k=<SecretId>&e=<expiry>&t=<now>&r=<rand>&f='. Required unless the "
                        "operator runs the APIs open (IMGPROXY_API_OPEN=1 without keys)."
                    ),
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["appid", "url"],
                            "properties": {
                                "appid": _APPID,
                                "mode": _MODE,
                                "url": {"type": "string", "description": "http(s) URL of the image."},
                            },
                        }
                    },
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["appid", "image"],
                            "properties": {
                                "appid": _APPID,
                                "mode": _MODE,
                                "image": {"type": "string", "format": "binary", "description": "The image file."},
                                "url": {"type": "string", "description": "Used instead of image when both come."},
                            },
                        }
                    },
                },
            },
            "responses": {
                "200": {
                    "description": "The faces (code 0) or one of the seed's error codes.",
                    "content": {"application/json": {"schema": _ANSWER}},
                },
                "429": {
                    "description": "Code 15: too many requests queued; retry after Retry-After seconds.",
                    "content": {"application/json": {"schema": _ANSWER}},
                },
                "500": {"description": "Code 213: internal error.", "content": {"application/json": {"schema": _ANSWER}}},
            },
        }
    }
}
