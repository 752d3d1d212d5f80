"""The errors a request can end in, each with the HTTP status it answers."""

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


class TooLarge(ProxyError):
    status = 413


class Unsupported(ProxyError):
    status = 415


class Unprocessable(ProxyError):
    status = 422


class Overloaded(ProxyError):
    status = 429
    headers = {"Retry-After": "1"}


class BadGateway(ProxyError):
    status = 502


class GatewayTimeout(ProxyError):
    status = 504
