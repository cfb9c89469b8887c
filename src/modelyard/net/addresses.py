"""Which addresses an outbound request may reach: public ones, and those an allowlist names."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["Allowlist", "IPAddress", "check_address", "check_name"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CATEGORIES = (
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address (where cloud metadata services answer)"),
    ("is_multicast", "a multicast address"),
    ("is_reserved", "a reserved address"),
    ("is_private", "a private address"),
)


def check_address(address: str | IPAddress) -> str | None:
    """Return why a request may not reach ``address``, or ``None`` for a public address.

    Args:
        address: An IP address, IPv4 or IPv6 (a ``%scope`` suffix is ignored).

    Returns:
        A phrase such as ``"a loopback address"``, or ``None``.

    Raises:
        ValueError: ``address`` is not an IP address.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            inner = check_address(ip.ipv4_mapped)
            return None if inner is None else f"the IPv4-mapped form of {ip.ipv4_mapped}, {inner}"
        for form, embedded in _embedded_ipv4(ip):
            inner = check_address(embedded)
            if inner is not None:
                return f"the {form} form of {embedded}, {inner}"
    for flag, phrase in _CATEGORIES:
        if getattr(ip, flag):
            return phrase
    if not ip.is_global:
        return "not a globally routable address (shared, documentation or benchmark range)"
    return None


def check_name(host: str) -> str | None:
    """Return why a host *name* is internal whatever DNS says, or ``None``.

    ``localhost`` and every name under ``.localhost`` are loopback by definition (RFC 6761),
    with or without the trailing dot; resolvers differ on ``localhost.``, so the name decides.
    """
    name = normalise(host)
    if name == "localhost" or name.endswith(".localhost"):
        return "a loopback name (localhost)"
    return None


def normalise(host: str) -> str:
    """Lower-case ``host`` and drop one trailing dot and IPv6 brackets."""
    host = host.strip().strip("[]").lower()
    return host[:-1] if host.endswith(".") else host


class Allowlist:
    """Host names and IP addresses that may be reached although they are not public.

    Names match exactly, ignoring case and a trailing dot (no wildcards); addresses match the
    resolved address.
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self.names: set[str] = set()
        self.addresses: set[IPAddress] = set()
        for entry in entries:
            name = normalise(entry)
            try:
                self.addresses.add(ipaddress.ip_address(name))
            except ValueError:
                self.names.add(name)

    def allows(self, host: str, address: str | None = None) -> bool:
        """Return whether ``host`` (resolved to ``address``, when given) is listed."""
        if normalise(host) in self.names:
            return True
        if address is None:
            return False
        return ipaddress.ip_address(address.split("%", 1)[0]) in self.addresses


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo", server), ("Teredo", client)]
    if ip in _NAT64:
        found.append(("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return found
