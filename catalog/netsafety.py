"""Which addresses the scraper may talk to (the SSRF rule).

A URL a seller gives is fetched only when every address its host resolves to is public. The rule
is applied twice: when the URL is checked (`check_url`, before anything is sent, and before
handing the URL to a proxy or a browser) and when a socket is opened (`resolve_for_connect` and
`check_peer`, used by the fetcher's network backend), so DNS rebinding and redirects to internal
addresses fail. Hosts an operator lists in `SCRAPER_ALLOWED_HOSTS` (by exact name or IP literal,
e.g. "127.0.0.1" for tests and the benchmark) skip the address checks.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = ("http", "https")

NOT_A_WEB_URL = "Only http and https addresses can be fetched"
NO_HOST = "The address has no host name"
CREDENTIALS_IN_URL = "Addresses with a user name or password in them are not fetched"
NON_PUBLIC_ADDRESS = "{host} resolves to a non-public address ({address}: {why}); it is not fetched"
NON_PUBLIC_PEER = "The connection to {host} reached a non-public address ({address}: {why}); it was closed"
UNRESOLVABLE = "{host} could not be resolved"

# Ranges refused even where the `ipaddress` flags would let them through (or to say why).
_BLOCKED_NETWORKS = [
    (ipaddress.ip_network(net), why)
    for net, why in [
        ("0.0.0.0/8", "this network"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local / cloud metadata"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignments"),
        ("2001:db8::/32", "documentation"),
        ("fc00::/7", "unique local (ULA)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    ]
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(ValueError):
    """The URL must not be fetched: wrong scheme, or its host is (or turned out to be) non-public."""


def address_problem(address) -> str | None:
    """Why an IP address is not a public internet address, or None when it is."""
    ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    if ip.version == 6:
        # Addresses that carry an IPv4 address inside are judged by the IPv4 address.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = address_problem(embedded)
            return f"embeds {embedded}, {inner}" if inner else None
    for network, why in _BLOCKED_NETWORKS:
        if ip.version == network.version and ip in network:
            return why
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "reserved"
    if not ip.is_global:
        return "not globally routable"
    return None


def is_public_address(address) -> bool:
    """True when the IP address is a public internet address."""
    return address_problem(address) is None


def normalize_host(host: str) -> str:
    return (host or "").strip().strip("[]").rstrip(".").lower()


def is_allowed_host(host: str, port: int | None = None) -> bool:
    """True when an operator allowed this host by name (settings.SCRAPER_ALLOWED_HOSTS), or when it
    is the demo shop's host and port while the demo shop is on (development only)."""
    allowed = {normalize_host(h) for h in getattr(settings, "SCRAPER_ALLOWED_HOSTS", [])}
    return normalize_host(host) in allowed or is_demo_shop(host, port)


def is_demo_shop(host: str, port: int | None) -> bool:
    """The address is the demo shop's (same host and port) and the demo shop is on."""
    from catalog import demo_shop

    origin = demo_shop.origin()
    return origin is not None and port is not None and (normalize_host(host), int(port)) == origin


def resolve_host(host: str, port: int | None = None) -> list[str]:
    """Every address the host resolves to (IP literals resolve to themselves). Raises socket.gaierror."""
    host = normalize_host(host)
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass  # a name (or an odd spelling of an address, which the resolver reads)
    infos = socket.getaddrinfo(host, port or 0, type=socket.SOCK_STREAM)
    addresses = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


def resolve_for_connect(host: str, port: int | None = None) -> list[str]:
    """The addresses a socket may connect to for this host: all of them must be public (or the host allowed).

    Raises UnsafeURL when any address is not public, socket.gaierror when the host does not resolve.
    """
    addresses = resolve_host(host, port)
    if not is_allowed_host(host, port):
        for address in addresses:
            why = address_problem(address)
            if why:
                raise UnsafeURL(NON_PUBLIC_ADDRESS.format(host=normalize_host(host), address=address, why=why))
    return addresses


def check_peer(host: str, peer_address: str, port: int | None = None) -> None:
    """Raise UnsafeURL unless the address a socket actually connected to is public (or the host allowed)."""
    if is_allowed_host(host, port):
        return
    why = address_problem(peer_address)
    if why:
        raise UnsafeURL(NON_PUBLIC_PEER.format(host=normalize_host(host), address=peer_address, why=why))


def check_url(url: str, *, resolve: bool = True) -> str:
    """Raise UnsafeURL unless the URL may be fetched; returns its host.

    With `resolve`, the host's addresses are looked up and must all be public (socket.gaierror
    is raised when the host does not resolve).
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeURL(NOT_A_WEB_URL)
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL(CREDENTIALS_IN_URL)
    host = normalize_host(parts.hostname or "")
    if not host:
        raise UnsafeURL(NO_HOST)
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise UnsafeURL(str(exc)) from None
    if resolve:
        resolve_for_connect(host, port)
    return host
