"""Property: no sequence of valid and invalid batches creates or destroys tokens. Per token, the
verifier's balances (fee collector included) always equal what was deposited minus what left,
its recorded supply equals the sum of balances, and NEAR-side tokens stay fully backed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from devnet.verifier import ManualClock, Verifier, VerifierConfig
from devnet.verifier.testing import Signer, ft_withdraw, token_diff, transfer
from nearintents.diff import closure

NEAR_TOKENS = {"nep141:usdc.near": "usdc.near", "nep141:wrap.near": "wrap.near"}
BRIDGED = "nep141:btc.omft.near"  # no sink registered: its withdrawals fail and are refunded
TOKENS = [*NEAR_TOKENS, BRIDGED]
USERS = [Signer.ed25519(name) for name in ("ann", "ben", "cat")]
START = datetime(2030, 1, 1, tzinfo=UTC)
OUTSIDE = "outside.near"  # where withdrawals go on the NEAR side

amounts = st.integers(min_value=0, max_value=700)
users = st.integers(min_value=0, max_value=len(USERS) - 1)
tokens = st.sampled_from(TOKENS)
operations = st.one_of(
    st.tuples(st.just("deposit"), users, tokens, amounts.filter(bool)),
    st.tuples(st.just("transfer"), users, users, tokens, amounts),
    st.tuples(
        st.just("swap"),
        users,
        users,
        tokens,
        tokens,
        amounts,
        amounts,
        st.sampled_from([0, 0, 0, 1, -1]),
    ),
    st.tuples(st.just("withdraw"), users, tokens, amounts),
    st.tuples(st.just("replay")),
    st.tuples(st.just("forged"), users, users, tokens, amounts),
)


class Model:
    def __init__(self, fee: int) -> None:
        self.verifier = Verifier.open(clock=ManualClock(START), config=VerifierConfig(fee=fee))
        self.fee = fee
        self.deposited = dict.fromkeys(TOKENS, 0)
        self.left = dict.fromkeys(TOKENS, 0)  # paid out of the verifier
        self.last: list[dict[str, Any]] = []
        for user in range(len(USERS)):
            for token in TOKENS:
                self.apply(("deposit", user, token, 1_000))

    def execute(self, signed: list[dict[str, Any]]) -> None:
        self.last = signed
        outcome = self.verifier.execute_intents(signed)
        event("batch succeeded" if outcome.succeeded else f"rejected: {outcome.panic}"[:40])

    def apply(self, op: tuple[Any, ...]) -> None:
        v = self.verifier
        kind = op[0]
        if kind == "deposit":
            _, who, token, amount = op
            if v.deposit(USERS[who].account_id, token, amount).succeeded:
                self.deposited[token] += amount
        elif kind == "transfer":
            _, a, b, token, amount = op
            self.execute([USERS[a].sign(v, [transfer(USERS[b].account_id, {token: amount})])])
        elif kind == "swap":
            _, a, b, tx, ty, x, y, nudge = op
            if tx == ty or not x or not y:
                return
            theirs = {tx: -x, ty: y}
            ours = closure(theirs, self.fee)
            if ours:
                first = next(iter(ours))
                ours[first] += nudge
            self.execute(
                [
                    USERS[a].sign(v, [token_diff(theirs)]),
                    USERS[b].sign(v, [token_diff({k: d for k, d in ours.items() if d})]),
                ]
            )
        elif kind == "withdraw":
            _, who, token, amount = op
            before = v.ft_balance_of(NEAR_TOKENS[token], OUTSIDE) if token in NEAR_TOKENS else 0
            contract = token.split(":", 1)[1]
            self.execute([USERS[who].sign(v, [ft_withdraw(contract, OUTSIDE, amount)])])
            if token in NEAR_TOKENS:
                self.left[token] += v.ft_balance_of(NEAR_TOKENS[token], OUTSIDE) - before
        elif kind == "replay":
            if self.last:
                self.execute(self.last)
        else:  # a signature by the wrong key: always rejected
            _, a, b, token, amount = op
            payload = USERS[a].payload(v, [transfer(USERS[b].account_id, {token: amount})])
            forged = USERS[b].sign_payload(payload) if a != b else None
            if forged is not None:
                self.execute([forged])

    def check(self) -> None:
        tables = self.verifier.dump()
        balances = dict.fromkeys(TOKENS, 0)
        for key, value in tables.get("bal", {}).items():
            token = key.split("|", 1)[1]
            balances[token] = balances.get(token, 0) + int(value)
            assert int(value) > 0
        supply = {token: int(value) for token, value in tables.get("supply", {}).items()}
        for token in TOKENS:
            assert balances[token] == self.deposited[token] - self.left[token], token
            assert supply.get(token, 0) == balances[token], token
        for token, contract in NEAR_TOKENS.items():
            backing = self.verifier.ft_balance_of(contract, self.verifier.account_id)
            assert backing == balances[token], token


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(fee=st.sampled_from([0, 1, 100, 10_000]), ops=st.lists(operations, max_size=25))
def test_no_batch_creates_or_destroys_tokens(fee: int, ops: list[tuple[Any, ...]]) -> None:
    model = Model(fee)
    try:
        for op in ops:
            model.apply(op)
            model.check()
    finally:
        model.verifier.close()
