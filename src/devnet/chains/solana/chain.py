"""Solana (``sol:mainnet``) on solders' in-process LiteSVM: real transactions, signatures, system
and SPL Token programs, with native SOL and one SPL mint (USDC at its mainnet mint address).

LiteSVM has no ledger, so this adapter keeps one: every executed transaction gets its own block
(a slot, with a fresh blockhash), and its transfers, read from its instructions, are recorded in
sqlite with the accounts it touched, which are restored into a new LiteSVM on restart. A
blockhash is valid only until the next block, so a signed but unsent transaction expires as soon
as a block passes (:class:`TxExpired`). Reorgs are not possible (LiteSVM cannot roll back).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Collection
from pathlib import Path

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM
from solders.token import ID as TOKEN_PROGRAM
from solders.token.state import Mint, TokenAccount
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata

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
from devnet.chains.keys import COIN_SOL, ed25519_secret
from devnet.chains.solana import programs

CHAIN_ID = "sol:mainnet"
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
SOL = Asset(NATIVE, "SOL", 9)
USDC = Asset(USDC_MINT, "USDC", 6)
FAUCET_SEED = hashlib.sha256(b"oneclick devnet solana faucet").digest()
_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS txs (signature TEXT PRIMARY KEY, height INTEGER NOT NULL,
    ok INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS transfers (signature TEXT NOT NULL, idx INTEGER NOT NULL,
    asset TEXT NOT NULL, sender TEXT NOT NULL, receiver TEXT NOT NULL, amount TEXT NOT NULL,
    memo TEXT, PRIMARY KEY (signature, idx));
CREATE TABLE IF NOT EXISTS accounts (pubkey TEXT PRIMARY KEY, data BLOB NOT NULL);
"""


def validate_solana_address(address: str) -> str:
    try:
        key = Pubkey.from_string(address)
    except (ValueError, TypeError) as exc:
        raise InvalidAddress(f"{address!r} is not a base58 32-byte Solana address") from exc
    if str(key) != address:
        raise InvalidAddress(f"{address!r} is not in canonical base58")
    return address


def _keypair(wallet: Wallet) -> Keypair:
    return Keypair.from_seed(wallet.secret)


class SolanaChain:
    """``path``: the sqlite file of the ledger (None: memory only)."""

    def __init__(self, *, path: Path | str | None = None) -> None:
        self._lock = threading.RLock()
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            ":memory:" if path is None else str(path), check_same_thread=False
        )
        self._db.executescript(_SCHEMA)
        self._svm = LiteSVM()
        self.faucet = Wallet(str(Keypair.from_seed(FAUCET_SEED).pubkey()), FAUCET_SEED)
        self._mint = Pubkey.from_string(USDC_MINT)
        with self._db:
            self._restore()

    # --- state ------------------------------------------------------------------------------------

    def _restore(self) -> None:
        rows = self._db.execute("SELECT pubkey, data FROM accounts").fetchall()
        for pubkey, data in rows:
            self._svm.set_account(Pubkey.from_string(pubkey), Account.from_bytes(data))
        head = self._db.execute("SELECT MAX(height) FROM blocks").fetchone()[0]
        if head is None:
            mint = Mint(Pubkey.from_string(self.faucet.address), 0, USDC.decimals, True, None)
            data = bytes(mint)
            lamports = self._svm.minimum_balance_for_rent_exemption(len(data))
            self._set(self._mint, Account(lamports, data, TOKEN_PROGRAM))
            self._new_block(0)
        else:
            self._svm.warp_to_slot(self._svm.get_clock().slot + head)
            self._svm.expire_blockhash()

    def _set(self, key: Pubkey, account: Account) -> None:
        self._svm.set_account(key, account)
        self._save(key)

    def _save(self, key: Pubkey) -> None:
        account = self._svm.get_account(key)
        if account is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO accounts VALUES (?, ?)", (str(key), bytes(account))
            )

    def _new_block(self, height: int) -> None:
        self._svm.warp_to_slot(self._svm.get_clock().slot + 1)
        self._svm.expire_blockhash()  # a signed, unsent transaction now expires
        self._db.execute(
            "INSERT INTO blocks VALUES (?, ?)", (height, str(self._svm.latest_blockhash()))
        )

    def _head(self) -> int:
        return int(self._db.execute("SELECT MAX(height) FROM blocks").fetchone()[0])

    # --- identity and addresses -------------------------------------------------------------------

    @property
    def chain_id(self) -> str:
        return CHAIN_ID

    @property
    def assets(self) -> tuple[Asset, ...]:
        return (SOL, USDC)

    @property
    def has_memo(self) -> bool:
        return False

    def validate_address(self, address: str) -> str:
        return validate_solana_address(address)

    def validate_memo(self, memo: str) -> str:
        raise InvalidAddress(f"{CHAIN_ID} deposits are not routed by memo")

    def wallet(self, seed: bytes, label: str) -> Wallet:
        secret = ed25519_secret(seed, COIN_SOL, label)
        return Wallet(str(Keypair.from_seed(secret).pubkey()), secret)

    # --- blocks and transfers ---------------------------------------------------------------------

    async def head(self) -> int:
        with self._lock:
            return self._head()

    async def block_hash(self, height: int) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT hash FROM blocks WHERE height = ?", (height,)).fetchone()
        return None if row is None else str(row[0])

    async def transfers(self, receivers: Collection[str], first: int, last: int) -> list[Transfer]:
        wanted = set(receivers)
        with self._lock:
            rows = self._db.execute(
                "SELECT t.signature, t.idx, x.height, b.hash, t.asset, t.sender, t.receiver, "
                "t.amount, t.memo FROM transfers t JOIN txs x ON x.signature = t.signature "
                "JOIN blocks b ON b.height = x.height WHERE x.ok = 1 AND x.height BETWEEN ? AND ? "
                "ORDER BY x.height, t.idx",
                (first, last),
            ).fetchall()
        return [
            Transfer(sig, idx, height, bh, asset, sender, receiver, int(amount), memo)
            for sig, idx, height, bh, asset, sender, receiver, amount, memo in rows
            if receiver in wanted
        ]

    # --- sending ----------------------------------------------------------------------------------

    def _instructions(
        self, payer: Pubkey, receiver: Pubkey, asset: str, amount: int, memo: str | None
    ) -> list[Instruction]:
        if asset == NATIVE:
            ixs = [programs.system_transfer(payer, receiver, amount)]
        elif asset == USDC_MINT:
            ixs = [
                programs.create_ata_idempotent(payer, receiver, self._mint),
                programs.transfer_checked(payer, receiver, self._mint, amount, USDC.decimals),
            ]
        else:
            raise ChainError(f"{CHAIN_ID} has no asset {asset!r}")
        if memo is not None:
            ixs.append(programs.memo(memo, payer))
        return ixs

    def _sign(self, signer: Wallet, instructions: list[Instruction]) -> PreparedTx:
        keypair = _keypair(signer)
        if str(keypair.pubkey()) != signer.address:
            raise ChainError("the wallet's key does not control its address")
        with self._lock:
            blockhash = self._svm.latest_blockhash()
        message = Message.new_with_blockhash(instructions, keypair.pubkey(), blockhash)
        tx = Transaction([keypair], message, blockhash)
        return PreparedTx(str(tx.signatures[0]), bytes(tx).hex())

    async def prepare(
        self, sender: Wallet, receiver: str, asset: str, amount: int, memo: str | None, *, key: str
    ) -> PreparedTx:
        """``key`` is not needed: the signature is the transaction's id and its blockhash
        bounds its life."""
        receiver = validate_solana_address(receiver)
        if amount <= 0:
            raise ChainError("amount must be positive")
        if await self.balance(sender.address, asset) < amount:
            raise InsufficientFunds(f"{sender.address} has too little {asset} for {amount}")
        payer = Pubkey.from_string(sender.address)
        ixs = self._instructions(payer, Pubkey.from_string(receiver), asset, amount, memo)
        return self._sign(sender, ixs)

    async def broadcast(self, tx: PreparedTx) -> None:
        transaction = Transaction.from_bytes(bytes.fromhex(tx.raw))
        with self._lock:
            if self._db.execute("SELECT 1 FROM txs WHERE signature = ?", (tx.tx_hash,)).fetchone():
                return  # landed already
            if transaction.message.recent_blockhash != self._svm.latest_blockhash():
                raise TxExpired(f"{tx.tx_hash}: its blockhash expired")
            self._execute(transaction)

    def _execute(self, transaction: Transaction) -> None:
        moves, memo = programs.read_instructions(transaction.message)
        result = self._svm.send_transaction(transaction)
        if isinstance(result, FailedTransactionMetadata):
            text = f"{result.err()} {list(result.meta().logs())[-3:]}"
            if "InsufficientFunds" in text or "insufficient" in text.lower():
                raise InsufficientFunds(f"{CHAIN_ID}: {text}")
            raise ChainError(f"{CHAIN_ID} refused the transaction: {text}")
        signature = str(transaction.signatures[0])
        with self._db:
            height = self._head() + 1
            self._db.execute("INSERT INTO txs VALUES (?, ?, 1)", (signature, height))
            for idx, move in enumerate(moves):
                self._record(signature, idx, move, memo)
            for key in transaction.message.account_keys:
                self._save(key)
            self._new_block(height)

    def _record(self, signature: str, idx: int, move: programs.Movement, memo: str | None) -> None:
        if move.program == "system":
            asset, sender, receiver = NATIVE, str(move.source), str(move.destination)
        else:
            destination = self._token_account(move.destination)
            if destination is None:
                return
            asset, receiver = str(destination.mint), str(destination.owner)
            if move.mint is not None and move.source == move.mint:
                sender = ""  # MintTo: new tokens
            else:
                source = self._token_account(move.source)
                sender = "" if source is None else str(source.owner)
        self._db.execute(
            "INSERT INTO transfers VALUES (?, ?, ?, ?, ?, ?, ?)",
            (signature, idx, asset, sender, receiver, str(move.amount), memo),
        )

    def _token_account(self, key: Pubkey) -> TokenAccount | None:
        account = self._svm.get_account(key)
        if account is None or account.owner != TOKEN_PROGRAM:
            return None
        try:
            return TokenAccount.from_bytes(bytes(account.data))
        except ValueError:
            return None

    async def tx_status(self, tx_hash: str) -> TxStatus:
        with self._lock:
            row = self._db.execute(
                "SELECT x.height, b.hash FROM txs x JOIN blocks b ON b.height = x.height "
                "WHERE x.signature = ?",
                (tx_hash,),
            ).fetchone()
        if row is None:
            return TxStatus(TxState.UNKNOWN)
        return TxStatus(TxState.INCLUDED, int(row[0]), str(row[1]))

    async def send(
        self, sender: Wallet, receiver: str, asset: str, amount: int, memo: str | None = None
    ) -> str:
        with self._lock:  # prepare and broadcast in one block: nothing expires in between
            prepared = await self.prepare(sender, receiver, asset, amount, memo, key="")
            await self.broadcast(prepared)
        return prepared.tx_hash

    async def balance(self, address: str, asset: str) -> int:
        owner = Pubkey.from_string(validate_solana_address(address))
        with self._lock:
            if asset == NATIVE:
                return int(self._svm.get_balance(owner) or 0)
            if asset != USDC_MINT:
                raise ChainError(f"{CHAIN_ID} has no asset {asset!r}")
            token = self._token_account(programs.associated_token_address(owner, self._mint))
            return 0 if token is None else int(token.amount)

    async def fund(self, address: str, asset: str, amount: int) -> str:
        """A real transaction from the faucet: a system transfer of airdropped SOL, or an SPL
        ``MintTo`` by the mint authority (creating the receiver's token account)."""
        receiver = Pubkey.from_string(validate_solana_address(address))
        if amount <= 0:
            raise ChainError("amount must be positive")
        faucet = Pubkey.from_string(self.faucet.address)
        with self._lock:
            # New lamports for the faucet (LiteSVM's airdrop is capped), plus its fees and rent.
            held = int(self._svm.get_balance(faucet) or 0)
            self._set(faucet, Account(held + amount + 10**9, b"", SYSTEM_PROGRAM))
            if asset == NATIVE:
                ixs = [programs.system_transfer(faucet, receiver, amount)]
            elif asset == USDC_MINT:
                ixs = [
                    programs.create_ata_idempotent(faucet, receiver, self._mint),
                    programs.mint_to(self._mint, receiver, faucet, amount),
                ]
            else:
                raise ChainError(f"{CHAIN_ID} has no asset {asset!r}")
            prepared = self._sign(self.faucet, ixs)
            await self.broadcast(prepared)
        return prepared.tx_hash

    async def mine(self, blocks: int = 1) -> int:
        if blocks < 1:
            raise ChainError("mine at least one block")
        with self._lock, self._db:
            for _ in range(blocks):
                self._new_block(self._head() + 1)
            return self._head()

    async def reorg(self, depth: int) -> None:
        raise Unsupported("LiteSVM cannot roll back: no reorgs on the Solana devnet chain")

    async def aclose(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["CHAIN_ID", "SOL", "USDC", "USDC_MINT", "SolanaChain", "validate_solana_address"]
