"""S3 and S3-compatible buckets (AWS S3, MinIO, Ceph RGW, Cloudflare R2, Qiniu's S3 endpoint).

`s3://<bucket>[/<prefix>]` is an HTTP origin whose base URL is the bucket's, and whose every request
is signed with Signature V4 by botocore's own signer, with credentials from the standard AWS chain
(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE and the shared files,
container and instance roles), refreshed by botocore when they expire.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session

from imgproxy.config import ConfigError, Settings, env_name

# The headers SigV4 adds: the signature, its time, the payload's hash and a session's token.
SIGNATURE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256", "X-Amz-Security-Token")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or a key prefix ending in "/"


def s3_location(origin: str) -> S3Location:
    """`s3://<bucket>[/<prefix>]` read."""
    bucket, _, prefix = origin.removeprefix("s3://").partition("/")
    if not bucket:
        raise ConfigError(f"{env_name('origin')}: expected s3://<bucket>[/<prefix>], got {origin!r}")
    prefix = prefix.strip("/")
    return S3Location(bucket, prefix + "/" if prefix else "")


def bucket_url(location: S3Location, settings: Settings) -> str:
    """The base URL of the bucket's objects, path-style (endpoint/bucket/) or virtual-hosted (bucket.host/)."""
    endpoint = (settings.s3_endpoint or f"https://s3.{settings.s3_region}.amazonaws.com").rstrip("/")
    addressing = settings.s3_addressing or ("path" if settings.s3_endpoint else "virtual")
    if addressing == "path":
        return f"{endpoint}/{location.bucket}/{location.prefix}".rstrip("/")
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{location.bucket}.{parts.netloc}/{location.prefix}".rstrip("/")


class SigV4Signer:
    """Signs each origin request in place, as botocore signs an S3 GetObject or HeadObject."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.credentials = Session().get_credentials()
        if self.credentials is None:
            raise ConfigError(
                f"{env_name('origin')}: an s3:// origin needs AWS credentials (AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a container or instance role); none were found"
            )

    async def __call__(self, request: httpx.Request) -> None:
        assert self.credentials is not None
        # Refreshing a role's credentials is an HTTP call botocore makes blocking.
        frozen = await asyncio.to_thread(self.credentials.get_frozen_credentials)
        signed = AWSRequest(method=request.method, url=str(request.url))
        S3SigV4Auth(frozen, "s3", self.region).add_auth(signed)
        for name in SIGNATURE_HEADERS:
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
