"""An EVM chain served by anvil, behind the :class:`~devnet.chains.base.Chain` port: the native coin
and ERC-20 tokens (``DevToken`` placed at the tokens' mainnet addresses), transfers found by
``Transfer`` logs and by scanning block transactions for native value, signed legacy (EIP-155)
transactions whose nonce makes a re-broadcast harmless, and anvil's mining, reorg and snapshot
methods for tests and the control API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address
from pydantic import TypeAdapter

from devnet.chains.base import (
    NATIVE,
    Asset,
    ChainError,
    InsufficientFunds,
    InvalidAddress,
    PreparedTx,
    Transfer,
    TxExpired,
    TxState,
    TxStatus,
    Unsupported,
    Wallet,
)
from devnet.chains.evm import erc20
from devnet.chains.keys import COIN_EVM, secp256k1_secret
from nearintents.rpc.errors import RpcServerError
from nearintents.rpc.jsonrpc import JsonRpcTransport

# anvil's first dev account (mnemonic "test test ... junk"): the faucet and the tokens' minter.
FAUCET_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
NATIVE_GAS = 21_000
TOKEN_GAS = 100_000
TIP_WEI = 10**9  # 1 gwei priority fee on every devnet transaction
INCLUSION_TIMEOUT_S = 15.0
BLOCK_FETCH_BATCH = 16
_ANY: TypeAdapter[Any] = TypeAdapter(Any)


@dataclass(frozen=True, slots=True)
class EvmToken:
    address: str
    symbol: str
    decimals: int
    name: str


@dataclass(frozen=True, slots=True)
class EvmChainSpec:
    """``chain_id`` is the bridge's (``eth:42161``); ``evm_chain_id`` anvil's (``42161``)."""

    chain_id: str
    evm_chain_id: int
    native_symbol: str = "ETH"
    tokens: tuple[EvmToken, ...] = ()


def validate_evm_address(address: str) -> str:
    """The EIP-55 checksummed form; a mixed-case address must carry a valid checksum."""
    if not isinstance(address, str) or not address.startswith("0x") or not is_hex_address(address):
        raise InvalidAddress(f"{address!r} is not a 0x-prefixed 20-byte hex address")
    body = address[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(address):
        raise InvalidAddress(f"{address!r} has a wrong EIP-55 checksum")
    return to_checksum_address(address)


def evm_wallet(secret: bytes) -> Wallet:
    return Wallet(str(Account.from_key(secret).address), secret)


def _int(value: Any) -> int:
    return int(str(value), 16)


class EvmChain:
    """Talks JSON-RPC to one anvil node at ``url`` (every call with a timeout). ``send`` and
    ``fund`` wait until the transaction is in a block when ``wait_for_inclusion``."""

    def __init__(
        self,
        spec: EvmChainSpec,
        url: str,
        *,
        timeout: float = 10.0,
        wait_for_inclusion: bool = True,
    ) -> None:
        self.spec = spec
        self.url = url
        self.wait_for_inclusion = wait_for_inclusion
        self._rpc = JsonRpcTransport(url, timeout=timeout)
        self._assets = (
            Asset(NATIVE, spec.native_symbol, 18),
            *(Asset(to_checksum_address(t.address), t.symbol, t.decimals) for t in spec.tokens),
        )
        self._send_locks: dict[str, asyncio.Lock] = {}
        self.faucet = evm_wallet(FAUCET_KEY)

    # --- identity and addresses -------------------------------------------------------------------

    @property
    def chain_id(self) -> str:
        return self.spec.chain_id

    @property
    def assets(self) -> tuple[Asset, ...]:
        return self._assets

    @property
    def has_memo(self) -> bool:
        return False

    def validate_address(self, address: str) -> str:
        return validate_evm_address(address)

    def validate_memo(self, memo: str) -> str:
        raise InvalidAddress(f"{self.chain_id} has no memos")

    def wallet(self, seed: bytes, label: str) -> Wallet:
        return evm_wallet(secp256k1_secret(seed, COIN_EVM, label))

    def _token(self, asset: str) -> str | None:
        if asset == NATIVE:
            return None
        for known in self._assets[1:]:
            if known.key.lower() == asset.lower():
                return known.key
        raise ChainError(f"{self.chain_id} has no asset {asset!r}")

    # --- raw RPC ----------------------------------------------------------------------------------

    async def call(self, method: str, *params: Any) -> Any:
        return await self._rpc.call(method, list(params), _ANY)

    async def setup(self) -> None:
        """Place the tokens (idempotent): the runtime code at each token's address, then
        ``initialize`` with the faucet as minter."""
        for token in self.spec.tokens:
            address = to_checksum_address(token.address)
            if await self.call("eth_getCode", address, "latest") in ("0x", "0x0", None):
                await self.call("anvil_setCode", address, erc20.runtime_code())
            minter = await self.call("eth_call", {"to": address, "data": erc20.minter_data()})
            if erc20.decode_address(minter) == to_checksum_address("0x" + "0" * 40):
                data = erc20.initialize_data(
                    token.name, token.symbol, token.decimals, self.faucet.address
                )
                await self._send_call(self.faucet, address, data)

    # --- blocks and transfers ---------------------------------------------------------------------

    async def head(self) -> int:
        return _int(await self.call("eth_blockNumber"))

    async def block_hash(self, height: int) -> str | None:
        block = await self.call("eth_getBlockByNumber", hex(height), False)
        return None if block is None else str(block["hash"])

    async def transfers(self, receivers: Collection[str], first: int, last: int) -> list[Transfer]:
        wanted = {r.lower() for r in receivers}
        if not wanted or last < first:
            return []
        found = await self._token_transfers(wanted, first, last)
        for start in range(first, last + 1, BLOCK_FETCH_BATCH):
            heights = range(start, min(last, start + BLOCK_FETCH_BATCH - 1) + 1)
            blocks = await asyncio.gather(
                *(self.call("eth_getBlockByNumber", hex(h), True) for h in heights)
            )
            for block in blocks:
                if block is not None:
                    found.extend(await self._native_transfers(block, wanted))
        return sorted(found, key=lambda t: (t.block_height, t.index))

    async def _token_transfers(self, wanted: set[str], first: int, last: int) -> list[Transfer]:
        if len(self._assets) == 1:
            return []
        logs = await self.call(
            "eth_getLogs",
            {
                "fromBlock": hex(first),
                "toBlock": hex(last),
                "address": [a.key for a in self._assets[1:]],
                "topics": [erc20.TRANSFER_TOPIC, None, [erc20.topic_address(r) for r in wanted]],
            },
        )
        return [
            Transfer(
                tx_hash=log["transactionHash"],
                index=_int(log["logIndex"]),
                block_height=_int(log["blockNumber"]),
                block_hash=log["blockHash"],
                asset=to_checksum_address(log["address"]),
                sender=erc20.address_from_topic(log["topics"][1]),
                receiver=erc20.address_from_topic(log["topics"][2]),
                amount=erc20.decode_uint(log["data"]),
            )
            for log in logs
            if not log.get("removed")
        ]

    async def _native_transfers(self, block: dict[str, Any], wanted: set[str]) -> list[Transfer]:
        found = []
        for tx in block["transactions"]:
            to = tx.get("to")
            if not to or to.lower() not in wanted or _int(tx["value"]) == 0:
                continue
            receipt = await self.call("eth_getTransactionReceipt", tx["hash"])
            if receipt is None or _int(receipt["status"]) != 1:
                continue  # a reverted transaction moved no value
            found.append(
                Transfer(
                    tx_hash=tx["hash"],
                    index=-1,
                    block_height=_int(block["number"]),
                    block_hash=block["hash"],
                    asset=NATIVE,
                    sender=to_checksum_address(tx["from"]),
                    receiver=to_checksum_address(to),
                    amount=_int(tx["value"]),
                )
            )
        return found

    # --- sending ----------------------------------------------------------------------------------

    def _lock(self, address: str) -> asyncio.Lock:
        return self._send_locks.setdefault(address.lower(), asyncio.Lock())

    async def _gas_price(self) -> int:
        """Twice the latest base fee plus a fixed tip: included for several blocks of base-fee
        rise. (A multiple of ``eth_gasPrice`` compounds: anvil derives it from the prices the
        last block paid, so back-to-back sends doubled it each time until wallets ran dry.)"""
        block = await self.call("eth_getBlockByNumber", "latest", False)
        base_fee = _int(block.get("baseFeePerGas") or "0x0") if isinstance(block, dict) else 0
        return 2 * base_fee + TIP_WEI

    async def _sign(
        self, sender: Wallet, to: str, value: int, data: str, gas: int, nonce: int | None = None
    ) -> PreparedTx:
        if nonce is None:
            nonce = _int(await self.call("eth_getTransactionCount", sender.address, "pending"))
        gas_price = await self._gas_price()
        balance = _int(await self.call("eth_getBalance", sender.address, "pending"))
        if balance < value + gas * gas_price:
            raise InsufficientFunds(
                f"{sender.address} has {balance} wei, needs {value} + gas on {self.chain_id}"
            )
        tx = {
            "chainId": self.spec.evm_chain_id,
            "nonce": nonce,
            "to": to_checksum_address(to),
            "value": value,
            "gas": gas,
            "gasPrice": gas_price,
            "data": data,
        }
        signed = Account.sign_transaction(tx, sender.secret)
        return PreparedTx("0x" + signed.hash.hex().removeprefix("0x"), signed.raw_transaction.hex())

    async def prepare(
        self, sender: Wallet, receiver: str, asset: str, amount: int, memo: str | None, *, key: str
    ) -> PreparedTx:
        """``memo`` is ignored (no memos on EVM); ``key`` too: the nonce makes it unique."""
        receiver = validate_evm_address(receiver)
        if amount <= 0:
            raise ChainError("amount must be positive")
        token = self._token(asset)
        if token is None:
            return await self._sign(sender, receiver, amount, "0x", NATIVE_GAS)
        held = await self.balance(sender.address, token)
        if held < amount:
            raise InsufficientFunds(f"{sender.address} has {held} of {token}, needs {amount}")
        return await self._sign(sender, token, 0, erc20.transfer_data(receiver, amount), TOKEN_GAS)

    async def broadcast(self, tx: PreparedTx) -> None:
        raw = tx.raw if tx.raw.startswith("0x") else "0x" + tx.raw
        try:
            await self.call("eth_sendRawTransaction", raw)
        except RpcServerError as exc:
            text = str(exc).lower()
            if "already known" in text or "already imported" in text:
                return
            if "nonce too low" in text:
                if (await self.tx_status(tx.tx_hash)).state is TxState.UNKNOWN:
                    raise TxExpired(f"{tx.tx_hash}: its nonce was used by another tx") from exc
                return
            if "insufficient funds" in text:
                raise InsufficientFunds(str(exc)) from exc
            raise ChainError(f"{self.chain_id} refused {tx.tx_hash}: {exc}") from exc

    async def tx_status(self, tx_hash: str) -> TxStatus:
        receipt = await self.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None and receipt.get("blockNumber") is not None:
            state = TxState.INCLUDED if _int(receipt["status"]) == 1 else TxState.FAILED
            return TxStatus(state, _int(receipt["blockNumber"]), receipt["blockHash"])
        if await self.call("eth_getTransactionByHash", tx_hash) is not None:
            return TxStatus(TxState.PENDING)
        return TxStatus(TxState.UNKNOWN)

    async def wait_included(self, tx_hash: str, limit_s: float = INCLUSION_TIMEOUT_S) -> TxStatus:
        deadline = time.monotonic() + limit_s
        while True:
            status = await self.tx_status(tx_hash)
            if status.state in (TxState.INCLUDED, TxState.FAILED):
                return status
            if time.monotonic() > deadline:
                raise ChainError(f"{tx_hash} not in a block within {limit_s:g} s")
            await asyncio.sleep(0.02)

    async def _send_prepared(self, tx: PreparedTx) -> str:
        await self.broadcast(tx)
        if self.wait_for_inclusion:
            status = await self.wait_included(tx.tx_hash)
            if status.state is TxState.FAILED:
                raise ChainError(f"{tx.tx_hash} reverted on {self.chain_id}")
        return tx.tx_hash

    async def _send_call(self, sender: Wallet, to: str, data: str) -> str:
        async with self._lock(sender.address):
            return await self._send_prepared(await self._sign(sender, to, 0, data, TOKEN_GAS * 3))

    async def send(
        self, sender: Wallet, receiver: str, asset: str, amount: int, memo: str | None = None
    ) -> str:
        async with self._lock(sender.address):
            prepared = await self.prepare(sender, receiver, asset, amount, memo, key="")
            return await self._send_prepared(prepared)

    async def balance(self, address: str, asset: str) -> int:
        address = validate_evm_address(address)
        token = self._token(asset)
        if token is None:
            return _int(await self.call("eth_getBalance", address, "latest"))
        data = erc20.balance_of_data(address)
        return erc20.decode_uint(await self.call("eth_call", {"to": token, "data": data}))

    async def fund(self, address: str, asset: str, amount: int) -> str:
        """Native: a transfer from the faucet (topped up with ``anvil_setBalance`` as needed);
        tokens: ``mint`` by the faucet, a ``Transfer`` from the zero address."""
        address = validate_evm_address(address)
        if amount <= 0:
            raise ChainError("amount must be positive")
        token = self._token(asset)
        if token is None:
            reserve = amount + 10**24
            if await self.balance(self.faucet.address, NATIVE) < reserve:
                await self.call("anvil_setBalance", self.faucet.address, hex(2 * reserve))
            return await self.send(self.faucet, address, NATIVE, amount)
        return await self._send_call(self.faucet, token, erc20.mint_data(address, amount))

    # --- anvil controls ---------------------------------------------------------------------------

    async def mine(self, blocks: int = 1) -> int:
        if blocks < 1:
            raise ChainError("mine at least one block")
        await self.call("anvil_mine", hex(blocks))
        return await self.head()

    async def reorg(self, depth: int) -> None:
        """``anvil_reorg``: the last ``depth`` blocks are replaced by as many empty ones."""
        head = await self.head()
        if not 1 <= depth <= head:
            raise Unsupported(f"reorg depth must be 1..={head}")
        await self.call("anvil_reorg", depth, [])

    async def rollback(self, depth: int) -> None:
        """``anvil_rollback``: drop the last ``depth`` blocks (the head goes down)."""
        await self.call("anvil_rollback", depth)

    async def snapshot(self) -> str:
        return str(await self.call("evm_snapshot"))

    async def revert(self, snapshot_id: str) -> bool:
        return bool(await self.call("evm_revert", snapshot_id))

    async def aclose(self) -> None:
        await self._rpc.aclose()
