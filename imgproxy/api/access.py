"""Who may call the detect APIs: the one rule every dialect applies, each refusing in its own codes."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import TypeVar

from imgproxy.config import Settings

T = TypeVar("T")
# What a dialect makes of the configured key pairs (access key -> secret key): the request's
# credentials checked against them, or the dialect's own error.
Verify = Callable[[Mapping[str, str]], T]


def authorize(settings: Settings, verify: Verify[T], closed: Callable[[], Exception]) -> T | None:
    """The access rule of every detect API. Configured keys win over IMGPROXY_API_OPEN: every
    request must carry one of the pairs, which `verify` checks. Without keys the APIs are open
    (None) only when IMGPROXY_API_OPEN says so, and refused with the error `closed` makes otherwise."""
    if settings.key_pairs:
        return verify(settings.key_pairs)
    if settings.api_open:
        return None
    raise closed()


def key_matches(pairs: Mapping[str, str], key: str, secret: str) -> bool:
    expected = pairs.get(key)
    # Compared in constant time: the secret must not leak one character at a time.
    return expected is not None and hmac.compare_digest(expected.encode(), secret.encode())
