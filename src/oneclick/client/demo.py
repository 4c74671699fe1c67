"""The demo swap, through the public API only: quote (signature verified), pay the deposit
address from a devnet user wallet, ``/v0/deposit/submit``, follow ``/v0/status`` to a terminal
status, and measure what the recipient received. Rendering is the caller's (an observer)."""

# A per-call ``timeout`` (seconds) is handed to httpx, which enforces it on the socket; an
# ``asyncio.timeout`` around the call would add nothing.
# ruff: noqa: ASYNC109

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from oneclick.client import core
from oneclick.client.client import OneClickClient
from oneclick.client.errors import OneClickClientError
from oneclick.client.models import (
    ExecutionStatus,
    QuoteRequest,
    QuoteResponse,
    SwapStatus,
    deadline_in,
)
from oneclick.client.sandbox import ControlClient, ControlError, DevnetAsset, DevnetInfo

ORIGIN = ("eth:1", "USDC")
DESTINATION = ("eth:42161", "USDC")
SENDER, RECIPIENT = "alice", "bob"
DEFAULT_WHOLE_UNITS = 10
WAITING = frozenset(
    {SwapStatus.PENDING_DEPOSIT, SwapStatus.KNOWN_DEPOSIT_TX, SwapStatus.INCOMPLETE_DEPOSIT}
)


class DemoError(OneClickClientError):
    """The demo cannot run on this stack (what is missing is in the message)."""


class DemoObserver(Protocol):
    def step(self, text: str) -> None: ...
    def quoted(self, quote: QuoteResponse, verified: bool) -> None: ...
    def status(self, status: ExecutionStatus) -> None: ...


@dataclass(frozen=True)
class DemoPlan:
    origin: DevnetAsset
    destination: DevnetAsset
    sender: str  # the user wallet's name on the origin chain
    refund_to: str
    recipient: str
    amount: int
    confirmations: int


@dataclass(frozen=True)
class DemoResult:
    plan: DemoPlan
    quote: QuoteResponse
    deposit_tx: str
    final: ExecutionStatus
    balance_before: int
    balance_after: int

    @property
    def received(self) -> int:
        return self.balance_after - self.balance_before

    @property
    def succeeded(self) -> bool:
        return self.final.status == SwapStatus.SUCCESS


async def _address(devnet: DevnetInfo, control: ControlClient, chain: str, name: str) -> str:
    wallet = devnet.wallet(chain, name)
    return wallet.address if wallet else await control.wallet_address(chain, name)


async def plan_demo(
    api: OneClickClient,
    control: ControlClient,
    devnet: DevnetInfo,
    *,
    origin: tuple[str, str] = ORIGIN,
    destination: tuple[str, str] = DESTINATION,
    sender: str = SENDER,
    recipient: str = RECIPIENT,
    amount: int | None = None,
) -> DemoPlan:
    """Pick the assets (listed by both the devnet and ``/v0/tokens``) and the wallets; top the
    sender up from the faucet when it holds less than ``amount``."""
    source, target = devnet.asset(*origin), devnet.asset(*destination)
    listed = {token.asset_id for token in await api.tokens()}
    for asset in (source, target):
        if asset.asset_id not in listed:
            raise DemoError(f"the API at {api.base_url} does not list {asset.asset_id}")
    refund_to = await _address(devnet, control, source.chain, sender)
    to = await _address(devnet, control, target.chain, recipient)
    wanted = amount if amount is not None else DEFAULT_WHOLE_UNITS * 10**source.decimals
    held = await control.balance(source.chain, refund_to, source.symbol)
    if held < wanted:
        await control.faucet(source.chain, refund_to, source.symbol, wanted - held)
    chain = devnet.chain_info(source.chain)
    return DemoPlan(source, target, sender, refund_to, to, wanted,
                    chain.confirmations if chain else 0)  # fmt: skip


async def run_demo(
    api: OneClickClient,
    control: ControlClient,
    plan: DemoPlan,
    observer: DemoObserver,
    *,
    verify: bool = True,
    timeout: float = 300.0,
    poll_interval: float = 1.0,
) -> DemoResult:
    """One swap of ``plan``; returns when the swap reaches SUCCESS, REFUNDED or FAILED (raises
    :class:`~oneclick.client.errors.WaitTimeout` when it does not within ``timeout``)."""
    request = QuoteRequest(
        origin_asset=plan.origin.asset_id,
        destination_asset=plan.destination.asset_id,
        amount=str(plan.amount),
        recipient=plan.recipient,
        refund_to=plan.refund_to,
        deadline=deadline_in(timedelta(minutes=30)),
    )
    observer.step(
        f"quote {plan.amount} {plan.origin.symbol}@{plan.origin.chain} -> "
        f"{plan.destination.symbol}@{plan.destination.chain}"
    )
    quote = await api.quote(request, verify=verify)
    observer.quoted(quote, verify)
    deposit = quote.quote.deposit_address
    if deposit is None:
        raise DemoError("the non-dry quote has no deposit address")
    memo = quote.quote.deposit_memo
    observer.step(f"track it live: {core.track_url(api.base_url, deposit, memo)}")
    before = await control.balance(plan.destination.chain, plan.recipient, plan.destination.symbol)
    amount_in = int(quote.quote.amount_in)
    tx_hash = await control.send(
        plan.origin.chain, plan.sender, deposit, plan.origin.symbol, amount_in, memo
    )
    observer.step(f"{plan.sender} sent {amount_in} to {deposit}: tx {tx_hash}")
    await _mine(control, plan.origin.chain, plan.confirmations, observer)
    observer.status(await api.submit_deposit(tx_hash, deposit, memo=memo))

    async def nudge(status: ExecutionStatus) -> None:
        # The deposit needs confirmations: a devnet chain without a block time only mines
        # when asked to.
        if status.status in WAITING:
            await _mine(control, plan.origin.chain, 1, observer)

    final = await api.wait_for_status(
        deposit, memo, timeout=timeout, poll_interval=poll_interval,
        on_change=observer.status, on_poll=nudge,
    )  # fmt: skip
    after = await control.balance(plan.destination.chain, plan.recipient, plan.destination.symbol)
    return DemoResult(plan, quote, tx_hash, final, before, after)


async def _mine(control: ControlClient, chain: str, blocks: int, observer: DemoObserver) -> None:
    if blocks <= 0:
        return
    try:
        await control.mine(chain, blocks)
    except ControlError as exc:  # a chain that mines by itself may refuse: say so, go on
        observer.step(f"could not mine {chain}: {exc.message}")
