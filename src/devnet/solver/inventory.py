"""What a solver can still promise: its verifier balances minus what quotes in flight may take.
A reservation lives until its quote settles (released by ``quote_status``) or expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reservation:
    token_id: str
    amount: int
    expires_ns: int


class Inventory:
    def __init__(self) -> None:
        self._balances: dict[str, int] = {}
        self._reserved: dict[str, Reservation] = {}

    def set_balances(self, balances: Mapping[str, int]) -> None:
        self._balances = dict(balances)

    def balance(self, token_id: str) -> int:
        return self._balances.get(token_id, 0)

    def reserved(self, token_id: str, now_ns: int) -> int:
        return sum(
            r.amount
            for r in self._reserved.values()
            if r.token_id == token_id and r.expires_ns >= now_ns
        )

    def available(self, token_id: str, now_ns: int) -> int:
        return max(0, self.balance(token_id) - self.reserved(token_id, now_ns))

    def reserve(self, quote_hash: str, token_id: str, amount: int, expires_ns: int) -> None:
        if amount <= 0:
            raise ValueError("a reservation must be positive")
        self._reserved[quote_hash] = Reservation(token_id, amount, expires_ns)

    def holds(self, quote_hash: str) -> bool:
        return quote_hash in self._reserved

    def release(self, quote_hash: str) -> bool:
        return self._reserved.pop(quote_hash, None) is not None

    def expire(self, now_ns: int) -> int:
        """Drop reservations of expired quotes (they can no longer settle); how many."""
        stale = [h for h, r in self._reserved.items() if r.expires_ns < now_ns]
        for quote_hash in stale:
            del self._reserved[quote_hash]
        return len(stale)
