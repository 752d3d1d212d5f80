"""The errors a request can end in, each with the HTTP status it answers.

Every error a request can end in is a `ProxyError`: its message is safe to show the client, and
the download path answers it as `{"error": message}` with its status. The detect APIs answer the
same errors in their vendors' shapes: each dialect has a table from these classes to its own codes
(`api.vendor.code_of` reads it), and a `VendorError` for what it spells itself. Subclasses that
name a more precise cause (`api.inputs.BodyTooLarge` is a `TooLarge`) live beside the code that
raises them, so a dialect can give them codes of their own.
"""

from typing import ClassVar


class ProxyError(Exception):
    """An error whose message is safe to show the client as `{"error": message}`."""

    status = 500
    headers: ClassVar[dict[str, str]] = {}  # sent with the error answer

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ProxyError):
    status = 400


class Unauthorized(ProxyError):
    status = 401


class NotFound(ProxyError):
    status = 404

    def __init__(self, message: str = "Document not found") -> None:
        super().__init__(message)


class RequestTimeout(ProxyError):
    status = 408
    # The rest of the request may still come, so the connection cannot carry another one (RFC 9110 15.5.9).
    headers: ClassVar[dict[str, str]] = {"Connection": "close"}


class TooLarge(ProxyError):
    status = 413


class Unsupported(ProxyError):
    status = 415


class Unprocessable(ProxyError):
    status = 422


class Overloaded(ProxyError):
    status = 429
    headers: ClassVar[dict[str, str]] = {"Retry-After": "1"}


class BadGateway(ProxyError):
    status = 502


class GatewayTimeout(ProxyError):
    status = 504


class VendorError(ProxyError):
    """A failure already spelled in one vendor dialect's codes (`api.megvii.MegviiError`,
    `api.tencent.TencentError`, `api.qiniu.QiniuError`): that dialect answers it in its own shape."""

    status = 400


class ProcessingTimeout(Overloaded):
    """The request's work ran past IMGPROXY_PROCESS_TIMEOUT. Mostly a sign of load (its time
    includes the wait for a thread), so it answers like shed load, with 503 and Retry-After."""

    status = 503
