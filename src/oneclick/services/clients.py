"""Who is asking: one small function that names the client of a request, so that per-client
limits (the cap on live, unfunded quotes here; rate limits at the edge) count the same thing.

- a partner (a valid JWT): ``partner:<partner id>``, wherever it calls from;
- anyone else: ``ip:<address>``, the peer address the API sees (behind a reverse proxy, that
  proxy must pass the caller's address through, e.g. uvicorn's ``--proxy-headers``).
"""

from __future__ import annotations

from oneclick.domain.records import Partner

UNKNOWN_IP = "unknown"


def client_identity(partner: Partner | None, ip: str | None) -> str:
    """The key per-client limits count by (at most 80 characters: ``swaps.client``)."""
    if partner is not None:
        return f"partner:{partner.id}"
    return f"ip:{(ip or UNKNOWN_IP)[:64]}"
