"""The private-target guard (API.md §6): a webhook may not make this platform call into its own
network. A URL is checked when an endpoint is created or changed, and its host is resolved again at
every connection (sender.py), so a name that later resolves to a private address (DNS rebinding)
is refused at delivery time too.

    check_url("https://hooks.example.com/in", allow_private=False)   # -> None, or raises BadRequest
    blocked_address("10.0.0.7")                                       # -> "private"
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from libs.common.errors import BadRequest

MAX_URL = 2000


class TargetRefused(Exception):
    """The target resolves to an address webhooks may not call."""


def blocked_address(address: str) -> str | None:
    """Why an IP address is not a public target ("loopback", "private", ...), or None if it is."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for attr, label in (("is_loopback", "loopback"), ("is_link_local", "link-local"),
                        ("is_private", "private"), ("is_multicast", "multicast"), ("is_reserved", "reserved"),
                        ("is_unspecified", "unspecified")):
        if getattr(ip, attr):
            return label
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return "private"   # carrier-grade NAT
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = info[4][0]
        if address not in seen:
            seen.append(address)
    return seen


def public_addresses(host: str, port: int, *, allow_private: bool, resolver=resolve) -> list[str]:
    """The addresses to connect to; raises TargetRefused when any of them is not public (a name
    that resolves to one private address among public ones is refused as a whole)."""
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"host {host} does not resolve") from exc
    if not addresses:
        raise TargetRefused(f"host {host} does not resolve")
    if not allow_private:
        for address in addresses:
            why = blocked_address(address)
            if why:
                raise TargetRefused(f"host {host} resolves to a {why} address ({address})")
    return addresses


def split_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; ValueError otherwise."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise ValueError("must be an http or https URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    return scheme, parts.hostname, port


def check_url(url: str, *, allow_private: bool, resolver=resolve) -> None:
    """400 unless `url` is an http(s) URL whose host resolves only to public addresses (any
    address when `allow_private`; then the host is not even looked up)."""
    try:
        _, host, port = split_url(url)
    except ValueError as exc:
        raise BadRequest(f"url: {exc}", details={"url": [str(exc).capitalize() + "."]}) from None
    if allow_private:
        return
    try:
        public_addresses(host, port, allow_private=False, resolver=resolver)
    except TargetRefused as exc:
        raise BadRequest(f"url: {exc}: webhooks only call public addresses",
                         details={"url": ["Must resolve to a public address."]}) from None
