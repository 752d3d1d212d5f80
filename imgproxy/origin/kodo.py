"""Qiniu Kodo private buckets: every origin request made a private-download URL
(`?e=<deadline>&token=<AK>:<sign>`), exactly as the official SDK's `Auth.private_download_url` signs
it. The same signature checks the proxy's own private downloads (`http.tokens`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import httpx

from imgproxy.config import ConfigError, env_name, parse_key_pairs

# A fresh token per request, valid long enough for the fetch and its retries, no longer.
TOKEN_LIFETIME = 300


def sign(secret: str, data: str) -> str:
    """urlsafe base64 of HMAC-SHA1(secret, data): Qiniu's sign of a download URL."""
    digest = hmac.new(secret.encode(), data.encode(), hashlib.sha1).digest()
    return base64.urlsafe_b64encode(digest).decode()


def private_download_url(url: str, access_key: str, secret_key: str, deadline: int) -> str:
    signed = f"{url}{'&' if '?' in url else '?'}e={deadline}"
    return f"{signed}&token={access_key}:{sign(secret_key, signed)}"


class PrivateDownloadSigner:
    """Signs each origin request in place with a key pair given as `AK:SK`."""

    def __init__(self, key_pair: str) -> None:
        pairs = parse_key_pairs(key_pair, "origin_qiniu_key")
        if len(pairs) != 1:
            raise ConfigError(f"{env_name('origin_qiniu_key')}: expected one AK:SK pair")
        ((self.access_key, self.secret_key),) = pairs.items()

    async def __call__(self, request: httpx.Request) -> None:
        deadline = int(time.time()) + TOKEN_LIFETIME
        request.url = httpx.URL(private_download_url(str(request.url), self.access_key, self.secret_key, deadline))
