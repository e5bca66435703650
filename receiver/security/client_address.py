"""Which client sent a request: the peer, or the right-most untrusted hop a trusted proxy recorded.

The address is used only as an in-memory limit key (never stored, never logged). `X-Forwarded-For` or
`Forwarded` (RECEIVER_PROXY_HEADER: only the one header your proxy writes) is read only when the peer
is one of RECEIVER_TRUSTED_PROXIES; otherwise anyone could choose their own bucket. The hops are
walked from the right, skipping trusted proxies: the first untrusted hop is the client. IPv6 clients
are keyed by their /64 (one subscriber usually gets a whole /64 and could rotate through it).
"""

import ipaddress
from collections.abc import Iterable, Sequence

from receiver.config import Network, ProxyHeader

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
IPV6_PREFIX = 64
MAX_PEERS = 1024


def parse_address(value: str) -> Address | None:
    """An address from a header hop: `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:443`, `"[::1]"`."""
    text = value.strip().strip('"').strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_for_hops(values: Iterable[str]) -> list[str]:
    """The hops of `X-Forwarded-For` headers, left to right (several headers are one list)."""
    return [hop for value in values for hop in value.split(",") if hop.strip()]


def forwarded_hops(values: Iterable[str]) -> list[str]:
    """The `for=` hops of RFC 7239 `Forwarded` headers, left to right (a hop without one: "")."""
    hops: list[str] = []
    for value in values:
        for element in value.split(","):
            found = ""
            for pair in element.split(";"):
                name, _, content = pair.partition("=")
                if name.strip().lower() == "for":
                    found = content.strip()
            hops.append(found)
    return hops


def _is_trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def client_from_hops(peer: Address, hops: Sequence[str], trusted: Sequence[Network]) -> Address:
    """The right-most hop that is not a trusted proxy; an unreadable hop stops the walk (its trusted
    neighbour is then the client as far as we can tell)."""
    client = peer
    for hop in reversed(hops):
        if not _is_trusted(client, trusted):
            return client
        address = parse_address(hop)
        if address is None:
            return client
        client = address
    return client


def limit_key(address: Address) -> str:
    """The limiter key: the IPv4 address, or the IPv6 /64 (`2001:db8:1:2::/64`)."""
    if isinstance(address, ipaddress.IPv6Address):
        prefix = int.from_bytes(address.packed) >> (128 - IPV6_PREFIX) << (128 - IPV6_PREFIX)
        return f"{ipaddress.IPv6Address(prefix)}/{IPV6_PREFIX}"
    return str(address)


class ClientAddresses:
    """Resolves the limit key of a request from its peer address and (trusted) proxy header."""

    def __init__(self, trusted: Sequence[Network], header: ProxyHeader) -> None:
        self.trusted = tuple(trusted)
        self.header = header
        # behind a proxy the peers are few (the proxies): each is parsed and judged once
        self._proxies: dict[str, Address] = {}

    def _proxy(self, peer: str) -> Address | None:
        """The peer's address when it is a trusted proxy."""
        known = self._proxies.get(peer)
        if known is not None:
            return known
        address = parse_address(peer)
        if address is None or not _is_trusted(address, self.trusted):
            return None
        if len(self._proxies) < MAX_PEERS:
            self._proxies[peer] = address
        return address

    def key(self, peer: str | None, header_values: Sequence[str]) -> str | None:
        if peer is None:
            return None
        proxy = self._proxy(peer) if self.trusted and header_values else None
        if proxy is not None:
            hops = (
                forwarded_hops(header_values)
                if self.header == "forwarded"
                else forwarded_for_hops(header_values)
            )
            return limit_key(client_from_hops(proxy, hops, self.trusted))
        address = parse_address(peer)
        return peer if address is None else limit_key(address)  # None: e.g. a unix socket
