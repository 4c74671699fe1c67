"""`oneclick devnet …`: the running devnet of a data directory, through its control API and NEAR
RPC (URLs from `<data-dir>/devnet/devnet.json`; never an import of `devnet`).

Exit status: 0 done; 1 the devnet refused (its message is printed); 2 no devnet running or it
does not answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

from nearintents.rpc import HttpNearRpc, RpcError, VerifierViews
from oneclick.config import DEFAULT_DATA_DIR
from oneclick.devnet_link import STACK_FILE, NoDevnetError, load_manifest

devnet_app = typer.Typer(no_args_is_help=True, help="The local devnet started by `oneclick up`.")
fault_app = typer.Typer(no_args_is_help=True, help="Fault injection: reorgs, delays, payouts.")
devnet_app.add_typer(fault_app, name="fault")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default ./.oneclick).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
NEAR_CHAIN = "near:mainnet"
_IMPLICIT = re.compile(r"^[0-9a-f]{64}$")
TIMEOUT_S = 30.0


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _manifest(data_dir: Path | None) -> dict[str, Any]:
    directory = data_dir or Path(os.environ.get("ONECLICK_DATA_DIR") or DEFAULT_DATA_DIR)
    try:
        return load_manifest(directory)
    except NoDevnetError as exc:
        _fail(str(exc), 2)


def _control(manifest: dict[str, Any], method: str, path: str, **kwargs: Any) -> Any:
    url = manifest["control"] + path
    try:
        response = httpx.request(method, url, timeout=TIMEOUT_S, **kwargs)
    except httpx.HTTPError as exc:
        _fail(f"the devnet control API at {manifest['control']} does not answer: {exc}", 2)
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text}
    if response.status_code != 200:
        _fail(str(body.get("error", body)), 1)
    return body


def _asset(manifest: dict[str, Any], asset_id: str) -> dict[str, Any]:
    for asset in manifest["assets"]:
        if asset["assetId"] == asset_id:
            return dict(asset)
    known = ", ".join(a["assetId"] for a in manifest["assets"])
    _fail(f"the devnet has no asset {asset_id!r} (known: {known})", 1)


def is_near_account(address: str) -> bool:
    """An account inside the verifier: implicit (64 hex) or named (`*.near`)."""
    return bool(_IMPLICIT.match(address)) or address.endswith(".near")


async def _verifier_balances(manifest: dict[str, Any], queries: list[tuple[str, str]]) -> list[int]:
    async with HttpNearRpc(manifest["near_rpc"], timeout=TIMEOUT_S) as rpc:
        views = VerifierViews(rpc, manifest["verifier_account"])
        return [await views.mt_balance_of(account, token) for account, token in queries]


def _verifier_balance(manifest: dict[str, Any], account: str, token: str) -> int:
    try:
        return asyncio.run(_verifier_balances(manifest, [(account, token)]))[0]
    except (RpcError, httpx.HTTPError, OSError) as exc:
        _fail(f"the devnet NEAR RPC at {manifest['near_rpc']} failed: {exc}", 2)


async def _ft_balance(manifest: dict[str, Any], contract: str, account: str) -> int:
    async with HttpNearRpc(manifest["near_rpc"], timeout=TIMEOUT_S) as rpc:
        return int(await rpc.view(contract, "ft_balance_of", {"account_id": account}))


async def _storage(manifest: dict[str, Any], contract: str, account: str) -> tuple[Any, Any]:
    async with HttpNearRpc(manifest["near_rpc"], timeout=TIMEOUT_S) as rpc:
        held = await rpc.view(contract, "storage_balance_of", {"account_id": account})
        return held, await rpc.view(contract, "storage_balance_bounds", {})


def _register_on_near(manifest: dict[str, Any], sender: str, contract: str, to: str) -> None:
    """As NEAR wallets do before an ``ft_transfer``: a receiver not registered on the token
    (NEP-145 ``storage_balance_of`` null) is registered first, the sender paying the minimum."""
    try:
        held, bounds = asyncio.run(_storage(manifest, contract, to))
    except (RpcError, httpx.HTTPError, OSError, ValueError) as exc:
        _fail(f"the devnet NEAR RPC at {manifest['near_rpc']} failed: {exc}", 2)
    if held is not None:
        return
    call = {"wallet": sender, "receiver": contract, "method": "storage_deposit",
            "args": {"account_id": to}, "deposit": str(bounds["min"])}  # fmt: skip
    result = _control(manifest, "POST", "/near/call", json=call)
    if "Failure" in result["status"]:
        _fail(f"storage_deposit {result['tx_hash']} failed: {result['status']['Failure']}", 1)


def _near_balance(manifest: dict[str, Any], asset: dict[str, Any], account: str) -> int:
    """The NEP-141 balance on the token contract itself, outside the verifier."""
    if asset["chain"] != NEAR_CHAIN or not is_near_account(account):
        _fail("--on-near takes a NEAR-native asset and a NEAR account", 1)
    try:
        return asyncio.run(_ft_balance(manifest, asset["contractAddress"], account))
    except (RpcError, httpx.HTTPError, OSError, ValueError, TypeError) as exc:
        _fail(f"the devnet NEAR RPC at {manifest['near_rpc']} failed: {exc}", 2)


def _balance(manifest: dict[str, Any], asset: dict[str, Any], address: str) -> int:
    if is_near_account(address):
        return _verifier_balance(manifest, address, asset["assetId"])
    if asset["chain"] == NEAR_CHAIN:
        _fail(f"{asset['assetId']} lives in the verifier: give a NEAR account", 1)
    query = {"chain": asset["chain"], "address": address,
             "asset": asset["contractAddress"] or "native"}  # fmt: skip
    return int(_control(manifest, "GET", "/balance", params=query)["balance"])


def _symbol_asset(manifest: dict[str, Any], chain: str, symbol: str) -> dict[str, Any] | None:
    return next(
        (a for a in manifest["assets"] if a["chain"] == chain and a["symbol"] == symbol), None
    )


@devnet_app.command("info")
def info(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """URLs, chains, assets and the funded user wallets with their live balances."""
    manifest = _manifest(data_dir)
    directory = data_dir or Path(os.environ.get("ONECLICK_DATA_DIR") or DEFAULT_DATA_DIR)
    wallets = []
    for wallet in manifest["wallets"]:
        balances = {}
        for symbol in wallet["funded"]:
            asset = _symbol_asset(manifest, wallet["chain"], symbol)
            if asset is not None:
                balances[symbol] = str(_balance(manifest, asset, wallet["address"]))
        wallets.append({**wallet, "balances": balances})
    stack = directory / STACK_FILE
    api = None
    if stack.exists():
        try:
            api = json.loads(stack.read_text()).get("api")
        except ValueError:
            api = None
    doc = {**manifest, "api": api, "wallets": wallets}
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
        return
    typer.echo(f"devnet (pid {manifest['pid']}) under {directory}")
    for key in ("api", "near_rpc", "relay", "relay_ws", "bridge", "prices", "control"):
        if doc.get(key):
            typer.echo(f"  {key:<9} {doc[key]}")
    typer.echo("chains:")
    for chain in manifest["chains"]:
        memo = ", memo" if chain["memo"] else ""
        rpc = f"  rpc {chain['rpc']}" if chain["rpc"] else ""
        typer.echo(f"  {chain['chain']:<12} {chain['blockchain']:<5} "
                   f"{chain['confirmations']} conf{memo}{rpc}")  # fmt: skip
    typer.echo("assets:")
    for asset in manifest["assets"]:
        typer.echo(f"  {asset['symbol']:<6} {asset['chain']:<12} {asset['assetId']}  "
                   f"${asset['price']}")  # fmt: skip
    typer.echo("wallets:")
    for wallet in wallets:
        held = ", ".join(f"{s} {b}" for s, b in wallet["balances"].items())
        typer.echo(f"  {wallet['name']:<6} {wallet['chain']:<12} {wallet['address']}  {held}")


@devnet_app.command("deposit")
def deposit(
    asset_id: Annotated[str, typer.Option("--asset", help="Asset id (nep141:…).")],
    to: Annotated[str, typer.Option("--to", help="Deposit address (or NEAR account).")],
    amount: Annotated[str, typer.Option("--amount", help="Amount in base units.")],
    memo: Annotated[str | None, typer.Option("--memo", help="Deposit memo.")] = None,
    sender: Annotated[str, typer.Option("--from", help="Devnet user wallet.")] = "alice",
    on_near: Annotated[
        bool,
        typer.Option("--on-near", help="A plain NEP-141 ft_transfer on NEAR, outside intents."),
    ] = False,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Send from a devnet user wallet: on the asset's chain, or as a verifier `transfer`
    intent when `--to` is a NEAR account (an INTENTS deposit address). With `--on-near`, a
    NEAR-native token leaves the wallet's NEAR account with a signed `ft_transfer`."""
    manifest = _manifest(data_dir)
    asset = _asset(manifest, asset_id)
    if on_near:
        if asset["chain"] != NEAR_CHAIN or not is_near_account(to):
            _fail("--on-near takes a NEAR-native asset and a NEAR account", 1)
        _register_on_near(manifest, sender, asset["contractAddress"], to)
        args: dict[str, Any] = {"receiver_id": to, "amount": amount}
        if memo is not None:
            args["memo"] = memo
        call = {"wallet": sender, "receiver": asset["contractAddress"], "method": "ft_transfer",
                "args": args, "deposit": "1"}  # fmt: skip
        result = _control(manifest, "POST", "/near/call", json=call)
        if "Failure" in result["status"]:
            _fail(f"ft_transfer {result['tx_hash']} failed: {result['status']['Failure']}", 1)
        kind = "ft_transfer on NEAR"
    elif is_near_account(to):
        body: dict[str, Any] = {"wallet": sender, "to": to, "token": asset_id, "amount": amount}
        if memo is not None:
            body["memo"] = memo
        result = _control(manifest, "POST", "/intents/transfer", json=body)
        kind = "intents transfer"
    elif asset["chain"] == NEAR_CHAIN:
        _fail(f"{asset_id} is NEAR-native: deposit it to a NEAR account (64-hex or *.near)", 1)
    else:
        body = {"chain": asset["chain"], "wallet": sender, "to": to, "amount": amount,
                "asset": asset["contractAddress"] or "native"}  # fmt: skip
        if memo is not None:
            body["memo"] = memo
        result = _control(manifest, "POST", "/send", json=body)
        kind = f"transfer on {asset['chain']}"
    if as_json:
        typer.echo(json.dumps({"kind": kind, **result}))
    else:
        typer.echo(f"{kind}: {result['tx_hash']}")


@devnet_app.command("balance")
def balance(
    asset_id: Annotated[str, typer.Option("--asset", help="Asset id (nep141:…).")],
    address: Annotated[str, typer.Option("--address", help="Chain address or NEAR account.")],
    on_near: Annotated[
        bool, typer.Option("--on-near", help="The NEP-141 balance on NEAR, outside intents.")
    ] = False,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """The balance of `--address`: on the asset's chain, or in the verifier for a NEAR
    account (`--on-near`: on the NEAR-native token's contract itself)."""
    manifest = _manifest(data_dir)
    asset = _asset(manifest, asset_id)
    amount = (
        _near_balance(manifest, asset, address) if on_near else _balance(manifest, asset, address)
    )
    if as_json:
        typer.echo(json.dumps({"asset": asset_id, "address": address, "balance": str(amount)}))
    else:
        typer.echo(str(amount))


@devnet_app.command("mine")
def mine(
    chain: Annotated[str | None, typer.Option(help="Chain id (default: every chain).")] = None,
    blocks: Annotated[int, typer.Option(min=1, help="Blocks to mine.")] = 1,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Mine blocks now (the devnet also mines one per chain every second)."""
    manifest = _manifest(data_dir)
    chains = (
        [chain] if chain else [c["chain"] for c in manifest["chains"] if c["chain"] != NEAR_CHAIN]
    )
    heads = {}
    for chain_id in chains:
        heads[chain_id] = _control(manifest, "POST", "/mine",
                                   json={"chain": chain_id, "blocks": blocks})["head"]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(heads))
    else:
        for chain_id, head in heads.items():
            typer.echo(f"{chain_id}\thead {head}")


@fault_app.command("reorg")
def fault_reorg(
    chain: Annotated[str, typer.Option(help="Chain id.")],
    depth: Annotated[int, typer.Option(min=1, help="Blocks to replace.")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Replace the last `--depth` blocks of `--chain` (their transactions vanish)."""
    result = _control(_manifest(data_dir), "POST", "/faults/reorg",
                      json={"chain": chain, "depth": depth})  # fmt: skip
    typer.echo(f"{chain}\thead {result['head']}")


@fault_app.command("confirmations")
def fault_confirmations(
    chain: Annotated[str, typer.Option(help="Chain id.")],
    extra_blocks: Annotated[int, typer.Option(min=0, help="Extra blocks (0: none).")],
    data_dir: DataDir = None,
) -> None:
    """Delay the bridge's crediting of deposits on `--chain` by `--extra-blocks`."""
    _control(_manifest(data_dir), "POST", "/faults/confirmations",
             json={"chain": chain, "extra_blocks": extra_blocks})  # fmt: skip
    typer.echo(f"{chain}: deposits need {extra_blocks} extra block(s)")


@fault_app.command("payouts")
def fault_payouts(
    paused: Annotated[bool, typer.Option("--pause/--resume", help="Pause or resume.")],
    data_dir: DataDir = None,
) -> None:
    """Pause or resume the bridge's withdrawals (payouts on the chains)."""
    _control(_manifest(data_dir), "POST", "/faults/payouts", json={"paused": paused})
    typer.echo("bridge payouts " + ("paused" if paused else "resumed"))
