"""``oneclick quote``, ``oneclick status`` and ``oneclick demo``: thin clients of the HTTP API
(any 1Click v0 server; by default the local stack's, found in ``<data-dir>/stack.json`` or
``<data-dir>/devnet/devnet.json``, else http://127.0.0.1:8080).

Exit status: 0 done (``status --watch`` and ``demo``: the swap reached SUCCESS); 1 the API refused
(4xx/5xx) or the swap ended REFUNDED/FAILED; 2 bad usage or no stack to use; 3 the API (or the
devnet control API) could not be reached or did not answer in time; 4 the quote signature does
not verify; 5 the swap did not end within ``--wait``."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from oneclick.bootstrap import load_keys
from oneclick.client import (
    ApiError,
    ExecutionStatus,
    OneClickClient,
    OneClickClientError,
    OneClickSyncClient,
    QuoteRequest,
    QuoteResponse,
    QuoteSignatureMismatch,
    SwapStatus,
    Token,
    TransportError,
    WaitTimeout,
    core,
    deadline_in,
)
from oneclick.client.demo import DemoError, DemoResult, plan_demo, run_demo
from oneclick.client.sandbox import (
    ControlClient,
    ControlError,
    StackNotFound,
    api_url,
    read_devnet,
    read_stack,
)
from oneclick.config import DEFAULT_DATA_DIR, load_settings
from oneclick.domain.errors import ConfigurationError

EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_SIGNATURE, EXIT_WAIT = 1, 2, 3, 4, 5
ASSET_PREFIXES = ("nep141:", "nep245:", "nep171:", "1cs_v1:", "1cs:")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory of the local stack (./.oneclick).")
]
Api = Annotated[
    str | None,
    typer.Option("--api", help="API base URL (default: the local stack's, else :8080).",
                 envvar="ONECLICK_API_URL"),
]  # fmt: skip
Jwt = Annotated[str | None, typer.Option("--jwt", help="Partner JWT.", envvar="ONECLICK_API_JWT")]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds per HTTP call.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
ManagerKey = Annotated[
    str | None,
    typer.Option("--manager-key", help="ed25519:… key that signs quotes (default: the stack's)."),
]


def _data_dir(given: Path | None) -> Path:
    return given or Path(os.environ.get("ONECLICK_DATA_DIR") or DEFAULT_DATA_DIR)


def _fail(message: str, code: int) -> NoReturn:
    line = Text("error: ", style="bold red").append(message)  # Text: no markup in messages
    Console(stderr=True).print(line, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def _client_errors(api: str) -> Iterator[None]:
    """Client exceptions as a message and an exit status."""
    try:
        yield
    except QuoteSignatureMismatch as exc:
        _fail(f"{exc.message}: do not pay this quote", EXIT_SIGNATURE)
    except ApiError as exc:
        _fail(str(exc), EXIT_REFUSED)
    except WaitTimeout as exc:
        _fail(exc.message, EXIT_WAIT)
    except TransportError as exc:
        _fail(f"{exc.message}\n(is the API running at {api}? `oneclick up` starts one)",
              EXIT_UNREACHABLE)  # fmt: skip
    except StackNotFound as exc:
        _fail(exc.message, EXIT_USAGE)
    except OneClickClientError as exc:
        _fail(exc.message, EXIT_REFUSED)


def _manager_key(data_dir: Path, explicit: str | None) -> str | None:
    """``--manager-key``, else ``stack.json``'s, else the key file of ``data_dir`` (what
    ``oneclick keys show`` prints), else None."""
    if explicit:
        return explicit
    stack = read_stack(data_dir)
    if stack is not None and stack.manager_public_key:
        return stack.manager_public_key
    try:
        return load_keys(load_settings(data_dir=data_dir)).manager_public_key
    except ConfigurationError:
        return None


def _resolve_asset(text: str, tokens: Callable[[], list[Token]]) -> str:
    """An asset id as given, or ``SYMBOL`` / ``SYMBOL@blockchain`` looked up in /v0/tokens."""
    if text.startswith(ASSET_PREFIXES):
        return text
    symbol, _, chain = text.partition("@")
    found = [
        t for t in tokens()
        if t.symbol.lower() == symbol.lower() and (not chain or t.blockchain == chain.lower())
    ]  # fmt: skip
    if len(found) == 1:
        return found[0].asset_id
    if not found:
        _fail(f"no token {text!r} in /v0/tokens (give an asset id, SYMBOL or SYMBOL@chain)",
              EXIT_USAGE)  # fmt: skip
    choices = ", ".join(f"{t.symbol}@{t.blockchain}" for t in found)
    _fail(f"{text!r} is ambiguous: {choices}", EXIT_USAGE)


def _quote_table(quote: QuoteResponse, signature: str) -> Table:
    q, r = quote.quote, quote.quote_request
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("swap", f"{r.swap_type}{' (dry)' if r.dry else ''}"),
        ("from", r.origin_asset), ("to", r.destination_asset),
        ("amount in", f"{q.amount_in_formatted} ({q.amount_in}, ≈ ${q.amount_in_usd})"),
        ("amount out", f"{q.amount_out_formatted} ({q.amount_out}, ≈ ${q.amount_out_usd})"),
        ("min amount out", q.min_amount_out),
        ("deposit address", q.deposit_address or "-"),
        ("deposit memo", q.deposit_memo or ""),
        ("deadline", q.deadline or r.deadline or "-"),
        ("time estimate", f"{q.time_estimate} s" if q.time_estimate is not None else "-"),
        ("signature", signature),
    ]  # fmt: skip
    for name, value in rows:
        if value:
            table.add_row(name, Text(str(value)))
    return table


def _tx_lines(status: ExecutionStatus) -> list[str]:
    d = status.swap_details
    lines = [f"origin tx {t.hash}" for t in d.origin_chain_tx_hashes]
    lines += [f"intent {h}" for h in d.intent_hashes]
    lines += [f"near tx {h}" for h in d.near_tx_hashes]
    lines += [f"destination tx {t.hash}" for t in d.destination_chain_tx_hashes]
    return lines


STATUS_STYLE = {"SUCCESS": "bold green", "REFUNDED": "bold yellow", "FAILED": "bold red"}


def _status_text(status: ExecutionStatus) -> Text:
    text = Text(status.status, style=STATUS_STYLE.get(status.status, "bold cyan"))
    d = status.swap_details
    if d.amount_out_formatted:
        text.append(f"  out {d.amount_out_formatted}")
    if d.refunded_amount_formatted:
        text.append(f"  refunded {d.refunded_amount_formatted}")
    if d.refund_reason:
        text.append(f"  ({d.refund_reason})")
    return text


def register(app: typer.Typer) -> None:
    app.command("quote")(quote)
    app.command("status")(status)
    app.command("demo")(demo)


def quote(
    from_asset: Annotated[str, typer.Option("--from", help="Origin asset id, SYMBOL[@chain].")],
    to_asset: Annotated[str, typer.Option("--to", help="Destination asset id, SYMBOL[@chain].")],
    amount: Annotated[str, typer.Option("--amount", help="Amount in base units (integer).")],
    recipient: Annotated[str, typer.Option("--recipient", help="Who receives the output.")],
    refund_to: Annotated[str, typer.Option("--refund-to", help="Where refunds go.")],
    swap_type: Annotated[str, typer.Option("--swap-type")] = "EXACT_INPUT",
    dry: Annotated[bool, typer.Option("--dry", help="Price only: no deposit address.")] = False,
    slippage: Annotated[int, typer.Option("--slippage", help="Basis points.")] = 100,
    deadline_minutes: Annotated[int, typer.Option("--deadline-minutes")] = 30,
    recipient_type: Annotated[str, typer.Option("--recipient-type")] = "DESTINATION_CHAIN",
    refund_type: Annotated[str, typer.Option("--refund-type")] = "ORIGIN_CHAIN",
    deposit_type: Annotated[str, typer.Option("--deposit-type")] = "ORIGIN_CHAIN",
    data_dir: DataDir = None,
    api: Api = None,
    jwt: Jwt = None,
    manager_key: ManagerKey = None,
    timeout: Timeout = 30.0,
    as_json: AsJson = False,
) -> None:
    """Ask for a quote (POST /v0/quote) and verify its signature when the manager key is known."""
    if not amount.isdigit():
        _fail("--amount is an integer in the asset's smallest unit", EXIT_USAGE)
    directory = _data_dir(data_dir)
    with _client_errors(api or "the API"):
        url = api_url(directory, api)
        key = _manager_key(directory, manager_key)
        with OneClickSyncClient(url, jwt=jwt, manager_public_key=key, timeout=timeout) as client:
            cache: list[Token] = []

            def tokens() -> list[Token]:
                if not cache:
                    cache.extend(client.tokens())
                return cache

            request = QuoteRequest(
                origin_asset=_resolve_asset(from_asset, tokens),
                destination_asset=_resolve_asset(to_asset, tokens),
                amount=amount, recipient=recipient, refund_to=refund_to,
                deadline=deadline_in(timedelta(minutes=deadline_minutes)),
                dry=dry, swap_type=swap_type.upper(), slippage_tolerance=slippage,
                recipient_type=recipient_type.upper(), refund_type=refund_type.upper(),
                deposit_type=deposit_type.upper(),
            )  # fmt: skip
            response = client.quote(request, verify=key is not None)
    if as_json:
        typer.echo(json.dumps(response.to_wire()))
        return
    signature = f"verified ({key})" if key else "not checked (no --manager-key)"
    Console().print(_quote_table(response, signature))


def status(
    deposit_address: Annotated[str, typer.Argument(help="The quote's deposit address.")],
    memo: Annotated[str | None, typer.Option("--memo", help="The quote's deposit memo.")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Follow until a terminal status.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="--watch gives up after this.")] = 600.0,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between polls.")] = 1.0,
    data_dir: DataDir = None,
    api: Api = None,
    jwt: Jwt = None,
    timeout: Timeout = 30.0,
    as_json: AsJson = False,
) -> None:
    """Show a swap's status (GET /v0/status); with --watch, every change until it ends."""
    console = Console()

    def show(found: ExecutionStatus) -> None:
        if as_json:
            typer.echo(json.dumps(found.to_wire()))
            return
        console.print(Text(f"{found.updated_at}  ").append_text(_status_text(found)))
        for line in _tx_lines(found):
            console.print(f"    {line}", highlight=False)

    with _client_errors(api or "the API"):
        url = api_url(_data_dir(data_dir), api)
        with OneClickSyncClient(url, jwt=jwt, timeout=timeout) as client:
            tracking = f"track: {core.track_url(url, deposit_address, memo)}"
            if not watch:
                show(client.status(deposit_address, memo))
                if not as_json:
                    console.print(tracking, highlight=False, soft_wrap=True)
                return
            if not as_json:
                console.print(tracking, highlight=False, soft_wrap=True)
            final = client.wait_for_status(
                deposit_address, memo, timeout=wait, poll_interval=interval, on_change=show
            )
    if final.status != SwapStatus.SUCCESS:
        raise typer.Exit(EXIT_REFUSED)


class _LiveObserver:
    """The demo's progress: steps and status changes, live in a terminal, line by line else."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.history = Table("time", "status", "transactions", expand=False)
        self.live: Live | None = None
        self._steps: list[Text] = []

    def _render(self) -> Group:
        return Group(*self._steps, self.history)

    def step(self, text: str) -> None:
        line = Text(f"• {text}")
        if self.live is None:
            self.console.print(line, highlight=False)
        else:
            self._steps.append(line)
            self.live.update(self._render())

    def quoted(self, quote: QuoteResponse, verified: bool) -> None:
        self.console.print(_quote_table(quote, "verified" if verified else "not checked"))

    def status(self, status: ExecutionStatus) -> None:
        self.history.add_row(status.updated_at, _status_text(status), "\n".join(_tx_lines(status)))
        if self.live is not None:
            self.live.update(self._render())
        else:
            self.console.print(Text("  ").append_text(_status_text(status)))
            for line in _tx_lines(status):
                self.console.print(f"      {line}", highlight=False)

    @contextmanager
    def showing(self) -> Iterator[None]:
        if not self.console.is_terminal:
            yield
            return
        with Live(self._render(), console=self.console, refresh_per_second=8) as live:
            self.live = live
            try:
                yield
            finally:
                self.live = None


def _not_running(directory: Path, why: str) -> NoReturn:
    _fail(
        f"no running stack under {directory}: {why}.\n"
        f"Start one with `oneclick up --data-dir {directory}` (or `make run`) in another "
        "terminal, then run `oneclick demo` again.",
        EXIT_UNREACHABLE,
    )


async def _demo(
    directory: Path, url: str, key: str | None, amount: int | None, wait: float,
    interval: float, console: Console,
) -> DemoResult:  # fmt: skip
    devnet = read_devnet(directory)
    if devnet is None:
        _not_running(directory, "there is no devnet/devnet.json")
    observer = _LiveObserver(console)
    async with (
        OneClickClient(url, manager_public_key=key) as api,
        ControlClient(devnet.control) as control,
    ):
        try:
            await api.tokens()
        except TransportError as exc:
            _not_running(directory, f"the API at {url} does not answer ({exc.message})")
        plan = await plan_demo(api, control, devnet, amount=amount)
        console.print(
            f"[bold]demo[/]: {plan.sender} ({plan.refund_to}) swaps "
            f"{plan.origin.symbol} on {plan.origin.chain} for {plan.destination.symbol} on "
            f"{plan.destination.chain}, paid to bob ({plan.recipient})", highlight=False,
        )  # fmt: skip
        with observer.showing():
            return await run_demo(
                api, control, plan, observer, verify=key is not None, timeout=wait,
                poll_interval=interval,
            )  # fmt: skip


def demo(
    data_dir: DataDir = None,
    api: Api = None,
    manager_key: ManagerKey = None,
    amount: Annotated[int | None, typer.Option("--amount", help="Base units of USDC.")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Give up after this many s.")] = 300.0,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between polls.")] = 1.0,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip the signature.")] = False,
) -> None:
    """A real swap through the public API of a running `oneclick up`: USDC on Ethereum to USDC on
    Arbitrum, alice pays, bob receives. Exit 0 only when the swap reaches SUCCESS."""
    directory = _data_dir(data_dir)
    console = Console()
    with _client_errors(api or "the API"):
        url = api_url(directory, api)
        key = None if no_verify else _manager_key(directory, manager_key)
        if key is None and not no_verify:
            _fail("no manager public key to verify quotes with: pass --manager-key (see "
                  "`oneclick keys show`) or --no-verify", EXIT_USAGE)  # fmt: skip
        try:
            result = asyncio.run(_demo(directory, url, key, amount, wait, interval, console))
        except ControlError as exc:
            _fail(exc.message, EXIT_REFUSED)
        except DemoError as exc:
            _fail(exc.message, EXIT_USAGE)
    final = result.final
    console.print(Text("final status: ").append_text(_status_text(final)))
    unit = Decimal(10) ** result.plan.destination.decimals
    console.print(
        f"bob's {result.plan.destination.symbol} on {result.plan.destination.chain}: "
        f"{Decimal(result.balance_before) / unit} -> {Decimal(result.balance_after) / unit} "
        f"(received {result.received} base units; quoted {result.quote.quote.amount_out}, "
        f"min {result.quote.quote.min_amount_out})",
        highlight=False,
    )
    if not result.succeeded:
        raise typer.Exit(EXIT_REFUSED)
