"""Helpers of the swap and crash end-to-end tests (``test_e2e_swaps*.py``, ``test_e2e_crash*.py``).

* :class:`Devnet`: the running devnet through its public surfaces only: the control API (fresh
  wallets, payments, on-chain balances) and NEAR RPC views of the verifier (``mt_balance_of``).
* :class:`VerifierLog`: the verifier's transaction log (every executed transaction with its
  receipts' ``EVENT_JSON`` logs), read from the devnet's state file; from it
  :func:`custody_ledger` rebuilds where every unit that entered a custody account went.
* :class:`Scenarios`: a private event loop in a background thread, so that a module starts all
  its swaps at once and each test collects its own (parallel swaps, one test per route).
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx

from nearintents.rpc import HttpNearRpc, VerifierViews
from oneclick.client import ExecutionStatus, OneClickClient, QuoteRequest, QuoteResponse
from oneclick.client.sandbox import ControlClient

ETH_USDC = "nep141:eth-0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48.omft.near"
ETH_USDT = "nep141:eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near"
ARB_USDC = "nep141:arb-0xaf88d065e77c8cc2239327c5edb3a432268e5831.omft.near"
ARB_USDT = "nep141:arb-0xfd086bc7cd5c481dcc9c85ebe478a1c0b69fcbb9.omft.near"
BTC = "nep141:btc.omft.near"
XRP = "nep141:xrp.omft.near"
NEAR_USDC = "nep141:usdc.near"
WNEAR = "nep141:wrap.near"
PLATFORM_FEE_ACCOUNT = "fees.oneclick.near"  # the service's default platform fee recipient
PLATFORM_FEE_BPS = 20  # charged on requests without a partner JWT (the default)
BPS = 10_000
NEAR_CHAIN = "near:mainnet"
POLL_S = 0.25  # status and balance poll interval (a poll, never a wait for an outcome)
_IMPLICIT = re.compile(r"^[0-9a-f]{64}$")
_EVENT = "EVENT_JSON:"


def fee_of(gross: int, bps: int) -> int:
    """An input fee as the service charges it: ``ceil(gross * bps / 10_000)``."""
    return -(-gross * bps // BPS)


def is_intents_account(address: str) -> bool:
    return bool(_IMPLICIT.match(address)) or address.endswith(".near")


def fresh_intents_account(tag: str) -> str:
    """A named verifier account nobody has used yet (its balances start at zero)."""
    return f"{tag}-{uuid.uuid4().hex[:12]}.near"


# --- the devnet --------------------------------------------------------------------------------


class Devnet:
    """The devnet of a ``devnet.json`` manifest, through its control API and NEAR RPC."""

    def __init__(self, manifest: dict[str, Any], devnet_dir: Path) -> None:
        self.manifest = manifest
        self.devnet_dir = devnet_dir
        self.control = ControlClient(manifest["control"], timeout=60.0)
        self._http = httpx.AsyncClient(base_url=manifest["control"], timeout=60.0)
        self._rpc = HttpNearRpc(manifest["near_rpc"], timeout=30.0)
        self.views = VerifierViews(self._rpc, manifest["verifier_account"])
        self.solvers = frozenset(s["account"] for s in manifest.get("solvers", []))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.control.__aexit__(None, None, None)
        await self._http.aclose()
        await self._rpc.aclose()

    def asset(self, asset_id: str) -> dict[str, Any]:
        return next(a for a in self.manifest["assets"] if a["assetId"] == asset_id)

    def withdrawal_fee(self, asset_id: str) -> int:
        return int(self.asset(asset_id).get("withdrawalFee") or 0)

    def chain_asset(self, asset_id: str) -> tuple[str, str]:
        asset = self.asset(asset_id)
        return asset["chain"], asset["contractAddress"] or "native"

    async def address(self, asset_id: str, tag: str) -> str:
        """A fresh, empty user wallet on the chain of ``asset_id``."""
        chain, _ = self.chain_asset(asset_id)
        return await self.control.wallet_address(chain, f"{tag}-{uuid.uuid4().hex[:12]}")

    async def balance(self, asset_id: str, holder: str) -> int:
        """On chain, or in the verifier for a NEAR account (64-hex or ``*.near``)."""
        if is_intents_account(holder):
            return await self.views.mt_balance_of(holder, asset_id)
        chain, asset = self.chain_asset(asset_id)
        return await self.control.balance(chain, holder, asset)

    async def native_near(self, account_id: str) -> int:
        """An account's native NEAR (``view_account``); 0 when the account does not exist."""
        params = {"request_type": "view_account", "finality": "final", "account_id": account_id}
        body = {"jsonrpc": "2.0", "id": 1, "method": "query", "params": params}
        async with httpx.AsyncClient(timeout=30.0) as http:
            answer = (await http.post(self.manifest["near_rpc"], json=body)).json()
        if "error" in answer:
            assert answer["error"]["cause"]["name"] == "UNKNOWN_ACCOUNT", answer
            return 0
        return int(answer["result"]["amount"])

    async def final_balance(
        self, asset_id: str, holder: str, expected: int, timeout_s: float = 30.0
    ) -> int:
        """The verifier balance once it reads ``expected``: views read NEAR's ``final``, which
        trails a transaction by a few blocks (the devnet's --finality-lag), as on mainnet."""
        async with asyncio.timeout(timeout_s):
            while (has := await self.balance(asset_id, holder)) != expected:  # noqa: ASYNC110 - polls the node
                await asyncio.sleep(0.2)
        return has

    async def chain_balance(self, asset_id: str, holder: str) -> int:
        """On the asset's own chain: for a NEAR-native token its NEP-141 balance (what an
        ``ft_withdraw`` pays out), not the verifier's; for wNEAR the holder's native NEAR (the
        service pays wNEAR out with ``native_withdraw``, as the SDK does)."""
        if asset_id == WNEAR:
            return await self.native_near(holder)
        asset = self.asset(asset_id)
        if asset["chain"] == NEAR_CHAIN:
            args = {"account_id": holder}
            return int(await self._rpc.view(asset["contractAddress"], "ft_balance_of", args))
        return await self.balance(asset_id, holder)

    async def pay(
        self, asset_id: str, to: str, amount: int, *, memo: str | None = None,
        wallet: str = "alice",
    ) -> tuple[str, str]:  # fmt: skip
        """``wallet`` pays ``to``: a transfer on the asset's chain, or a verifier ``transfer``
        intent from the wallet's verifier account when ``to`` is a NEAR account. The tx hash
        and the paying account (the verifier account, or the wallet's name)."""
        if is_intents_account(to):
            return await self.intents_transfer(asset_id, to, amount, wallet=wallet)
        chain, asset = self.chain_asset(asset_id)
        return await self.control.send(chain, wallet, to, asset, amount, memo), wallet

    async def nep141_balance(self, asset_id: str, holder: str) -> int:
        """A NEAR-native token's balance on its contract (outside intents.near)."""
        args = {"account_id": holder}
        return int(await self._rpc.view(self.asset(asset_id)["contractAddress"], "ft_balance_of",
                                        args))  # fmt: skip

    async def nep145_registered(self, asset_id: str, account_id: str) -> bool:
        """NEP-145 ``storage_balance_of`` on the token's contract is not null."""
        contract = self.asset(asset_id)["contractAddress"]
        args = {"account_id": account_id}
        return await self._rpc.view(contract, "storage_balance_of", args) is not None

    async def deploy_ft_receiver(self, account_id: str, asset_id: str) -> None:
        """A fresh named account running near-sdk-rs' NEP-141 receiver example for the token
        (registered nowhere)."""
        body = {"account_id": account_id, "token": self.asset(asset_id)["contractAddress"]}
        response = await self._http.post("/near/contracts", json=body)
        assert response.status_code == 200, response.text
        # The service checks a named receiver at NEAR's `final`, which trails the head by the
        # devnet's --finality-lag blocks, as on mainnet: wait until it exists there.
        async with asyncio.timeout(30):
            while await self.native_near(account_id) == 0:  # noqa: ASYNC110 - polls the node
                await asyncio.sleep(0.2)

    async def near_ft_transfer(self, wallet: str, token: str, to: str, amount: int) -> str:
        """A plain NEP-141 ``ft_transfer`` on NEAR (outside intents.near), signed by the
        wallet's NEAR account: its transaction hash."""
        asset = self.asset(token)
        call = {"wallet": wallet, "receiver": asset["contractAddress"], "method": "ft_transfer",
                "args": {"receiver_id": to, "amount": str(amount)}, "deposit": "1"}  # fmt: skip
        response = await self._http.post("/near/call", json=call)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert "SuccessValue" in answer["status"], answer
        return str(answer["tx_hash"])

    async def intents_transfer(
        self, token: str, to: str, amount: int, *, wallet: str = "alice"
    ) -> tuple[str, str]:
        """A ``transfer`` intent signed by ``wallet``'s verifier account (which the devnet's
        faucet credits first when short); the tx hash and that account."""
        body = {"wallet": wallet, "to": to, "token": token, "amount": str(amount)}
        response = await self._http.post("/intents/transfer", json=body)
        assert response.status_code == 200, response.text
        answer = response.json()
        return str(answer["tx_hash"]), str(answer["from"])

    async def fee_collector(self) -> str:
        return str(await self._rpc.view(self.manifest["verifier_account"], "fee_collector", {}))

    def log(self) -> VerifierLog:
        return VerifierLog.read(self.devnet_dir / "verifier" / "verifier.sqlite3")


# --- the verifier's transaction log ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Executed:
    """One ``intents_executed`` entry: an intent that ran, with its signer's nonce."""

    intent_hash: str
    account_id: str
    nonce: str
    tx_hash: str


@dataclass(frozen=True, slots=True)
class Movement:
    """One account's side of a NEP-245 event: ``mint`` (a deposit), ``burn`` (a withdrawal) or
    ``transfer`` (``counterparty`` is the other owner); ``delta`` is signed."""

    account: str
    token: str
    delta: int
    kind: str
    counterparty: str | None
    tx_hash: str


@dataclass
class VerifierLog:
    executed: list[Executed] = field(default_factory=list)
    movements: list[Movement] = field(default_factory=list)
    transactions: int = 0

    @classmethod
    def read(cls, path: Path) -> VerifierLog:
        """Every transaction the verifier committed (its ``tx`` table), events in order. The
        devnet writes it in WAL mode, so a read-only connection sees committed transactions."""
        log = cls()
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = connection.execute("SELECT value FROM kv WHERE tbl = 'tx'").fetchall()
        finally:
            connection.close()
        records = [json.loads(value) for (value,) in rows]
        for record in sorted(records, key=lambda r: (r["block_height"], r["timestamp_ns"])):
            log.transactions += 1
            for receipt in record.get("receipts", []):
                if "SuccessValue" not in (receipt.get("status") or {}):
                    continue
                for line in receipt.get("logs", []):
                    if line.startswith(_EVENT):
                        log._add(json.loads(line[len(_EVENT) :]), record["hash"])
        return log

    def _add(self, event: dict[str, Any], tx_hash: str) -> None:
        name, data = event.get("event"), event.get("data", [])
        if event.get("standard") == "dip4" and name == "intents_executed":
            for item in data:
                self.executed.append(
                    Executed(item["intent_hash"], item["account_id"], item["nonce"], tx_hash)
                )
        if event.get("standard") != "nep245":
            return
        for item in data:
            pairs = zip(item["token_ids"], (int(a) for a in item["amounts"]), strict=True)
            for token, amount in pairs:
                if name == "mt_mint":
                    self.movements.append(
                        Movement(item["owner_id"], token, amount, "mint", None, tx_hash)
                    )
                elif name == "mt_burn":
                    self.movements.append(
                        Movement(item["owner_id"], token, -amount, "burn", None, tx_hash)
                    )
                elif name == "mt_transfer":
                    old, new = item["old_owner_id"], item["new_owner_id"]
                    self.movements.append(Movement(old, token, -amount, "transfer", new, tx_hash))
                    self.movements.append(Movement(new, token, amount, "transfer", old, tx_hash))

    def account_of(self, intent_hash: str) -> str | None:
        return next((e.account_id for e in self.executed if e.intent_hash == intent_hash), None)

    def of(self, account: str) -> list[Movement]:
        return [m for m in self.movements if m.account == account]

    def duplicates(self) -> list[str]:
        """Intent hashes, or (signer, nonce) pairs, that executed more than once."""
        hashes = Counter(e.intent_hash for e in self.executed)
        nonces = Counter((e.account_id, e.nonce) for e in self.executed)
        return [h for h, n in hashes.items() if n > 1] + [
            f"{a}/{n}" for (a, n), c in nonces.items() if c > 1
        ]


@dataclass
class Ledger:
    """Where one token went in one custody account, from the verifier's events:
    ``deposited`` (bridge mints and transfers from the user), ``bought`` (from solvers),
    ``sold`` (to solvers), ``protocol_fee`` (the verifier's fee collector), ``fees`` (input
    fees by recipient), ``withdrawn`` (burns: on-chain payouts or refunds, one per withdrawal
    in ``withdrawals``), ``sent`` (transfers to INTENTS recipients or refund accounts) and
    ``held`` (what is left)."""

    token: str
    deposited: int = 0
    bought: int = 0
    sold: int = 0
    protocol_fee: int = 0
    fees: dict[str, int] = field(default_factory=dict)
    withdrawn: int = 0
    withdrawals: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    unexplained: list[Movement] = field(default_factory=list)

    @property
    def held(self) -> int:
        inflow = self.deposited + self.bought
        outflow = self.sold + self.protocol_fee + sum(self.fees.values()) + self.withdrawn
        return inflow - outflow - sum(self.sent.values())


def custody_ledger(
    log: VerifierLog, account: str, token: str, *, solvers: frozenset[str], collector: str,
    fee_accounts: Iterable[str] = (), payees: Iterable[str] = (), payers: Iterable[str] = (),
) -> Ledger:  # fmt: skip
    """``token``'s ledger of the custody ``account``; ``payers`` may pay it (INTENTS deposits),
    ``payees`` may be paid (INTENTS recipients and refunds). Anything else is ``unexplained``."""
    fee_set, payee_set, payer_set = set(fee_accounts), set(payees), set(payers)
    ledger = Ledger(token)
    for m in log.of(account):
        if m.token != token:
            continue
        other = m.counterparty
        if m.kind == "mint" and m.delta > 0:
            ledger.deposited += m.delta
        elif m.kind == "burn" and m.delta < 0:
            ledger.withdrawn -= m.delta
            ledger.withdrawals += 1
        elif other in solvers:
            if m.delta > 0:
                ledger.bought += m.delta
            else:
                ledger.sold -= m.delta
        elif m.delta < 0 and other == collector:
            ledger.protocol_fee -= m.delta
        elif m.delta < 0 and other in fee_set:
            ledger.fees[other] = ledger.fees.get(other, 0) - m.delta
        elif m.delta < 0 and other in payee_set:
            ledger.sent[other] = ledger.sent.get(other, 0) - m.delta
        elif m.delta > 0 and other in payer_set:
            ledger.deposited += m.delta
        else:
            ledger.unexplained.append(m)
    return ledger


# --- concurrent scenarios ----------------------------------------------------------------------


class Scenarios:
    """Coroutines running concurrently on a private event loop (a daemon thread); a test waits
    for its own with :meth:`result`, which re-raises the scenario's assertion error."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="e2e-scenarios",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        self._futures: dict[str, Future[Any]] = {}

    def run(self, coro: Coroutine[Any, Any, Any], timeout_s: float = 120.0) -> Any:
        """Run ``coro`` on the loop now and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def start(self, name: str, coro: Coroutine[Any, Any, Any]) -> None:
        self._futures[name] = asyncio.run_coroutine_threadsafe(coro, self.loop)

    def result(self, name: str, timeout_s: float) -> Any:
        return self._futures[name].result(timeout_s)

    def wait_all(self, timeout_s: float) -> dict[str, BaseException | None]:
        """Every scenario finished (or failed); their exceptions by name."""
        give_up = time.monotonic() + timeout_s
        outcome: dict[str, BaseException | None] = {}
        for name, future in self._futures.items():
            try:
                future.result(max(give_up - time.monotonic(), 0.001))
                outcome[name] = None
            except BaseException as exc:  # reported by the caller, per scenario
                outcome[name] = exc
        return outcome

    def close(self, cleanup: Coroutine[Any, Any, Any] | None = None) -> None:
        for future in self._futures.values():
            future.cancel()
        if cleanup is not None:
            asyncio.run_coroutine_threadsafe(cleanup, self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(60)
        self.loop.close()


@dataclass
class Parties:
    """Who a swap pays: the recipient, the refund address and the input-fee accounts."""

    recipient: str
    refund_to: str
    app_fees: dict[str, int] = field(default_factory=dict)  # recipient -> bps


@dataclass
class Swap:
    """One swap as a user sees it: the quote, what was sent and when, the final status."""

    name: str
    quote: QuoteResponse
    parties: Parties
    sent: list[int] = field(default_factory=list)
    deposit_txs: list[str] = field(default_factory=list)
    payers: set[str] = field(default_factory=set)  # verifier accounts that paid it
    deposited_at: float | None = None
    finished_at: float | None = None
    statuses: list[str] = field(default_factory=list)
    final: ExecutionStatus | None = None

    @property
    def deposit_address(self) -> str:
        address = self.quote.quote.deposit_address
        assert address is not None
        return address

    @property
    def memo(self) -> str | None:
        return self.quote.quote.deposit_memo

    @property
    def origin(self) -> str:
        return self.quote.quote_request.origin_asset

    @property
    def destination(self) -> str:
        return self.quote.quote_request.destination_asset

    @property
    def seconds(self) -> float | None:
        """Deposit to the final status, as the client saw it."""
        if self.deposited_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.deposited_at


async def quote(api: OneClickClient, name: str, parties: Parties, **fields: Any) -> Swap:
    """A non-dry quote whose signature verifies against the manager key."""
    if parties.app_fees:
        fields["app_fees"] = [{"recipient": r, "fee": b} for r, b in parties.app_fees.items()]
    request = QuoteRequest(recipient=parties.recipient, refund_to=parties.refund_to, **fields)
    response = await api.quote(request, verify=True)
    assert response.quote.deposit_address, response
    return Swap(name, response, parties)


async def deposit(devnet: Devnet, swap: Swap, amount: int, **kwargs: Any) -> str:
    if swap.deposited_at is None:
        swap.deposited_at = time.monotonic()
    tx_hash, payer = await devnet.pay(swap.origin, swap.deposit_address, amount,
                                      memo=swap.memo, **kwargs)  # fmt: skip
    swap.sent.append(amount)
    swap.deposit_txs.append(tx_hash)
    if is_intents_account(swap.deposit_address):
        swap.payers.add(payer)
    return tx_hash


async def wait_status(
    api: OneClickClient, swap: Swap, wanted: Iterable[str], timeout_s: float = 120.0,
    done: Callable[[ExecutionStatus], bool] | None = None,
) -> ExecutionStatus:  # fmt: skip
    """Poll ``/v0/status`` until the status is in ``wanted`` (and ``done`` holds)."""
    targets = set(wanted)

    def record(status: ExecutionStatus) -> None:
        if not swap.statuses or swap.statuses[-1] != status.status:
            swap.statuses.append(status.status)
        if status.is_terminal and swap.finished_at is None:
            swap.finished_at = time.monotonic()

    final = await api.wait_for_status(
        swap.deposit_address, swap.memo, timeout=timeout_s, poll_interval=POLL_S,
        predicate=lambda s: s.status in targets and (done is None or done(s)), on_poll=record,
    )  # fmt: skip
    swap.final = final
    return final


# --- the audit of one finished swap ------------------------------------------------------------


@dataclass
class Audit:
    """A finished swap's custody account, its two ledgers and the figures the user sees."""

    swap: Swap
    account: str
    origin: Ledger
    destination: Ledger
    delivered: int
    refunded: int

    @property
    def fees(self) -> int:
        return sum(self.origin.fees.values())

    def line(self) -> str:
        o, d = self.origin, self.destination
        return (
            f"{self.swap.name}: deposited {o.deposited} = swapped {o.sold + o.protocol_fee} "
            f"(solver {o.sold} + protocol {o.protocol_fee}) + fees {self.fees} + refunded "
            f"{o.withdrawn + sum(o.sent.values())} (delivered {self.refunded}) + left {o.held}; "
            f"bought {d.bought} = paid out {d.withdrawn + sum(d.sent.values())} (delivered "
            f"{self.delivered}) + left {d.held}"
        )


def custody_account(log: VerifierLog, swap: Swap) -> str:
    """The custody account behind a deposit address: the address itself for a NEAR account,
    else the signer of the swap's intents as the verifier executed them."""
    if is_intents_account(swap.deposit_address):
        return swap.deposit_address
    assert swap.final is not None
    for intent_hash in swap.final.swap_details.intent_hashes:
        account = log.account_of(intent_hash)
        if account is not None:
            return account
    raise AssertionError(f"{swap.name}: none of the swap's intents executed")


async def audit(
    devnet: Devnet, swap: Swap, log: VerifierLog, *, collector: str, left: int = 0
) -> Audit:
    """Check a finished swap unit by unit against the verifier's log and the balances:

    * every unit the user sent was credited once: ``deposited == sum(sent)``;
    * origin: ``deposited = swapped (solver + protocol fee) + input fees + refunded + left``,
      with ``left`` what the verifier says the account still holds (``left``, 0 by default);
    * ``swapDetails.amountIn`` is what the swap spent (solver + protocol fee + input fees);
    * destination: ``bought = paid out + 0 left``, one payout, and the recipient (a fresh
      account or address) holds exactly ``swapDetails.amountOut``: what was paid out less the
      bridge's withdrawal fee;
    * refunds: the refund address (fresh) holds exactly ``refundedAmount``, which is what left
      the account as refunds less the bridge's fee per withdrawal;
    * input fees: each fee account received exactly ``ceil(gross * bps / 10_000)``;
    * no movement of the account is unexplained.
    """
    final = swap.final
    assert final is not None, f"{swap.name}: not finished"
    details = final.swap_details
    request = swap.quote.quote_request
    parties = swap.parties
    account = custody_account(log, swap)
    fee_accounts = [PLATFORM_FEE_ACCOUNT, *parties.app_fees]
    intents_refund = request.refund_type == "INTENTS"
    intents_recipient = request.recipient_type == "INTENTS"
    common: dict[str, Any] = {"solvers": devnet.solvers, "collector": collector}
    origin = custody_ledger(
        log, account, swap.origin, fee_accounts=fee_accounts, **common,
        payees=[parties.refund_to] if intents_refund else [], payers=swap.payers,
    )  # fmt: skip
    destination = custody_ledger(
        log, account, swap.destination, **common,
        payees=[parties.recipient] if intents_recipient else [],
    )  # fmt: skip
    where = f"{swap.name} ({account})"
    assert not origin.unexplained, f"{where}: unexplained {origin.unexplained}"
    assert not destination.unexplained, f"{where}: unexplained {destination.unexplained}"
    assert origin.deposited == sum(swap.sent), f"{where}: credited {origin.deposited}"
    held = await devnet.views.mt_batch_balance_of(account, [swap.origin, swap.destination])
    assert [origin.held, destination.held] == held, f"{where}: ledger {origin} {destination}"
    assert origin.held == left, f"{where}: {origin.held} of the input left, expected {left}"
    assert destination.held == 0, f"{where}: {destination.held} of the output left"

    recipient_has = await (devnet.balance if intents_recipient else devnet.chain_balance)(
        swap.destination, parties.recipient
    )
    if final.status == "SUCCESS":
        assert details.amount_out is not None, f"{where}: no amountOut"
        delivered = int(details.amount_out)
        spent = origin.sold + origin.protocol_fee + sum(origin.fees.values())
        assert details.amount_in is not None, where
        assert int(details.amount_in) == spent, f"{where}: amountIn {details.amount_in}"
        if intents_recipient:
            assert destination.withdrawals == 0, where
            assert destination.sent == {parties.recipient: delivered}, f"{where}: {destination}"
        else:
            assert destination.withdrawals == 1, f"{where}: {destination.withdrawals} payouts"
            fee = devnet.withdrawal_fee(swap.destination)
            assert destination.withdrawn - fee == delivered, f"{where}: {destination}"
        assert recipient_has == delivered, f"{where}: recipient has {recipient_has}"
    else:
        delivered = 0
        assert destination.bought == 0, f"{where}: {destination}"
        assert recipient_has == 0, f"{where}: the recipient of a refunded swap has {recipient_has}"
        assert origin.sold == 0, f"{where}: a refunded swap sold {origin.sold}"

    refund_has = await (devnet.balance if intents_refund else devnet.chain_balance)(
        swap.origin, parties.refund_to
    )
    refunded = int(details.refunded_amount) if details.refunded_amount else 0
    if intents_refund:
        assert origin.withdrawals == 0, where
        assert origin.sent.get(parties.refund_to, 0) == refunded, f"{where}: {origin}"
    else:
        fee = devnet.withdrawal_fee(swap.origin)
        assert origin.withdrawn - fee * origin.withdrawals == refunded, f"{where}: {origin}"
    assert refund_has == refunded, f"{where}: refundTo has {refund_has}, refunded {refunded}"

    for recipient, bps in {PLATFORM_FEE_ACCOUNT: PLATFORM_FEE_BPS, **parties.app_fees}.items():
        charged = origin.fees.get(recipient, 0)
        if final.status == "SUCCESS" and request.swap_type != "EXACT_OUTPUT":
            gross = request_gross(swap)
            assert charged == fee_of(gross, bps), f"{where}: {recipient} got {charged}"
        elif final.status != "SUCCESS":
            assert charged == 0, f"{where}: a refunded swap paid {charged} to {recipient}"
    for recipient in parties.app_fees:
        has = await devnet.balance(swap.origin, recipient)
        assert has == origin.fees.get(recipient, 0), f"{where}: {recipient} holds {has}"
    return Audit(swap, account, origin, destination, delivered, refunded)


def request_gross(swap: Swap) -> int:
    """The input the fees are a share of: ``amountIn``, or what arrived for FLEX_INPUT."""
    if swap.quote.quote_request.swap_type == "FLEX_INPUT":
        return sum(swap.sent)
    return int(swap.quote.quote.amount_in)
