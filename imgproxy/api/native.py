"""POST /v1/face/detect: the facedetect op's JSON for an uploaded, base64 or fetched image.

curl -F image=@photo.jpg -F landmarks=1 http://127.0.0.1:8080/v1/face/detect
curl -H 'Content-Type: application/json' -d '{"image_url": "https://...", "max": 3}' .../v1/face/detect
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from imgproxy.api.access import authorize, key_matches
from imgproxy.api.inputs import Carrier, Fields, MissingImage, image_bytes, read_fields
from imgproxy.config import Settings
from imgproxy.errors import BadRequest, Unauthorized
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.facedetect import OPTION_KEYS, FaceDetect, read_native_options
from imgproxy.pipeline.values import Document, Encoded
from imgproxy.service import Service

SOURCES = {"image": Carrier.FILE, "image_base64": Carrier.BASE64, "image_url": Carrier.URL}
FIELDS = (*SOURCES, *OPTION_KEYS)


class CredentialsRequired(Unauthorized):
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Basic realm="imgproxy"'}


async def native_detect(request: Request) -> Response:
    service: Service = request.app.state.service
    settings = service.settings
    check_credentials(request.headers.get("authorization"), settings)
    service.pool.admit()  # shed before the body is read
    fields = await read_fields(request, settings.max_request_bytes, settings.body_timeout)
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; the fields are {', '.join(FIELDS)}")
    # Options first: a typo should not cost a download.
    op = FaceDetect(read_native_options({name: option_text(name, fields[name]) for name in OPTION_KEYS if name in fields}))
    data = await native_image(fields, settings)
    document = await service.pool.run(op.apply, Encoded(data, "application/octet-stream"), Context(settings, service.faces))
    assert isinstance(document, Document)
    return JSONResponse(document.body, headers={"Cache-Control": "no-store"})


async def native_image(fields: Fields, settings: Settings) -> bytes:
    given = [name for name in SOURCES if name in fields]
    if not given:
        raise MissingImage("no image: send a multipart file field image, or image_base64 or image_url")
    if len(given) > 1:
        raise BadRequest(f"send one image, got {' and '.join(given)}")
    return await image_bytes(SOURCES[given[0]], fields[given[0]], given[0], settings)


def check_credentials(authorization: str | None, settings: Settings) -> None:
    """With keys configured, HTTP Basic with one of the AK:SK pairs (`curl -u AK:SK`); without
    keys, only when IMGPROXY_API_OPEN=1 says the API is meant to be open."""

    def verify(pairs: Mapping[str, str]) -> None:
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            key, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:  # binascii.Error, UnicodeDecodeError, and a header that is not ASCII
            key, secret = "", ""
        if scheme.lower() != "basic" or not key_matches(pairs, key, secret):
            raise CredentialsRequired("send an API key pair with HTTP Basic authentication (curl -u AK:SK)")

    authorize(settings, verify, lambda: Unauthorized("the detect APIs are closed: set IMGPROXY_API_KEYS, or IMGPROXY_API_OPEN=1"))


def option_text(name: str, value: object) -> str:
    """An option's value as the op reads it: JSON true/false and numbers, or form text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    raise BadRequest(f"{name} must be a number or true/false, got {type(value).__name__}")
