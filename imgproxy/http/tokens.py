"""Qiniu private-download tokens: `?<pipeline>&e=<deadline>&token=<AK>:<sign>` (DESIGN section 6).

sign = urlsafe base64 of HMAC-SHA1(SK, the URL up to and including `e=<deadline>`), exactly what
the official SDK's `Auth.private_download_url` produces.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import unquote

from imgproxy.errors import Unauthorized
from imgproxy.origin.kodo import sign

# Unix seconds have 10 digits until the year 2286; a longer deadline is malformed, not eternal.
MAX_DEADLINE_DIGITS = 12


def check_download_token(url: str, query: str, keys: Mapping[str, str], now: float) -> int:
    """The deadline of the valid, unexpired token `query` ends in, for `url` (no query); Unauthorized
    otherwise."""
    params = query.split("&")
    if len(params) < 2 or not params[-1].startswith("token=") or not params[-2].startswith("e="):
        raise Unauthorized("download token required: add &e=<deadline>&token=<AK>:<sign>")
    deadline = params[-2].removeprefix("e=")
    if not (deadline.isascii() and deadline.isdigit() and len(deadline) <= MAX_DEADLINE_DIGITS):
        raise Unauthorized("download token has a malformed deadline")
    if int(deadline) < now:
        raise Unauthorized("download token expired")
    access, _, signature = unquote(params[-1].removeprefix("token=")).partition(":")
    secret = keys.get(access)
    signed = url + "?" + "&".join(params[:-1])
    # The signer signed the URL before its HTTP library percent-encoded it (`|` as %7C, say).
    if secret is None or not any(hmac.compare_digest(sign(secret, text), signature) for text in {signed, unquote(signed)}):
        raise Unauthorized("download token is invalid")
    return int(deadline)
