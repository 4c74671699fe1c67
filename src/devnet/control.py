"""The devnet control API (Starlette): faucet, user wallets, balances, blocks and fault injection,
for the CLI, the demo and tests. JSON in and out; amounts are decimal strings in base units;
``asset`` is ``native``, a token symbol (``USDC``) or its address/mint. Errors: HTTP 400/404
with ``{"error": "..."}``.

Routes:
  GET  /chains                      chains: id, head, confirmations, assets, memo support
  POST /faucet                      {chain, address, asset, amount, memo?} -> {tx_hash}
  POST /wallets                     {chain, name} -> {chain, name, address}: a user wallet
  POST /send                        {chain, wallet, to, asset, amount, memo?} -> {tx_hash}
  GET  /balance?chain&address&asset -> {balance}
  POST /mine                        {chain, blocks?=1} -> {head}
  POST /faults/reorg                {chain, depth} -> {head}: replace the last blocks
  POST /faults/confirmations        {chain, extra_blocks} -> {}: delay deposit crediting
  POST /faults/payouts              {paused} -> {}: pause or resume the bridge's payouts
  GET  /bridge/deposits?chain       every deposit the bridge recorded (unrouted ones too)
  POST /bridge/sync                 -> {}: run one bridge pass now
  POST /intents/transfer            {wallet, to, token, amount, memo?} -> {tx_hash, intent_hash,
                                    from}: a signed ``transfer`` intent from the user's verifier
                                    account (credited by the faucet first when short)
  POST /near/contracts              {account_id, token} -> a fresh account running near-sdk-rs'
                                    NEP-141 receiver example (ft_on_transfer) for token
  POST /near/call                   {wallet, receiver, method, args?, deposit?} -> {tx_hash,
                                    from, status}: a FunctionCall transaction signed by the
                                    user's NEAR account (the same implicit account) and sent as
                                    NEAR RPC ``send_tx`` would (e.g. ``ft_transfer``)

User wallets are derived from the control API's own seed by name (the same name gives the same
wallet); they hold nothing until funded through ``/faucet``. A user's verifier account is the
implicit account of :func:`intents_user` (needs a verifier: ``verifier=``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devnet.bridge import PoaBridge
from devnet.chains.base import Chain, ChainError, InvalidAddress, Wallet
from devnet.chains.near.transactions import InvalidTransaction
from devnet.chains.near.wallets import sign_call
from devnet.serving import AppServer
from devnet.verifier import Verifier, VerifierError
from devnet.verifier.testing import Signer, transfer
from nearintents import signing
from nearintents.accounts import InvalidAccountId, validate_account_id
from nearintents.amounts import parse_u128
from nearintents.keys import Ed25519SecretKey, implicit_account_id
from nearintents.rpc.jsonrpc import decode_json

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[JSONResponse]]
NEAR_RECEIVER_BALANCE = 10**24  # 1 NEAR: a deployed receiver account's own balance


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def intents_user(user_seed: bytes, name: str) -> Signer:
    """The user ``name``'s key and implicit account inside the verifier."""
    digest = hashlib.sha256(user_seed + b"|intents:" + name.encode()).digest()
    key = Ed25519SecretKey(digest)
    return Signer(key, implicit_account_id(key.public_key))


class DevnetControl:
    """What the routes act on: the chains, the bridge and the verifier (optional) and the user
    wallets' seed."""

    def __init__(
        self,
        chains: Mapping[str, Chain],
        *,
        bridge: PoaBridge | None,
        user_seed: bytes,
        verifier: Verifier | None = None,
    ) -> None:
        self.chains = dict(chains)
        self.bridge = bridge
        if verifier is None and bridge is not None:
            verifier = bridge.verifier
        self.verifier = verifier
        self._seed = user_seed

    def chain(self, chain_id: Any) -> Chain:
        chain = self.chains.get(chain_id) if isinstance(chain_id, str) else None
        if chain is None:
            raise ControlError(f"unknown chain {chain_id!r}", 404)
        return chain

    def asset(self, chain: Chain, name: Any) -> str:
        for asset in chain.assets:
            if name in (asset.key, asset.symbol) or (
                isinstance(name, str) and asset.key.lower() == name.lower()
            ):
                return asset.key
        raise ControlError(f"{chain.chain_id} has no asset {name!r}")

    def wallet(self, chain: Chain, name: Any) -> Wallet:
        if not isinstance(name, str) or not name:
            raise ControlError("a wallet name is required")
        return chain.wallet(self._seed, f"user:{name}")

    def intents_user(self, name: Any) -> Signer:
        if not isinstance(name, str) or not name:
            raise ControlError("a wallet name is required")
        return intents_user(self._seed, name)

    def needs_verifier(self) -> Verifier:
        if self.verifier is None:
            raise ControlError("no verifier in this devnet", 404)
        return self.verifier

    def needs_bridge(self) -> PoaBridge:
        if self.bridge is None:
            raise ControlError("no bridge in this devnet", 404)
        return self.bridge


def _amount(value: Any) -> int:
    try:
        amount = parse_u128(value)
    except ValueError as exc:
        raise ControlError(f"amount: {exc}") from exc
    if amount == 0:
        raise ControlError("amount must be positive")
    return amount


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ControlError(f"{key} is required (a string)")
    return value


def _memo(chain: Chain, body: Mapping[str, Any]) -> str | None:
    memo = body.get("memo")
    if memo is None:
        return None
    if not chain.has_memo:
        raise ControlError(f"{chain.chain_id} takes no memo")
    if not isinstance(memo, str):
        raise ControlError("memo must be a string")
    return chain.validate_memo(memo)


def _int(value: Any, name: str, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ControlError(f"{name} must be an integer >= {low}")
    return value


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = decode_json(await request.body())
    except ValueError as exc:
        raise ControlError("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def _routes(ctl: DevnetControl) -> list[Route]:
    async def chains(request: Request) -> dict[str, Any]:
        out = []
        for chain_id, chain in ctl.chains.items():
            depth = ctl.bridge.confirmations.get(chain_id) if ctl.bridge else None
            out.append(
                {
                    "chain": chain_id,
                    "head": await chain.head(),
                    "confirmations": depth,
                    "has_memo": chain.has_memo,
                    "assets": [
                        {"asset": a.key, "symbol": a.symbol, "decimals": a.decimals}
                        for a in chain.assets
                    ],
                }
            )
        return {"chains": out}

    async def faucet(request: Request) -> dict[str, Any]:
        body = await _body(request)
        chain = ctl.chain(body.get("chain"))
        asset = ctl.asset(chain, body.get("asset"))
        amount = _amount(body.get("amount"))
        address = _text(body, "address")
        memo = _memo(chain, body)
        if memo is not None:
            # A faucet payment with a memo is a user wallet paying it: fund one, then send.
            sender = ctl.wallet(chain, "faucet")
            await chain.fund(sender.address, asset, amount)
            return {"tx_hash": await chain.send(sender, address, asset, amount, memo)}
        return {"tx_hash": await chain.fund(address, asset, amount)}

    async def wallets(request: Request) -> dict[str, Any]:
        body = await _body(request)
        chain = ctl.chain(body.get("chain"))
        wallet = ctl.wallet(chain, body.get("name"))
        return {"chain": chain.chain_id, "name": body["name"], "address": wallet.address}

    async def send(request: Request) -> dict[str, Any]:
        body = await _body(request)
        chain = ctl.chain(body.get("chain"))
        sender = ctl.wallet(chain, body.get("wallet"))
        asset = ctl.asset(chain, body.get("asset"))
        amount = _amount(body.get("amount"))
        tx_hash = await chain.send(sender, _text(body, "to"), asset, amount, _memo(chain, body))
        return {"tx_hash": tx_hash}

    async def balance(request: Request) -> dict[str, Any]:
        chain = ctl.chain(request.query_params.get("chain"))
        asset = ctl.asset(chain, request.query_params.get("asset", "native"))
        address = request.query_params.get("address")
        if not address:
            raise ControlError("address is required")
        return {"balance": str(await chain.balance(address, asset))}

    async def mine(request: Request) -> dict[str, Any]:
        body = await _body(request)
        chain = ctl.chain(body.get("chain"))
        return {"head": await chain.mine(_int(body.get("blocks", 1), "blocks", 1))}

    async def reorg(request: Request) -> dict[str, Any]:
        body = await _body(request)
        chain = ctl.chain(body.get("chain"))
        await chain.reorg(_int(body.get("depth"), "depth", 1))
        return {"head": await chain.head()}

    async def confirmations(request: Request) -> dict[str, Any]:
        body = await _body(request)
        bridge = ctl.needs_bridge()
        chain = ctl.chain(body.get("chain"))
        extra = _int(body.get("extra_blocks"), "extra_blocks", 0)
        bridge.faults.confirmation_delay[chain.chain_id] = extra
        return {}

    async def payouts(request: Request) -> dict[str, Any]:
        body = await _body(request)
        paused = body.get("paused")
        if not isinstance(paused, bool):
            raise ControlError("paused must be true or false")
        bridge = ctl.needs_bridge()
        bridge.faults.payouts_paused = paused
        if not paused:
            bridge.wake()
        return {}

    async def deposits(request: Request) -> dict[str, Any]:
        chain = request.query_params.get("chain")
        if chain is not None:
            ctl.chain(chain)
        return {"deposits": ctl.needs_bridge().all_deposits(chain)}

    async def sync(request: Request) -> dict[str, Any]:
        await ctl.needs_bridge().sync()
        return {}

    async def intents_transfer(request: Request) -> dict[str, Any]:
        body = await _body(request)
        verifier = ctl.needs_verifier()
        user = ctl.intents_user(body.get("wallet"))
        token = _text(body, "token")
        amount = _amount(body.get("amount"))
        try:
            receiver = validate_account_id(_text(body, "to"))
        except InvalidAccountId as exc:
            raise ControlError(f"to: {exc}") from exc
        memo = body.get("memo")
        if memo is not None and not isinstance(memo, str):
            raise ControlError("memo must be a string")
        view = {"account_id": user.account_id, "token_id": token}
        try:
            held = int(verifier.view("mt_balance_of", view))
            if held < amount:  # the faucet tops the user's verifier account up first
                verifier.deposit(user.account_id, token, amount - held).ensure_success()
            extra = {} if memo is None else {"memo": memo}
            signed = user.sign(verifier, [transfer(receiver, {token: amount}, **extra)])
            tx = verifier.execute_intents([signed]).ensure_success()
        except (VerifierError, ValueError) as exc:
            raise ControlError(f"intents transfer failed: {exc}") from exc
        intent_hash = signing.intent_hash(signed)
        return {"tx_hash": tx.hash, "intent_hash": intent_hash, "from": user.account_id}

    async def near_call(request: Request) -> dict[str, Any]:
        body = await _body(request)
        verifier = ctl.needs_verifier()
        user = ctl.intents_user(body.get("wallet"))
        args = body.get("args", {})
        if not isinstance(args, dict):
            raise ControlError("args must be an object")
        deposit = body.get("deposit", "0")
        if not isinstance(deposit, str) or not deposit.isdigit():
            raise ControlError("deposit must be a decimal string")
        assert isinstance(user.key, Ed25519SecretKey)  # intents_user keys are ed25519
        try:
            record = sign_call(verifier, user.account_id, user.key, _text(body, "receiver"),
                               _text(body, "method"), args, deposit=int(deposit))  # fmt: skip
        except InvalidTransaction as exc:
            raise ControlError(f"NEAR transaction refused: {exc}") from exc
        return {"tx_hash": record.hash, "from": user.account_id, "status": record.status}

    async def near_contract(request: Request) -> dict[str, Any]:
        """A fresh named NEAR account running the NEP-141 receiver of near-sdk-rs' examples."""
        body = await _body(request)
        verifier = ctl.needs_verifier()
        account_id, token = _text(body, "account_id"), _text(body, "token")
        try:
            validate_account_id(account_id)
        except InvalidAccountId as exc:
            raise ControlError(str(exc)) from exc
        try:
            record = verifier.deploy_ft_receiver(account_id, token, NEAR_RECEIVER_BALANCE)
            record.ensure_success()
        except VerifierError as exc:
            raise ControlError(f"deploying the receiver failed: {exc}") from exc
        return {"account_id": account_id, "token": token, "tx_hash": record.hash}

    def route(path: str, fn: Callable[[Request], Awaitable[dict[str, Any]]], method: str) -> Route:
        async def endpoint(request: Request) -> JSONResponse:
            try:
                return JSONResponse(await fn(request))
            except ControlError as exc:
                return JSONResponse({"error": str(exc)}, status_code=exc.status)
            except (ChainError, InvalidAddress, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        return Route(path, endpoint, methods=[method])

    return [
        route("/chains", chains, "GET"),
        route("/faucet", faucet, "POST"),
        route("/wallets", wallets, "POST"),
        route("/send", send, "POST"),
        route("/balance", balance, "GET"),
        route("/mine", mine, "POST"),
        route("/faults/reorg", reorg, "POST"),
        route("/faults/confirmations", confirmations, "POST"),
        route("/faults/payouts", payouts, "POST"),
        route("/bridge/deposits", deposits, "GET"),
        route("/bridge/sync", sync, "POST"),
        route("/intents/transfer", intents_transfer, "POST"),
        route("/near/call", near_call, "POST"),
        route("/near/contracts", near_contract, "POST"),
    ]


def create_control_app(
    chains: Mapping[str, Chain],
    *,
    bridge: PoaBridge | None = None,
    user_seed: bytes,
    verifier: Verifier | None = None,
) -> Starlette:
    ctl = DevnetControl(chains, bridge=bridge, user_seed=user_seed, verifier=verifier)
    return Starlette(routes=_routes(ctl))


class ControlServer(AppServer):
    """``async with ControlServer(chains, bridge=..., user_seed=...) as server:`` on ``.url``."""

    def __init__(
        self,
        chains: Mapping[str, Chain],
        *,
        bridge: PoaBridge | None = None,
        user_seed: bytes,
        verifier: Verifier | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        app = create_control_app(chains, bridge=bridge, user_seed=user_seed, verifier=verifier)
        super().__init__(app, host=host, port=port)
