"""What every vendor dialect is to the proxy (`Dialect`), and the one endpoint that runs any of them.

A dialect turns a request into its work on the detection core and spells the outcome its vendor's
way (and sheds load before it reads the body); the endpoint does the rest alike for all: run the
work, answer every failure in the dialect's shape, and log what no table explains as a bug.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from imgproxy.api.vendor import code_of
from imgproxy.errors import VendorError
from imgproxy.service import Service

log = logging.getLogger("imgproxy")

Record = TypeVar("Record")


class Dialect(Protocol[Record]):
    """One vendor's detect API. `Record` is what its answers carry from the start of a request
    (Megvii's request id and clock, and the field the image came in)."""

    @property
    def path(self) -> str:
        """Where it answers POST."""

    def start(self) -> Record:
        """The record of a request that has just arrived."""

    async def work(self, request: Request, service: Service, record: Record) -> Response:
        """Read the request, run it on the core, and answer its success; raise on any failure."""

    def failure(self, record: Record, error: Exception) -> Response | None:
        """`error` in the vendor's codes; None for an error its tables do not know (a bug)."""

    def internal_error(self, record: Record) -> Response:
        """The vendor's answer to a bug, which says nothing of it."""


class CodedError(VendorError):
    """A failure already spelled as a code of a dialect that answers in codes (`CodedDialect`)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CodedDialect:
    """A dialect that answers every outcome with a code in its JSON body (Tencent, Qiniu)."""

    path: str
    result: Callable[[Request, Service], Awaitable[dict[str, Any]]]  # the work; the success's data
    reply: Callable[[int, str, dict[str, Any] | None], Response]  # an answer of code, message and data
    errors: Mapping[type[Exception], int]  # the proxy's errors as codes (`code_of`)
    message: Callable[[int, Exception], str]  # the message of an error found in `errors`
    success: tuple[int, str]
    internal: tuple[int, str]

    def start(self) -> None:
        return None

    async def work(self, request: Request, service: Service, record: None) -> Response:
        return self.reply(*self.success, await self.result(request, service))

    def failure(self, record: None, error: Exception) -> Response | None:
        if isinstance(error, CodedError):
            return self.reply(error.code, error.message, None)
        code = code_of(self.errors, error)
        return None if code is None else self.reply(code, self.message(code, error), None)

    def internal_error(self, record: None) -> Response:
        return self.reply(*self.internal, None)


def endpoint(dialect: Dialect[Record]) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint of `dialect`."""

    async def answer(request: Request) -> Response:
        record = dialect.start()
        service: Service = request.app.state.service
        try:
            return await dialect.work(request, service, record)
        except Exception as error:  # every failure answers in the vendor's shape, never the proxy's own
            response = dialect.failure(record, error)
            if response is None:
                log.error("internal error on POST %s", dialect.path, exc_info=error)
                response = dialect.internal_error(record)
            return response

    return answer
