"""Signed NEAR transactions as ``send_tx`` / ``broadcast_tx_commit`` receive them: borsh-decoded,
checked byte for byte by re-encoding with nearcore's own types (py-near-primitives, bindings of
``near-primitives``), and their ed25519 signature verified over ``sha256(transaction)``, whose
base58 is the transaction hash (nearcore ``core/primitives/src/transaction.rs``).

Only what the devnet models is accepted: ``Transaction::V0`` signed by an ed25519 key, with
``FunctionCall`` and ``Transfer`` actions. Anything else is an :class:`InvalidTransaction`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing
import py_near_primitives as npp  # type: ignore[import-untyped]

from nearintents.encoding import b58encode

ED25519 = 0
FUNCTION_CALL = 2
TRANSFER = 3
_ACTION_NAMES = {
    0: "CreateAccount", 1: "DeployContract", 2: "FunctionCall", 3: "Transfer", 4: "Stake",
    5: "AddKey", 6: "DeleteKey", 7: "DeleteAccount", 8: "Delegate",
}  # fmt: skip


class InvalidTransaction(ValueError):  # noqa: N818 (nearcore's InvalidTxError)
    """Refused before execution; ``kind`` names nearcore's ``InvalidTxError`` variant, or
    ``Malformed`` for bytes that are not a transaction at all (an RPC parse error)."""

    def __init__(self, kind: str, message: str, detail: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.detail = detail  # nearcore's structured fields, e.g. NotEnoughBalance's


@dataclass(frozen=True, slots=True)
class FunctionCall:
    method_name: str
    args: bytes
    gas: int
    deposit: int


@dataclass(frozen=True, slots=True)
class Transfer:
    deposit: int


Action = FunctionCall | Transfer


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    signer_id: str
    public_key: bytes  # ed25519, 32 bytes
    nonce: int
    receiver_id: str
    block_hash: bytes
    actions: tuple[Action, ...]
    hash: str  # base58 of sha256(transaction bytes)

    @property
    def public_key_text(self) -> str:
        return "ed25519:" + b58encode(self.public_key)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise InvalidTransaction("Malformed", "truncated transaction")
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little")

    def blob(self) -> bytes:
        return self.take(self.uint(4))

    def text(self) -> str:
        try:
            return self.blob().decode()
        except UnicodeDecodeError as exc:
            raise InvalidTransaction("Malformed", "a string is not UTF-8") from exc


def _action(reader: _Reader) -> Action:
    tag = reader.uint(1)
    if tag == FUNCTION_CALL:
        method = reader.text()
        args = reader.blob()
        return FunctionCall(method, args, reader.uint(8), reader.uint(16))
    if tag == TRANSFER:
        return Transfer(reader.uint(16))
    name = _ACTION_NAMES.get(tag, f"#{tag}")
    raise InvalidTransaction("ActionsValidation", f"the devnet does not model {name} actions")


def _nearcore_bytes(tx: SignedTransaction) -> bytes:
    actions = [
        npp.FunctionCallAction(a.method_name, a.args, a.gas, a.deposit)
        if isinstance(a, FunctionCall)
        else npp.TransferAction(a.deposit)
        for a in tx.actions
    ]
    built = npp.Transaction(
        tx.signer_id, tx.public_key, tx.nonce, tx.receiver_id, tx.block_hash, actions
    )
    return bytes(built.serialize())


def decode_signed_transaction(data: bytes) -> SignedTransaction:
    """The transaction in ``data`` (borsh ``SignedTransaction``), its signature verified."""
    reader = _Reader(data)
    signer_id = reader.text()
    if reader.uint(1) != ED25519:
        raise InvalidTransaction("InvalidSignature", "the devnet accepts ed25519 keys only")
    public_key = reader.take(32)
    nonce = reader.uint(8)
    receiver_id = reader.text()
    block_hash = reader.take(32)
    actions = tuple(_action(reader) for _ in range(reader.uint(4)))
    tx_end = reader.at
    if reader.uint(1) != ED25519:
        raise InvalidTransaction("InvalidSignature", "the signature is not ed25519")
    signature = reader.take(64)
    if reader.at != len(data):
        raise InvalidTransaction("Malformed", "bytes after the signature")
    tx_bytes = data[:tx_end]
    digest = hashlib.sha256(tx_bytes).digest()
    signed = SignedTransaction(
        signer_id, public_key, nonce, receiver_id, block_hash, actions, b58encode(digest)
    )
    if _nearcore_bytes(signed) != tx_bytes:
        raise InvalidTransaction("InvalidSignature", "not a canonical nearcore encoding")
    try:
        nacl.signing.VerifyKey(public_key).verify(digest, signature)
    except nacl.exceptions.BadSignatureError as exc:
        raise InvalidTransaction("InvalidSignature", "the signature does not verify") from exc
    return signed
