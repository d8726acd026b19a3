"""Where webhooks may go: never into the provider's own network (SSRF).

A URL is checked when an endpoint is registered **and** again at every delivery, after DNS
resolution, and the connection then goes to the very address that was checked — a name
that resolved to a public address at registration and to 127.0.0.1 later (DNS rebinding)
is refused at delivery. Loopback, private, link-local (cloud metadata at 169.254.169.254),
shared, multicast and reserved addresses are refused unless a network is on the
``CLIENTDESK_WEBHOOK_ALLOWED_NETWORKS`` allow-list (development and tests only).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from clientdesk.core.errors import DomainError, ErrorCode

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # as written in the URL: the Host header and the TLS server name
    port: int
    path: str  # path and query
    address: str  # the vetted IP the connection goes to


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(network)
        for network in getattr(settings, "CLIENTDESK_WEBHOOK_ALLOWED_NETWORKS", [])
    ]


NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def is_public(address: IPAddress) -> bool:
    """True for an address on the public internet. IPv6 forms that carry an IPv4 address
    (mapped, compatible, NAT64, 6to4) are judged by that IPv4 address; Teredo is refused."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.teredo is not None:
            return False
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and (address in NAT64 or address in IPV4_COMPATIBLE):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast


def address_allowed(address: IPAddress) -> bool:
    if any(address in network for network in _allowed_networks()):
        return True
    return is_public(address)


def parse(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path of a webhook URL, or a DomainError saying what is wrong."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise DomainError(ErrorCode.INVALID, "This is not a valid URL.", field="url") from error
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise DomainError(ErrorCode.INVALID, "The URL must start with https://.", field="url")
    if scheme == "http" and not getattr(settings, "CLIENTDESK_WEBHOOK_ALLOW_HTTP", False):
        raise DomainError(
            ErrorCode.INVALID,
            "Webhooks are sent over HTTPS only: the URL must start with https://.",
            field="url",
        )
    if parts.username or parts.password:
        raise DomainError(
            ErrorCode.INVALID, "Put no user name or password in the URL.", field="url"
        )
    if parts.fragment:
        raise DomainError(ErrorCode.INVALID, "A webhook URL has no #fragment.", field="url")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise DomainError(ErrorCode.INVALID, "The URL has no host name.", field="url")
    try:  # an international name travels as its ASCII (punycode) form
        host = host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise DomainError(ErrorCode.INVALID, "The host name is not valid.", field="url") from error
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or (443 if scheme == "https" else 80), path


def resolve(url: str) -> Destination:
    """Parse, resolve and vet a URL. Every address the name resolves to must be allowed:
    a name with one public and one private address is refused."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise DomainError(
            ErrorCode.INVALID, f"The host name {host} could not be resolved.", field="url"
        ) from error
    addresses = list(
        dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
    )
    if not addresses:
        raise DomainError(ErrorCode.INVALID, f"{host} has no address.", field="url")
    refused = [address for address in addresses if not address_allowed(address)]
    if refused:
        raise DomainError(
            ErrorCode.INVALID,
            f"{host} resolves to {refused[0]}, a private or reserved address. Webhooks only "
            "go to addresses on the public internet.",
            field="url",
        )
    return Destination(scheme, host, port, path, str(addresses[0]))
