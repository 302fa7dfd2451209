"""Where a webhook may be sent: https to a public address, checked again at every send.

A site gives us a URL and we POST to it from inside its infrastructure's neighbour: without care
that is a way to reach our own private network (SSRF). So an endpoint is https only, carries
no credentials, and its host must not be, or resolve to, a loopback, private, link-local,
multicast or otherwise reserved address. A name can resolve differently tomorrow, so the check
runs on the resolved addresses when each delivery is sent, and the request goes to the address
that was checked. `CREDITFLOW_WEBHOOKS_ALLOW_PRIVATE=1` lifts the rules (development, tests).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import httpx

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(ValueError):
    """A URL or address webhooks may not be sent to; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where one delivery goes: the URL to request, and the Host and TLS name it stands for."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


def check_url(url: str, *, allow_private: bool) -> httpx.URL:
    """Refuse a URL webhooks may not go to, before anything is stored."""
    if len(url) > MAX_URL_LENGTH:
        raise AddressRefused(f"url must be at most {MAX_URL_LENGTH} characters.")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise AddressRefused(f"url is not a URL ({error}).") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in schemes or "://" not in url:
        raise AddressRefused("url must start with https://.")
    if not parsed.host:
        raise AddressRefused("url has no host.")
    if parsed.userinfo:
        raise AddressRefused("url must not carry a user name or password.")
    if parsed.fragment:
        raise AddressRefused("url must not have a #fragment.")
    if not allow_private:
        literal = _literal(parsed.host)
        if literal is not None:
            _refuse_if_private(literal, parsed.host)
        elif parsed.host.rstrip(".").lower() in ("localhost", "localhost.localdomain"):
            raise AddressRefused(f"{parsed.host} is this machine: webhooks go to public hosts.")
        else:
            # A name that does not resolve today may tomorrow: only what resolves is judged.
            for address in _resolve(parsed.host, parsed.port or 443, strict=False):
                _refuse_if_private(address, parsed.host)
    return parsed


def target_of(url: str, *, allow_private: bool) -> Target:
    """Resolve and check the host now, and pin the request to an address that passed."""
    parsed = check_url(url, allow_private=allow_private)
    if allow_private or _literal(parsed.host) is not None:
        return Target(url=str(parsed))
    addresses = _resolve(parsed.host, parsed.port or 443, strict=True)
    for address in addresses:
        _refuse_if_private(address, parsed.host)
    pinned = f"[{addresses[0]}]" if addresses[0].version == 6 else str(addresses[0])
    host_header = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
    return Target(
        url=str(parsed.copy_with(host=pinned.strip("[]"))),
        host_header=host_header,
        sni_hostname=parsed.host,
    )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _resolve(host: str, port: int, *, strict: bool) -> list[IPAddress]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        if strict:
            raise AddressRefused(f"{host} does not resolve ({error}).") from None
        return []
    addresses: list[IPAddress] = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if strict and not addresses:
        raise AddressRefused(f"{host} resolves to no address.")
    return addresses


def _refuse_if_private(address: IPAddress, host: str) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast:
        where = host if host.strip("[]") == str(address) else f"{host} ({address})"
        raise AddressRefused(
            f"{where} is a private, loopback, link-local or reserved address: webhooks go to "
            "public hosts (CREDITFLOW_WEBHOOKS_ALLOW_PRIVATE=1 lifts this for development)."
        )
