"""Which addresses the guarded fetcher may reach: what kinds it refuses by default, and the
operator's ``AllowList`` of networks and host names that it may reach whatever their kind."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOST_NAME = re.compile(r"^(\*?\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class AllowList:
    """Networks and host names the operator allows whatever their kind (an intranet, a
    development machine). ``.corp.example`` allows that name and every name under it."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """CIDRs, addresses and host names separated by commas and/or spaces; raises
        ``ValueError`` naming the first entry that is none of these."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in text.replace(",", " ").split():
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = entry.lower().rstrip(".")
            if not _HOST_NAME.match(name):
                raise ValueError(f"{entry!r} is neither a network (CIDR), an address nor a host")
            hosts.add(name.removeprefix("*"))
        return cls(tuple(networks), frozenset(hosts))

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.hosts or any(
            h.startswith(".") and (host.endswith(h) or host == h[1:]) for h in self.hosts
        )

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` is refused by default (its kind), or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address_refusal(address.ipv4_mapped)
        if address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
            return address_refusal(embedded) and "a NAT64 form of a refused address"
        if address.sixtofour is not None and address_refusal(address.sixtofour):
            return "a 6to4 form of a refused address"
        if address.is_site_local:
            return "site-local"
    kinds = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("shared (CGNAT)", address in _SHARED),
        ("private", address.is_private),
        ("not public", not address.is_global),
    )
    return next((kind for kind, refused in kinds if refused), None)
