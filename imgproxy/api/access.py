"""Who may call the detect APIs: the rule every dialect applies, each in its own error style."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from enum import Enum

from imgproxy.config import Settings


class Access(Enum):
    VERIFY = "verify"  # keys are configured: every request must be signed with one
    OPEN = "open"  # no keys, and the operator opened the APIs: no check
    CLOSED = "closed"  # no keys and not opened: every request is refused


def access(settings: Settings) -> Access:
    """The rule shared by the detect APIs; configured keys win over IMGPROXY_API_OPEN."""
    if settings.key_pairs:
        return Access.VERIFY
    return Access.OPEN if settings.api_open else Access.CLOSED


def key_matches(pairs: Mapping[str, str], key: str, secret: str) -> bool:
    expected = pairs.get(key)
    # Compared in constant time: the secret must not leak one character at a time.
    return expected is not None and hmac.compare_digest(expected.encode(), secret.encode())
