"""Solver quotes: checking what a solver signed against what was asked (PROTOCOL.md §3.1, §3.4),
the collection of answers to one ``quote`` call, and the book of valid quotes by ``quote_hash``.

Solvers are asked for, and sign, their raw amounts (:func:`devnet.relay.fees.solver_request`);
the ``quote`` result reports the channel's side of each offer, which a channel signs verbatim
(:func:`devnet.relay.fees.user_amounts`).

Solvers are untrusted: a quote is kept only if its signature verifies, its key is registered for
its signer, its single ``token_diff`` is exactly ``{in: +amount_in, out: -amount_out}`` for the
requested tokens and fixed amount, it lives at least ``min_deadline_ms``, and the verifier's
``simulate_intents`` shows the solver can pay (one-sided, it reports ``unmatched_deltas``: fine).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from devnet.relay.fees import least_gross, user_amounts
from devnet.verifier import Verifier, VerifierError
from devnet.verifier.timestamps import format_rfc3339_ns
from nearintents import signing
from nearintents.nonce import datetime_to_ns
from nearintents.payload import DefusePayload, InvalidPayload, TokenDiff
from nearintents.rpc.jsonrpc import U128
from nearintents.rpc.relay import QuoteRequest

_U128: TypeAdapter[int] = TypeAdapter(U128)
_MS_NS = 1_000_000


class QuoteRejected(Exception):  # noqa: N818 - reads as what happened
    """A solver answer that cannot be offered; ``str()`` says why (logged, and told to it)."""


@dataclass(frozen=True, slots=True)
class SolverQuote:
    """A valid offer. ``quote_hash`` is the base58 intent hash of ``signed_data`` (§3.5);
    ``amount_in``/``amount_out`` are the solver's raw amounts, as it signed them."""

    quote_hash: str
    signed_data: dict[str, Any]
    signer_id: str
    connection_id: str
    token_in: str
    token_out: str
    amount_in: int
    amount_out: int
    expiration_ns: int

    def wire(self, amount_in: int, amount_out: int) -> dict[str, Any]:
        """The ``quote`` result entry, with the channel's amounts (not the solver's)."""
        return {
            "quote_hash": self.quote_hash,
            "defuse_asset_identifier_in": self.token_in,
            "defuse_asset_identifier_out": self.token_out,
            "amount_in": str(amount_in),
            "amount_out": str(amount_out),
            "expiration_time": format_rfc3339_ns(self.expiration_ns),
        }


def _amount(value: Any, what: str) -> int:
    try:
        amount = _U128.validate_python(value)
    except ValidationError as exc:
        raise QuoteRejected(f"quote_output.{what} is not a u128 amount") from exc
    if amount <= 0:
        raise QuoteRejected(f"quote_output.{what} must be positive")
    return amount


def quoted_amount(request: QuoteRequest, quote_output: Any) -> int:
    """The solver's side of the deal: ``amount_out`` for exact-in, ``amount_in`` for exact-out."""
    if not isinstance(quote_output, dict):
        raise QuoteRejected("quote_output must be an object")
    what = "amount_out" if request.exact_amount_in is not None else "amount_in"
    if what not in quote_output:
        raise QuoteRejected(f"quote_output.{what} is missing")
    return _amount(quote_output[what], what)


def min_amount(quote_output: Any) -> int | None:
    """A solver saying "too small" (devnet convention: ``quote_output.min_amount`` and no
    ``signed_data``); becomes an ``INSUFFICIENT_AMOUNT`` entry of the ``quote`` result."""
    if isinstance(quote_output, dict) and "min_amount" in quote_output:
        return _amount(quote_output["min_amount"], "min_amount")
    return None


def check_quote(
    verifier: Verifier,
    request: QuoteRequest,
    quote_output: Any,
    signed_data: Any,
    *,
    connection_id: str,
    now_ns: int,
) -> SolverQuote:
    """Validate one solver answer; raises :class:`QuoteRejected` saying why. Blocking (it runs
    ``simulate_intents``): call it off the event loop."""
    quoted = quoted_amount(request, quote_output)
    if not isinstance(signed_data, dict):
        raise QuoteRejected("signed_data must be an object")
    try:
        public_key = signing.verify(signed_data)
        payload = DefusePayload.from_json_dict(signing.extract_payload(signed_data))
        quote_hash = signing.intent_hash(signed_data)
    except signing.InvalidSignature as exc:
        raise QuoteRejected(f"invalid signature: {exc}") from exc
    except (signing.SignedPayloadError, InvalidPayload) as exc:
        raise QuoteRejected(f"malformed signed_data: {exc}") from exc
    if payload.verifying_contract != verifier.account_id:
        raise QuoteRejected(f"signed for {payload.verifying_contract}, not {verifier.account_id}")
    if not verifier.has_public_key(payload.signer_id, public_key):
        raise QuoteRejected(
            f"public key '{public_key}' doesn't exist for account '{payload.signer_id}'"
        )

    token_in, token_out = request.defuse_asset_identifier_in, request.defuse_asset_identifier_out
    if len(payload.intents) != 1 or not isinstance(payload.intents[0], TokenDiff):
        raise QuoteRejected("a quote must sign exactly one token_diff intent")
    diff = payload.intents[0].diff
    if set(diff) != {token_in, token_out}:
        raise QuoteRejected(f"token_diff is over {sorted(diff)}, not [{token_in}, {token_out}]")
    amount_in, amount_out = diff[token_in], -diff[token_out]
    if amount_in <= 0 or amount_out <= 0:
        raise QuoteRejected("token_diff must receive token_in and pay token_out")
    if request.exact_amount_in is not None:
        expected = (request.exact_amount_in, quoted)
    else:
        assert request.exact_amount_out is not None
        expected = (quoted, request.exact_amount_out)
    if (amount_in, amount_out) != expected:
        raise QuoteRejected(
            f"token_diff moves in={amount_in} out={amount_out}, "
            f"but the request and quote_output say in={expected[0]} out={expected[1]}"
        )

    deadline_ns = datetime_to_ns(payload.deadline)
    if deadline_ns < now_ns + request.min_deadline_ms * _MS_NS:
        raise QuoteRejected(f"deadline is sooner than min_deadline_ms={request.min_deadline_ms}")
    try:
        verifier.simulate_intents([signed_data])
    except VerifierError as exc:
        raise QuoteRejected(f"simulate_intents failed: {exc}") from exc
    return SolverQuote(
        quote_hash=quote_hash,
        signed_data=signed_data,
        signer_id=payload.signer_id,
        connection_id=connection_id,
        token_in=token_in,
        token_out=token_out,
        amount_in=amount_in,
        amount_out=amount_out,
        expiration_ns=deadline_ns,
    )


@dataclass
class QuoteCollection:
    """The answers to one ``quote`` call while its window is open. ``request`` is what the
    solvers were asked; ``channel_request`` what the channel asked (the same when the protocol
    fee ``fee_pips`` is 0 or for tests that leave it out)."""

    quote_id: str
    request: QuoteRequest
    channel_request: QuoteRequest | None = None
    fee_pips: int = 0
    asked: set[str] = field(default_factory=set)
    answered: set[str] = field(default_factory=set)  # answers claimed (one per connection)
    checked: set[str] = field(default_factory=set)  # answers fully checked: the window may close
    quotes: list[SolverQuote] = field(default_factory=list)
    min_amounts: list[int] = field(default_factory=list)
    all_answered: asyncio.Event = field(default_factory=asyncio.Event)

    def begin_answer(self, connection_id: str) -> None:
        """Claim the one answer a solver may give; raises QuoteRejected for a second one."""
        if connection_id in self.answered:
            raise QuoteRejected("this quote request was already answered on this connection")
        self.answered.add(connection_id)

    def finish_answer(self, connection_id: str) -> None:
        self.checked.add(connection_id)
        self.check()

    def forget(self, connection_id: str) -> None:
        """A solver went away: stop waiting for it."""
        self.asked.discard(connection_id)
        self.check()

    def check(self) -> None:
        """Signal ``all_answered`` once every solver asked has an answer checked."""
        if self.asked <= self.checked:
            self.all_answered.set()

    def offer(self, quote: SolverQuote) -> tuple[int, int]:
        """The channel's ``(amount_in, amount_out)`` for a solver's quote."""
        channel = self.channel_request or self.request
        return user_amounts(channel, self.fee_pips, quote.amount_in, quote.amount_out)

    def channel_min_amount(self, solver_min_in: int) -> int:
        """A solver's least ``amount_in`` as the channel's least input (gross of the fee)."""
        channel = self.channel_request or self.request
        if self.fee_pips == 0:
            return solver_min_in
        return least_gross(channel.defuse_asset_identifier_in, solver_min_in, self.fee_pips)

    def result(self) -> list[dict[str, Any]] | None:
        """The ``quote`` result, best first (exact-in: most out; exact-out: least in), then the
        ``INSUFFICIENT_AMOUNT`` entries; ``None`` when there is nothing (§3.1)."""
        offers = [(q, *self.offer(q)) for q in self.quotes]
        if self.request.exact_amount_in is not None:
            offers.sort(key=lambda o: -o[2])
        else:
            offers.sort(key=lambda o: o[1])
        entries = [q.wire(amount_in, amount_out) for q, amount_in, amount_out in offers]
        entries += [
            {"type": "INSUFFICIENT_AMOUNT", "min_amount": str(self.channel_min_amount(m))}
            for m in sorted(self.min_amounts)
        ]
        return entries or None


class QuoteBook:
    """Valid quotes by hash until ``grace_ns`` after they expire (so a late publish can be told
    "expired" rather than "not found")."""

    def __init__(self, grace_ns: int) -> None:
        self._quotes: dict[str, SolverQuote] = {}
        self._grace_ns = grace_ns

    def add(self, quote: SolverQuote, now_ns: int) -> None:
        self.prune(now_ns)
        self._quotes[quote.quote_hash] = quote

    def __contains__(self, quote_hash: str) -> bool:
        return quote_hash in self._quotes

    def get(self, quote_hash: str) -> SolverQuote | None:
        return self._quotes.get(quote_hash)

    def discard(self, quote_hash: str) -> None:
        self._quotes.pop(quote_hash, None)

    def prune(self, now_ns: int) -> None:
        stale = [h for h, q in self._quotes.items() if q.expiration_ns + self._grace_ns < now_ns]
        for quote_hash in stale:
            del self._quotes[quote_hash]
