"""The OpenAPI 3.0 description of `qiniu`'s endpoint, assembled into /openapi.json by `api.openapi`."""

from __future__ import annotations

from typing import Any

from imgproxy.api.inputs import JSON_TYPE
from imgproxy.api.qiniu import FACE_TYPES, FIELDS, IMAGE_TYPES, LIVENESS, MAX_FACE_NUM, PATH, UNSUPPORTED
from imgproxy.api.qiniu_landmarks import LANDMARK4, LANDMARK72, LANDMARK150


def _points(count: int) -> dict[str, Any]:
    point = {"type": "object", "required": ["x", "y"], "properties": {"x": {"type": "number"}, "y": {"type": "number"}}}
    return {"type": "array", "items": point, "minItems": count, "maxItems": count}


def _switch(description: str) -> dict[str, Any]:
    return {"type": "integer", "enum": [0, 1], "default": 0, "description": description}


_FACE = {
    "type": "object",
    "required": ["face_token", "location", "face_probability"],
    "description": (
        "angle, landmark*, quality and eye_status need the face mesh and are left out of a face it did not find. "
        "age, expression, face_shape, gender, glasses, emotion, face_type, mask, spoofing and quality.occlusion "
        "are not supported."
    ),
    "properties": {
        "face_token": {
            "type": "string",
            "pattern": "^[0-9a-f]{32}$",
            "description": "The same for the same face of the same image.",
        },
        "location": {
            "type": "object",
            "required": ["left", "top", "width", "height", "rotation"],
            "properties": {
                "left": {"type": "number"},
                "top": {"type": "number"},
                "width": {"type": "number"},
                "height": {"type": "number"},
                "rotation": {"type": "integer", "enum": [0], "description": "The box is upright; the head's tilt is angle.roll."},
            },
        },
        "face_probability": {"type": "number", "minimum": 0, "maximum": 1},
        "angle": {
            "type": "object",
            "required": ["yaw", "pitch", "roll"],
            "properties": {
                "yaw": {"type": "number", "minimum": -90, "maximum": 90, "description": "< 0 turned to the subject's own left."},
                "pitch": {"type": "number", "minimum": -90, "maximum": 90, "description": "< 0 looking up."},
                "roll": {"type": "number", "minimum": -180, "maximum": 180, "description": "> 0 clockwise in the image."},
            },
        },
        "landmark": _points(len(LANDMARK4)),
        "landmark72": _points(len(LANDMARK72)),
        "landmark150": _points(len(LANDMARK150)),
        "quality": {
            "type": "object",
            "required": ["blur", "illumination", "completeness"],
            "properties": {
                "blur": {"type": "number", "minimum": 0, "maximum": 1},
                "illumination": {"type": "integer", "minimum": 0, "maximum": 255},
                "completeness": {"type": "integer", "enum": [0, 1]},
            },
        },
        "eye_status": {
            "type": "object",
            "required": ["left_eye", "right_eye"],
            "properties": {
                "left_eye": {"type": "number", "minimum": 0, "maximum": 1},
                "right_eye": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
        "corp_image_base64": {
            "type": "string",
            "format": "byte",
            "description": "JPEG of the face box, with display_corp_image=1.",
        },
    },
}
_ANSWER = {
    "type": "object",
    "required": ["error_code", "error_msg", "log_id", "result"],
    "properties": {
        "error_code": {"type": "integer", "description": "0 on success, else a Baidu-style code (401 for authentication)."},
        "error_msg": {"type": "string"},
        "log_id": {"type": "integer"},
        "result": {
            "type": "object",
            "nullable": True,
            "required": ["face_num", "face_list"],
            "properties": {"face_num": {"type": "integer", "minimum": 1}, "face_list": {"type": "array", "items": _FACE}},
        },
    },
}

OPENAPI: dict[str, dict[str, Any]] = {
    PATH: {
        "post": {
            "tags": ["Qiniu"],
            "operationId": "qiniuFaceDetect",
            "summary": "Qiniu face detection (face-detect.qiniuapi.com/v2/facedetect)",
            "description": (
                "Signed with a Qiniu management token. Errors answer HTTP 200 with error_code, except a missing or bad "
                "token (401), load shedding (18, HTTP 429) and internal errors (1, HTTP 500)."
            ),
            "parameters": [
                {
                    "name": "Authorization",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": (
                        "`Qiniu <AccessKey>:<sign>` as the SDK's QiniuMacAuth makes it. Required unless the operator "
                        "runs the APIs open (IMGPROXY_API_OPEN=1 without keys)."
                    ),
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    JSON_TYPE: {
                        "schema": {
                            "type": "object",
                            "required": ["image", "image_type"],
                            "properties": {
                                "image": {
                                    "type": "string",
                                    "minLength": 1,
                                    "description": "Base64 of the image, its http(s) URL, or a face_token.",
                                },
                                "image_type": {"type": "string", "enum": list(IMAGE_TYPES)},
                                "face_field": {
                                    "type": "string",
                                    "description": f"Comma list of {', '.join(FIELDS)}; {', '.join(UNSUPPORTED)} answer 216100.",
                                },
                                "max_face_num": {"type": "integer", "minimum": 1, "maximum": MAX_FACE_NUM, "default": 1},
                                "face_type": {"type": "string", "enum": list(FACE_TYPES), "default": "LIVE"},
                                "liveness_control": {
                                    "type": "string",
                                    "enum": list(LIVENESS),
                                    "default": "NONE",
                                    "description": "Only NONE: no liveness detection; the others answer 216100.",
                                },
                                "face_sort_type": _switch("0: largest face first, 1: nearest the image's centre first."),
                                "display_corp_image": _switch("1: each face's crop as base64 JPEG, at most 5 faces."),
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "The faces (error_code 0) or a Baidu-style error code.",
                    "content": {JSON_TYPE: {"schema": _ANSWER}},
                },
                "401": {
                    "description": "error_code 401: missing, malformed, unknown or wrong token, or a stale X-Qiniu-Date.",
                    "content": {JSON_TYPE: {"schema": _ANSWER}},
                },
                "429": {
                    "description": "error_code 18: too many requests queued; retry after Retry-After seconds.",
                    "content": {JSON_TYPE: {"schema": _ANSWER}},
                },
                "500": {"description": "error_code 1: internal error.", "content": {JSON_TYPE: {"schema": _ANSWER}}},
            },
        }
    }
}
