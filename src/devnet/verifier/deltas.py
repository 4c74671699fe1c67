"""The per-token matcher of a batch's internal deposits and withdrawals (``transfer``,
``token_diff`` and the fee credits), and the invariant check at its end (CONTRACT
``core/src/engine/state/deltas.rs``; PROTOCOL.md §2.12).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devnet.verifier.amounts import I128_MAX, U128_MAX
from devnet.verifier.errors import InvariantViolated
from devnet.verifier.ids import sort_tokens


def _add(amounts: dict[str, int], owner: str, amount: int) -> bool:
    total = amounts.get(owner, 0) + amount
    if total > U128_MAX:
        return False
    if total:
        amounts[owner] = total
    return True


@dataclass
class _TokenMatcher:
    deposits: dict[str, int] = field(default_factory=dict)
    withdrawals: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def _sub_add(sub: dict[str, int], add: dict[str, int], owner: str, amount: int) -> bool:
        # An owner's opposite movements cancel first, so only net amounts are matched.
        pending = sub.get(owner, 0)
        if pending:
            taken = min(pending, amount)
            if pending - taken:
                sub[owner] = pending - taken
            else:
                del sub[owner]
            amount -= taken
            if amount == 0:
                return True
        return _add(add, owner, amount)

    def deposit(self, owner: str, amount: int) -> bool:
        return self._sub_add(self.withdrawals, self.deposits, owner, amount)

    def withdraw(self, owner: str, amount: int) -> bool:
        return self._sub_add(self.deposits, self.withdrawals, owner, amount)

    def finalize_into(self, token: str, transfers: Transfers) -> int | None:
        """Pair senders with receivers, largest first; returns the unmatched delta, 0 if the
        leftover overflows an i128 (the contract's overflow marker), or None when all matched."""
        # The contract sorts by amount only (unstable); ties are broken by account id here so
        # that the `mt_transfer` event is deterministic.
        senders = sorted(self.withdrawals.items(), key=lambda kv: (-kv[1], kv[0]))
        receivers = sorted(self.deposits.items(), key=lambda kv: (-kv[1], kv[0]))
        send_left = [amount for _, amount in senders]
        receive_left = [amount for _, amount in receivers]
        i = j = 0
        while i < len(senders) and j < len(receivers):
            moved = min(send_left[i], receive_left[j])
            transfers.add(senders[i][0], receivers[j][0], token, moved)
            send_left[i] -= moved
            receive_left[j] -= moved
            if send_left[i] == 0:
                i += 1
            if receive_left[j] == 0:
                j += 1
        if i < len(senders):
            total = sum(send_left[i:])
            return -total if total <= I128_MAX else 0
        if j < len(receivers):
            total = sum(receive_left[j:])
            return total if total <= I128_MAX else 0
        return None


@dataclass
class Transfers:
    """``sender -> receiver -> token -> amount``: the net moves the ``mt_transfer`` event shows."""

    moves: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def add(self, sender: str, receiver: str, token: str, amount: int) -> None:
        tokens = self.moves.setdefault((sender, receiver), {})
        tokens[token] = tokens.get(token, 0) + amount

    def ordered(self) -> list[tuple[str, str, dict[str, int]]]:
        return [(s, r, sort_tokens(self.moves[(s, r)])) for s, r in sorted(self.moves)]


@dataclass
class TransferMatcher:
    tokens: dict[str, _TokenMatcher] = field(default_factory=dict)

    def deposit(self, owner: str, token: str, amount: int) -> bool:
        return self.tokens.setdefault(token, _TokenMatcher()).deposit(owner, amount)

    def withdraw(self, owner: str, token: str, amount: int) -> bool:
        return self.tokens.setdefault(token, _TokenMatcher()).withdraw(owner, amount)

    def finalize(self) -> Transfers:
        """The matched transfers; raises InvariantViolated with the contract's JSON otherwise."""
        transfers = Transfers()
        unmatched: dict[str, int] = {}
        for token, matcher in self.tokens.items():
            delta = matcher.finalize_into(token, transfers)
            if delta is None:
                continue
            if delta == 0:
                raise InvariantViolated({"error": "overflow"})
            unmatched[token] = delta
        if unmatched:
            deltas = {token: str(delta) for token, delta in sort_tokens(unmatched).items()}
            raise InvariantViolated({"error": "unmatched_deltas", "unmatched_deltas": deltas})
        return transfers
