"""image_url downloads that cannot be turned against the proxy's own network (SSRF).

Each hop's host is resolved here, every address it resolves to is checked, and the request goes to
the checked address (with the real Host header and TLS server name), so a DNS answer that changes
between the check and the connection cannot slip a private address in. Redirects are followed by
hand, each hop checked the same way. Loopback, private, link-local, multicast, reserved and
unspecified addresses are refused unless `IMGPROXY_URL_ALLOWLIST` names the host or its network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache

import certifi
import httpx

from imgproxy import __version__
from imgproxy.capped import read_capped
from imgproxy.config import Allowlist, Settings
from imgproxy.errors import BadGateway, BadRequest, GatewayTimeout, TooLarge

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

MAX_REDIRECTS = 5
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64), checked as that address.
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class URLRefused(BadRequest):
    """The URL is malformed, not http(s), or points where the proxy may not fetch from."""


class URLUnreachable(BadGateway):
    """The server could not be reached, broke the answer, or answered an error."""


class URLTimeout(GatewayTimeout):
    pass


class URLTooLarge(TooLarge):
    pass


@dataclass(frozen=True)
class FetchPolicy:
    allowlist: Allowlist
    max_bytes: int
    timeout: float  # seconds for the whole download, every hop included
    connect_timeout: float

    @classmethod
    def of(cls, settings: Settings) -> FetchPolicy:
        return cls(settings.url_allowed, settings.max_source_bytes, settings.origin_timeout, settings.origin_connect_timeout)


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # The scope of a link-local IPv6 address ("fe80::1%eth0") does not change what it is.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def is_public(address: IPAddress) -> bool:
    """Whether `address` is a public unicast address: not loopback, private, link-local, multicast,
    reserved or unspecified, also when an IPv6 address carries an IPv4 one (mapped, 6to4, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and any(address in network for network in NAT64):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def allowed_address(host: str, addresses: list[IPAddress], allowlist: Allowlist) -> IPAddress:
    """The address to connect to for `host`, after checking all of them: one bad address refuses
    the host, since the connection could go to any of them."""
    if not addresses:
        raise URLRefused(f"image_url: host {host} has no address")
    if host.rstrip(".").lower() in allowlist.hosts:
        return addresses[0]
    for address in addresses:
        if not is_public(address) and not any(address in network for network in allowlist.networks):
            raise URLRefused(f"image_url: host {host} resolves to {address}, a private or reserved address, which is refused")
    return addresses[0]


def checked_url(text: str) -> httpx.URL:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise URLRefused(f"image_url is not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https"):
        raise URLRefused(f"image_url must be an http or https URL, got {url.scheme or 'no'} scheme")
    if not url.host:
        raise URLRefused("image_url has no host")
    return url


@cache
def tls_context() -> ssl.SSLContext:
    """One context for every download: loading the CA bundle costs more than a small image's fetch."""
    return ssl.create_default_context(cafile=certifi.where())


async def fetch(
    url: str, policy: FetchPolicy, resolve: Resolver = resolve_host, transport: httpx.AsyncBaseTransport | None = None
) -> bytes:
    """The body of `url`, following at most MAX_REDIRECTS redirects, within the policy's limits."""
    try:
        async with asyncio.timeout(policy.timeout):
            async with httpx.AsyncClient(
                transport=transport,
                timeout=httpx.Timeout(policy.timeout, connect=policy.connect_timeout),
                follow_redirects=False,
                trust_env=False,  # an environment proxy would connect to the host itself, unchecked
                verify=tls_context(),
                headers={"User-Agent": f"imgproxy/{__version__}"},
            ) as client:
                return await _follow(client, checked_url(url), policy, resolve)
    except (TimeoutError, httpx.TimeoutException):
        raise URLTimeout(f"image_url timed out after {policy.timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise URLUnreachable(f"image_url could not be fetched: {type(exc).__name__}") from None


async def _follow(client: httpx.AsyncClient, url: httpx.URL, policy: FetchPolicy, resolve: Resolver) -> bytes:
    for _ in range(MAX_REDIRECTS + 1):
        try:
            addresses = await resolve(url.host, url.port or (443 if url.scheme == "https" else 80))
        except (OSError, UnicodeError, ValueError):
            raise URLRefused(f"image_url: host {url.host} cannot be resolved") from None
        address = allowed_address(url.host, addresses, policy.allowlist)
        request = client.build_request(
            "GET",
            url.copy_with(host=str(address)),
            headers={"Host": url.netloc.decode("ascii")},
            extensions={"sni_hostname": url.host},
        )
        response = await client.send(request, stream=True)
        try:
            if response.is_redirect:  # httpx has refused an invalid Location already (RemoteProtocolError)
                url = checked_url(str(url.join(response.headers["location"])))
                continue
            if not response.is_success:
                raise URLUnreachable(f"image_url answered {response.status_code}")
            return await read_capped(
                response.aiter_bytes(), response.headers.get("content-length"), policy.max_bytes, "image_url", URLTooLarge
            )
        finally:
            await response.aclose()
    raise URLUnreachable(f"image_url redirected more than {MAX_REDIRECTS} times")
