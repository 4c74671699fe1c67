"""A running local stack as a client sees it: ``<data-dir>/devnet/devnet.json`` (written by the
devnet), ``<data-dir>/stack.json`` (written by ``oneclick up``), and a small HTTP client for the
devnet's control API (user wallets, balances, blocks). Only JSON files and HTTP: nothing here
imports the devnet."""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from oneclick.client.errors import (
    InvalidResponse,
    OneClickClientError,
    RequestTimeout,
    TransportError,
)

DEFAULT_API_URL = "http://127.0.0.1:8080"
STACK_FILE = "stack.json"
DEVNET_FILE = Path("devnet") / "devnet.json"


class StackNotFound(OneClickClientError):  # noqa: N818 - named for what happened
    """No devnet description under the data directory: nothing is running there."""


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


class DevnetChain(_Loose):
    chain: str
    blockchain: str
    rpc: str | None = None
    confirmations: int = 0
    memo: bool = False


class DevnetAsset(_Loose):
    model_config = ConfigDict(
        alias_generator=to_camel, extra="allow", populate_by_name=True, frozen=True
    )
    asset_id: str
    chain: str
    blockchain: str
    symbol: str
    decimals: int
    contract_address: str | None = None
    price_id: str | None = None


class DevnetWallet(_Loose):
    chain: str
    name: str
    address: str
    funded: dict[str, Any] = Field(default_factory=dict)


class DevnetInfo(_Loose):
    """``devnet.json`` (version 1)."""

    version: int = 1
    control: str
    near_rpc: str | None = None
    relay: str | None = None
    bridge: str | None = None
    prices: str | None = None
    verifier_account: str | None = None
    api: str | None = None
    chains: list[DevnetChain] = Field(default_factory=list)
    assets: list[DevnetAsset] = Field(default_factory=list)
    wallets: list[DevnetWallet] = Field(default_factory=list)

    def asset(self, chain: str, symbol: str) -> DevnetAsset:
        for asset in self.assets:
            if asset.chain == chain and asset.symbol.lower() == symbol.lower():
                return asset
        raise StackNotFound(f"the devnet has no {symbol} on {chain}")

    def chain_info(self, chain: str) -> DevnetChain | None:
        return next((c for c in self.chains if c.chain == chain), None)

    def wallet(self, chain: str, name: str) -> DevnetWallet | None:
        return next((w for w in self.wallets if w.chain == chain and w.name == name), None)


class StackInfo(_Loose):
    """What ``oneclick up`` says about itself (``stack.json``); every field optional."""

    api: str | None = None
    manager_public_key: str | None = Field(default=None, alias="managerPublicKey")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StackNotFound(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise StackNotFound(f"{path} is not a JSON object")
    return data


def read_stack(data_dir: Path) -> StackInfo | None:
    data = _read_json(data_dir / STACK_FILE)
    if data is None:
        return None
    if "manager_public_key" in data and "managerPublicKey" not in data:
        data["managerPublicKey"] = data["manager_public_key"]
    if "api" not in data and isinstance(data.get("api_url"), str):
        data["api"] = data["api_url"]
    try:
        return StackInfo.model_validate(data)
    except ValidationError as exc:
        raise StackNotFound(f"{data_dir / STACK_FILE}: {exc.errors()[0]['msg']}") from exc


def read_devnet(data_dir: Path) -> DevnetInfo | None:
    path = data_dir / DEVNET_FILE
    data = _read_json(path)
    if data is None:
        return None
    try:
        return DevnetInfo.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise StackNotFound(f"{path}: {where}: {problem['msg']}") from exc


def api_url(data_dir: Path, explicit: str | None = None) -> str:
    """``explicit``, else ``stack.json``'s ``api``, else ``devnet.json``'s, else the default."""
    if explicit:
        return explicit.rstrip("/")
    for found in (read_stack(data_dir), read_devnet(data_dir)):
        if found is not None and found.api:
            return found.api.rstrip("/")
    return DEFAULT_API_URL


class ControlError(OneClickClientError):
    """The control API refused (HTTP ``status``, its ``{"error"}``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"devnet control API: HTTP {status}: {message}")
        self.status = status


class ControlClient:
    """The devnet control API over HTTP (routes in the devnet's ``control`` module)."""

    def __init__(
        self, base_url: str, *, timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:  # fmt: skip
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise RequestTimeout(f"devnet control API {path}: no answer in time") from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"devnet control API {path}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not response.is_success:
            error = body.get("error") if isinstance(body, dict) else None
            raise ControlError(response.status_code, str(error or response.text[:200]))
        if not isinstance(body, dict):
            raise InvalidResponse(f"devnet control API {path}: the answer is not a JSON object")
        return body

    async def wallet_address(self, chain: str, name: str) -> str:
        body = await self._call("POST", "/wallets", json={"chain": chain, "name": name})
        return str(body["address"])

    async def send(
        self, chain: str, wallet: str, to: str, asset: str, amount: int, memo: str | None = None
    ) -> str:
        """A transfer from the user wallet ``wallet``; the tx hash."""
        body: dict[str, Any] = {"chain": chain, "wallet": wallet, "to": to, "asset": asset,
                                "amount": str(amount)}  # fmt: skip
        if memo:
            body["memo"] = memo
        return str((await self._call("POST", "/send", json=body))["tx_hash"])

    async def balance(self, chain: str, address: str, asset: str) -> int:
        params = {"chain": chain, "address": address, "asset": asset}
        return int((await self._call("GET", "/balance", params=params))["balance"])

    async def faucet(self, chain: str, address: str, asset: str, amount: int) -> str:
        body = {"chain": chain, "address": address, "asset": asset, "amount": str(amount)}
        return str((await self._call("POST", "/faucet", json=body))["tx_hash"])

    async def mine(self, chain: str, blocks: int = 1) -> int:
        body = await self._call("POST", "/mine", json={"chain": chain, "blocks": blocks})
        return int(body["head"])
