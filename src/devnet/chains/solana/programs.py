"""The few Solana instructions the devnet builds and reads: system transfers, SPL Token
``TransferChecked``/``MintTo`` (and reading ``Transfer``), associated token accounts, memos.
Encoded by hand from the programs' documented layouts (solders has no SPL instruction builders).
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM
from solders.token import ID as TOKEN_PROGRAM

ATA_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
_SYSTEM_TRANSFER = 2
_TOKEN_TRANSFER = 3
_TOKEN_MINT_TO = 7
_TOKEN_TRANSFER_CHECKED = 12
_ATA_CREATE_IDEMPOTENT = 1


def associated_token_address(owner: Pubkey, mint: Pubkey) -> Pubkey:
    address, _ = Pubkey.find_program_address(
        [bytes(owner), bytes(TOKEN_PROGRAM), bytes(mint)], ATA_PROGRAM
    )
    return address


def system_transfer(sender: Pubkey, receiver: Pubkey, lamports: int) -> Instruction:
    data = _SYSTEM_TRANSFER.to_bytes(4, "little") + lamports.to_bytes(8, "little")
    metas = [AccountMeta(sender, True, True), AccountMeta(receiver, False, True)]
    return Instruction(SYSTEM_PROGRAM, data, metas)


def create_ata_idempotent(payer: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction:
    metas = [
        AccountMeta(payer, True, True),
        AccountMeta(associated_token_address(owner, mint), False, True),
        AccountMeta(owner, False, False),
        AccountMeta(mint, False, False),
        AccountMeta(SYSTEM_PROGRAM, False, False),
        AccountMeta(TOKEN_PROGRAM, False, False),
    ]
    return Instruction(ATA_PROGRAM, bytes([_ATA_CREATE_IDEMPOTENT]), metas)


def transfer_checked(
    owner: Pubkey, receiver: Pubkey, mint: Pubkey, amount: int, decimals: int
) -> Instruction:
    data = bytes([_TOKEN_TRANSFER_CHECKED]) + amount.to_bytes(8, "little") + bytes([decimals])
    metas = [
        AccountMeta(associated_token_address(owner, mint), False, True),
        AccountMeta(mint, False, False),
        AccountMeta(associated_token_address(receiver, mint), False, True),
        AccountMeta(owner, True, False),
    ]
    return Instruction(TOKEN_PROGRAM, data, metas)


def mint_to(mint: Pubkey, receiver: Pubkey, authority: Pubkey, amount: int) -> Instruction:
    data = bytes([_TOKEN_MINT_TO]) + amount.to_bytes(8, "little")
    metas = [
        AccountMeta(mint, False, True),
        AccountMeta(associated_token_address(receiver, mint), False, True),
        AccountMeta(authority, True, False),
    ]
    return Instruction(TOKEN_PROGRAM, data, metas)


def memo(text: str, signer: Pubkey) -> Instruction:
    return Instruction(MEMO_PROGRAM, text.encode("utf-8"), [AccountMeta(signer, True, False)])


@dataclass(frozen=True, slots=True)
class Movement:
    """A value movement read from an instruction. For SPL, ``source``/``destination`` are token
    accounts (or, for ``MintTo``, the mint) to be resolved to owners by the caller."""

    program: str  # "system" or "token"
    source: Pubkey
    destination: Pubkey
    amount: int
    mint: Pubkey | None = None


def read_instructions(message: Message) -> tuple[list[Movement], str | None]:
    """The transfers and the memo of a transaction message."""
    keys = message.account_keys
    moves: list[Movement] = []
    memo_text: str | None = None
    for ix in message.instructions:
        program = keys[ix.program_id_index]
        data = bytes(ix.data)
        accounts = [keys[i] for i in bytes(ix.accounts)]
        if program == SYSTEM_PROGRAM and len(data) == 12 and data[:4] == b"\x02\x00\x00\x00":
            moves.append(Movement("system", accounts[0], accounts[1], _u64(data, 4)))
        elif program == TOKEN_PROGRAM and data:
            tag = data[0]
            if tag == _TOKEN_TRANSFER and len(data) >= 9:
                moves.append(Movement("token", accounts[0], accounts[1], _u64(data, 1)))
            elif tag == _TOKEN_TRANSFER_CHECKED and len(data) >= 10:
                moves.append(
                    Movement("token", accounts[0], accounts[2], _u64(data, 1), accounts[1])
                )
            elif tag == _TOKEN_MINT_TO and len(data) >= 9:
                moves.append(
                    Movement("token", accounts[0], accounts[1], _u64(data, 1), accounts[0])
                )
        elif program == MEMO_PROGRAM:
            memo_text = data.decode("utf-8", "replace")
    return moves, memo_text


def _u64(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 8], "little")
