"""The devnet's ERC-20 (``contracts/DevToken.sol``, compiled artifact ``contracts/DevToken.json``):
loading the artifact and encoding the few calls and the ``Transfer`` event the chain needs.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

REPO_ROOT = Path(__file__).resolve().parents[4]
CONTRACTS_ENV = "ONECLICK_CONTRACTS"
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


@cache
def artifact() -> dict[str, Any]:
    """``DevToken.json`` from ``$ONECLICK_CONTRACTS`` or ``<repo>/contracts``."""
    directory = Path(os.environ.get(CONTRACTS_ENV) or REPO_ROOT / "contracts")
    data: dict[str, Any] = json.loads((directory / "DevToken.json").read_text())
    return data


def runtime_code() -> str:
    code: str = artifact()["deployedBytecode"]
    return code


def _call(signature: str, types: list[str], args: list[Any]) -> str:
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, args)).hex()


def initialize_data(name: str, symbol: str, decimals: int, minter: str) -> str:
    types = ["string", "string", "uint8", "address"]
    return _call("initialize(string,string,uint8,address)", types, [name, symbol, decimals, minter])


def mint_data(to: str, amount: int) -> str:
    return _call("mint(address,uint256)", ["address", "uint256"], [to, amount])


def transfer_data(to: str, amount: int) -> str:
    return _call("transfer(address,uint256)", ["address", "uint256"], [to, amount])


def balance_of_data(owner: str) -> str:
    return _call("balanceOf(address)", ["address"], [owner])


def minter_data() -> str:
    return _call("minter()", [], [])


def decode_uint(data: str) -> int:
    value: int = decode(["uint256"], bytes.fromhex(data.removeprefix("0x")))[0]
    return value


def decode_address(data: str) -> str:
    value: str = decode(["address"], bytes.fromhex(data.removeprefix("0x")))[0]
    return to_checksum_address(value)


def topic_address(address: str) -> str:
    """An address as an indexed event topic (left-padded to 32 bytes)."""
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")


def address_from_topic(topic: str) -> str:
    return to_checksum_address("0x" + topic.removeprefix("0x")[-40:])
