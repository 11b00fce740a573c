"""The SSRF guard: a webhook may only reach public addresses over http(s).

The check is on the addresses the host name resolves to, not on the name (a public name can point
at 127.0.0.1), and the transport then connects to the address that was checked, so a second DNS
answer cannot swap it for another (DNS rebinding). Private, loopback, link-local, multicast,
reserved and shared address ranges are refused unless the project allows private targets (tests and
the local sandbox receiver do).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class TargetRefused(ValueError):
    """The URL may not be called: wrong scheme, no host, or a forbidden address."""


class TargetUnresolvable(ValueError):
    """The host name does not resolve (now); worth retrying later."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name, for the Host header, SNI and certificate checks
    port: int
    path: str  # path and query
    address: str  # the checked IP address to connect to

    @property
    def host_header(self) -> str:
        default_port = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default_port else f"{host}:{self.port}"


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL, or `TargetRefused` saying what is wrong."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise TargetRefused(f"The URL is not valid: {error}.") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("Only http and https URLs can receive webhooks.")
    if not parts.hostname:
        raise TargetRefused("The URL has no host.")
    if parts.username or parts.password:
        raise TargetRefused("The URL may not carry a user name or password.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def is_forbidden_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def resolve_target(url: str, *, allow_private: bool) -> Target:
    """Check `url` and pick the address to connect to; raise `TargetRefused` or `TargetUnresolvable`."""
    scheme, host, port, path = split_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TargetUnresolvable(f"The host {host} does not resolve: {error}.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise TargetUnresolvable(f"The host {host} does not resolve.")
    if not allow_private:
        forbidden = [address for address in addresses if is_forbidden_address(address)]
        if forbidden:
            raise TargetRefused(
                f"The host {host} resolves to a private, loopback or link-local address ({forbidden[0]}), "
                "which webhooks may not reach."
            )
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
