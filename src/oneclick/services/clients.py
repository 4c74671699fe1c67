"""Who is asking: one small function that names the client of a request, so that per-client
limits (the cap on live, unfunded quotes here; rate limits at the edge) count the same thing.

- a partner (a valid JWT): ``partner:<partner id>``, wherever it calls from;
- anyone else: ``ip:<address>``, the peer address the API sees, an IPv6 client by its /64 (one
  host can roam a whole /64), as the edge's rate limiter counts (``oneclick.api.limits``).
  Behind a reverse proxy, ``api.forwarded_allow_ips`` lets ``X-Forwarded-For`` name the caller.
"""

from __future__ import annotations

import ipaddress

from oneclick.domain.records import Partner

UNKNOWN_IP = "unknown"


def client_address(host: str | None) -> str:
    """The address a client is counted by: IPv4 as is, IPv6 by its /64."""
    if not host:
        return UNKNOWN_IP
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_identity(partner: Partner | None, ip: str | None) -> str:
    """The key per-client limits count by (at most 80 characters: ``swaps.client``)."""
    if partner is not None:
        return f"partner:{partner.id}"
    return f"ip:{client_address(ip)}"
