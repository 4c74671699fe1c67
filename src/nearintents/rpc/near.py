"""NEAR RPC (PROTOCOL.md §2.14-2.15, ARCHITECTURE.md §7): ``query``/``call_function`` views and
``tx`` status in ``HttpNearRpc``, and ``VerifierViews``, the typed views of ``intents.near``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from nearintents.encoding import EncodingError, b58decode, b64decode, b64encode, hex_decode
from nearintents.events import event_data
from nearintents.rpc.errors import (
    RpcMalformedResponse,
    RpcServerError,
    UnknownTransaction,
    ViewCallError,
)
from nearintents.rpc.jsonrpc import (
    I128,
    U128,
    CryptoHash,
    JsonRpcClient,
    NonEmptyStr,
    TokenId,
    decode_json,
)

T = TypeVar("T")

_WIRE = ConfigDict(frozen=True, extra="ignore")

VERIFIER_CONTRACT_ID = "intents.near"
# ``tx`` with a waiting ``wait_until`` is held by the node until the status is reached or its own
# ~10 s limit (then TIMEOUT_ERROR); our HTTP deadline must outlast the node's.
NODE_TX_WAIT_S = 10.0
MAX_PIPS = 1_000_000


class Finality(StrEnum):
    FINAL = "final"
    NEAR_FINAL = "near-final"
    OPTIMISTIC = "optimistic"


class TxExecutionStatus(StrEnum):
    """``wait_until`` / ``final_execution_status`` levels, weakest first."""

    NONE = "NONE"
    INCLUDED = "INCLUDED"
    EXECUTED_OPTIMISTIC = "EXECUTED_OPTIMISTIC"
    INCLUDED_FINAL = "INCLUDED_FINAL"
    EXECUTED = "EXECUTED"
    FINAL = "FINAL"


Byte = Annotated[StrictInt, Field(ge=0, le=255)]
Height = Annotated[StrictInt, Field(ge=0)]


# --- call_function ------------------------------------------------------------------------------


class _CallFunctionWire(BaseModel):
    """``query``/``call_function`` result: ``result`` bytes, or ``error`` on nodes that report a
    contract panic inside the result instead of as a JSON-RPC error."""

    model_config = _WIRE

    result: list[Byte] | None = None
    error: StrictStr | None = None
    logs: list[StrictStr] = Field(default_factory=list)
    block_height: Height
    block_hash: CryptoHash

    @model_validator(mode="after")
    def _result_xor_error(self) -> Self:
        if (self.result is None) == (self.error is None):
            raise ValueError("exactly one of result and error expected")
        return self


class ViewResult(BaseModel):
    """What a view returned (raw bytes, the JSON return value) and where it was read."""

    model_config = ConfigDict(frozen=True)

    result: bytes
    logs: tuple[str, ...]
    block_height: int
    block_hash: str


# --- tx -----------------------------------------------------------------------------------------


class FinalExecutionStatus(BaseModel):
    """A transaction's overall status: ``SuccessValue`` (decoded), ``Failure``, or not yet done
    (``NotStarted`` / ``Started``)."""

    model_config = ConfigDict(frozen=True)

    success_value: bytes | None = None
    failure: dict[str, Any] | None = None
    pending: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, data: Any) -> Any:
        if isinstance(data, str):
            if data not in ("NotStarted", "Started"):
                raise ValueError(f"unknown status {data!r}")
            return {"pending": data}
        if not isinstance(data, dict) or set(data) <= {"success_value", "failure", "pending"}:
            return data  # built in Python from field names
        if len(data) == 1:
            ((kind, value),) = data.items()
            if kind == "SuccessValue" and isinstance(value, str):
                try:
                    return {"success_value": b64decode(value)}
                except EncodingError as exc:
                    raise ValueError(f"SuccessValue: {exc}") from exc
            if kind == "Failure" and isinstance(value, dict):
                return {"failure": value}
        raise ValueError("expected SuccessValue, Failure, NotStarted or Started")


class ExecutionOutcome(BaseModel):
    model_config = _WIRE

    logs: list[StrictStr]
    receipt_ids: list[StrictStr]
    gas_burnt: Height
    tokens_burnt: U128
    executor_id: NonEmptyStr
    # "Unknown" | {"SuccessValue": b64} | {"SuccessReceiptId": id} | {"Failure": {...}}
    status: StrictStr | dict[str, Any]

    @property
    def failed(self) -> bool:
        return isinstance(self.status, dict) and "Failure" in self.status


class ExecutionOutcomeWithId(BaseModel):
    model_config = _WIRE

    id: CryptoHash
    block_hash: CryptoHash
    outcome: ExecutionOutcome


class TransactionView(BaseModel):
    model_config = _WIRE

    signer_id: NonEmptyStr
    public_key: NonEmptyStr
    nonce: Height
    receiver_id: NonEmptyStr
    actions: list[Any]
    signature: NonEmptyStr
    hash: CryptoHash


class TxOutcome(BaseModel):
    """The ``tx`` result. With ``wait_until`` NONE/INCLUDED only ``final_execution_status`` is
    present; older nodes omit ``final_execution_status``."""

    model_config = _WIRE

    final_execution_status: TxExecutionStatus | None = None
    status: FinalExecutionStatus | None = None
    transaction: TransactionView | None = None
    transaction_outcome: ExecutionOutcomeWithId | None = None
    receipts_outcome: list[ExecutionOutcomeWithId] = Field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status is not None and self.status.success_value is not None

    @property
    def failure(self) -> dict[str, Any] | None:
        return self.status.failure if self.status is not None else None

    @property
    def logs(self) -> list[str]:
        """Every log line, transaction first then receipts in order (events live here)."""
        outcomes = [self.transaction_outcome] if self.transaction_outcome else []
        outcomes.extend(self.receipts_outcome)
        return [line for o in outcomes for line in o.outcome.logs]


def is_final_outcome(outcome: TxOutcome) -> bool:
    """Whether a ``tx`` answer is the transaction's final outcome: its block is final (an old node
    omits ``final_execution_status``: it answers for executed transactions only) and no receipt
    is still running. Before that, what it says may still change or be incomplete."""
    if outcome.final_execution_status not in (None, TxExecutionStatus.FINAL):
        return False
    return outcome.status is not None and outcome.status.pending is None


def executed_intent_hashes(outcome: TxOutcome, contract_id: str) -> set[str]:
    """The intent hashes a transaction executed: the ``intents_executed`` (dip4) events logged by
    successful receipts of ``contract_id`` (near/intents core/src/events.rs). A line that is not
    such an event is skipped, never an error: logs are free text."""
    return {
        data["intent_hash"]
        for _, data in receipt_event_data(
            outcome, executor=contract_id, standard="dip4", events=("intents_executed",)
        )
        if isinstance(data.get("intent_hash"), str)
    }


def receipt_event_data(
    outcome: TxOutcome, *, executor: str, standard: str, events: Iterable[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(event, entry)`` for each data entry of the ``standard`` events named in ``events``
    that the successful receipts executed by ``executor`` logged (:func:`event_data`)."""
    for receipt in outcome.receipts_outcome:
        if receipt.outcome.executor_id == executor and not receipt.outcome.failed:
            yield from event_data(receipt.outcome.logs, standard=standard, events=events)


# --- the client ---------------------------------------------------------------------------------

_CALL = TypeAdapter(_CallFunctionWire)
_TX = TypeAdapter(TxOutcome)
_ANY: TypeAdapter[Any] = TypeAdapter(Any)
_PANIC_RES = (
    re.compile(r"Smart contract panicked: (.*?)\"?\)+$", re.DOTALL),
    re.compile(r'panic_msg: "(.*?)" }', re.DOTALL),
)


_RUST_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]{1,6}\}|.)", re.DOTALL)
_RUST_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0"}


def _unescape_rust_debug(text: str) -> str:
    """Undo Rust's ``{:?}`` string escaping (``\\"``, ``\\\\``, ``\\n``, ``\\u{..}``)."""

    def replace(found: re.Match[str]) -> str:
        escape = found.group(1)
        if escape.startswith("u{"):
            return chr(int(escape[2:-1], 16))
        return _RUST_ESCAPES.get(escape, escape)

    return _RUST_ESCAPE.sub(replace, text)


def _panic_text(raw: str) -> str:
    """The contract's own message inside the node's ``wasm execution failed ...`` wrapper.

    The wrapper is Rust ``Debug`` output, so the message inside it is escaped (a JSON panic such
    as ``invariant violated: {"error":...}`` arrives as ``{\\"error\\":...}``); undo that."""
    for pattern in _PANIC_RES:
        found = pattern.search(raw)
        if found:
            return _unescape_rust_debug(found.group(1))
    return raw


def _raw_panic(exc: RpcServerError) -> str | None:
    """The node's panic text if ``exc`` reports a contract panic in a view, else None."""
    if exc.cause_name == "CONTRACT_EXECUTION_ERROR":
        info = exc.cause_info
        vm_error = info.get("vm_error") if isinstance(info, dict) else None
        if isinstance(vm_error, str):
            return vm_error
        return exc.data if isinstance(exc.data, str) else exc.message
    # Nodes before the verror-style errors only had code/message/data.
    if exc.cause_name is None and isinstance(exc.data, str) and "wasm execution failed" in exc.data:
        return exc.data
    return None


def _copy(exc: RpcServerError) -> dict[str, Any]:
    return {
        "code": exc.code,
        "data": exc.data,
        "http_status": exc.http_status,
        "name": exc.name,
        "cause_name": exc.cause_name,
        "cause_info": exc.cause_info,
    }


class HttpNearRpc(JsonRpcClient):
    """Async client of a NEAR RPC node (``https://rpc.mainnet.near.org``, or the devnet's).

    ``base_url`` is the JSON-RPC endpoint; ``api_key`` (for providers that want one) is sent in
    both header styles. An injected ``client`` is shared and left open on close.
    """

    async def call_function_result(
        self,
        account_id: str,
        method_name: str,
        args: Mapping[str, Any] | None = None,
        *,
        finality: Finality = Finality.FINAL,
    ) -> ViewResult:
        """Run a view; raise :class:`ViewCallError` if the contract panics (both node styles)."""
        args_json = json.dumps(dict(args or {}), separators=(",", ":"), allow_nan=False)
        params = {
            "request_type": "call_function",
            "finality": Finality(finality).value,
            "account_id": account_id,
            "method_name": method_name,
            "args_base64": b64encode(args_json.encode()),
        }
        try:
            wire = await self._rpc.call("query", params, _CALL)
        except RpcServerError as exc:
            raw = _raw_panic(exc)
            if raw is None:
                raise
            raise ViewCallError(_panic_text(raw), method=method_name, **_copy(exc)) from exc
        if wire.error is not None:
            raise ViewCallError(_panic_text(wire.error), method=method_name, data=wire.error)
        assert wire.result is not None  # the validator guarantees result xor error
        return ViewResult(
            result=bytes(wire.result),
            logs=tuple(wire.logs),
            block_height=wire.block_height,
            block_hash=wire.block_hash,
        )

    async def call_function(
        self,
        account_id: str,
        method_name: str,
        args: Mapping[str, Any] | None = None,
        *,
        finality: Finality = Finality.FINAL,
    ) -> bytes:
        """The raw bytes a view returned."""
        outcome = await self.call_function_result(account_id, method_name, args, finality=finality)
        return outcome.result

    async def view(
        self,
        account_id: str,
        method_name: str,
        args: Mapping[str, Any] | None = None,
        *,
        finality: Finality = Finality.FINAL,
    ) -> Any:
        """A view's JSON return value, decoded (``None`` for a view that returns nothing)."""
        raw = await self.call_function(account_id, method_name, args, finality=finality)
        if not raw:
            return None
        try:
            return decode_json(raw)
        except ValueError as exc:
            raise RpcMalformedResponse(
                "view returned bytes that are not JSON", method=method_name, body=repr(raw[:200])
            ) from exc

    async def tx_status(
        self,
        tx_hash: str,
        sender_account_id: str,
        *,
        wait_until: TxExecutionStatus = TxExecutionStatus.EXECUTED_OPTIMISTIC,
        time_limit: float | None = None,
    ) -> TxOutcome:
        """The ``tx`` method: a transaction's status, outcomes and logs.

        Raises :class:`UnknownTransaction` if the node does not know it (yet).
        """
        wait_until = TxExecutionStatus(wait_until)
        if time_limit is None:
            waits = wait_until not in (TxExecutionStatus.NONE, TxExecutionStatus.INCLUDED)
            time_limit = self._rpc.timeout + (NODE_TX_WAIT_S if waits else 0.0)
        params = {
            "tx_hash": tx_hash,
            "sender_account_id": sender_account_id,
            "wait_until": wait_until.value,
        }
        try:
            outcome = await self._rpc.call("tx", params, _TX, time_limit=time_limit)
        except RpcServerError as exc:
            if exc.cause_name != "UNKNOWN_TRANSACTION":
                raise
            raise UnknownTransaction(exc.message, method="tx", **_copy(exc)) from exc
        if outcome.transaction is not None and outcome.transaction.hash != tx_hash:
            raise RpcMalformedResponse(
                f"outcome of {outcome.transaction.hash}, asked for {tx_hash}", method="tx"
            )
        return outcome

    async def account_exists(self, account_id: str, *, finality: Finality = Finality.FINAL) -> bool:
        """``view_account``: False when the node says ``UNKNOWN_ACCOUNT``."""
        params = {
            "request_type": "view_account",
            "finality": Finality(finality).value,
            "account_id": account_id,
        }
        try:
            await self._rpc.call("query", params, _ANY)
        except RpcServerError as exc:
            if exc.cause_name == "UNKNOWN_ACCOUNT":
                return False
            raise
        return True

    async def native_balance(
        self, account_id: str, *, finality: Finality = Finality.FINAL
    ) -> int | None:
        """``view_account``'s ``amount`` (yoctoNEAR), None when the account does not exist."""
        params = {
            "request_type": "view_account",
            "finality": Finality(finality).value,
            "account_id": account_id,
        }
        try:
            answer = await self._rpc.call("query", params, _ANY)
        except RpcServerError as exc:
            if exc.cause_name == "UNKNOWN_ACCOUNT":
                return None
            raise
        amount = answer.get("amount") if isinstance(answer, dict) else None
        if not isinstance(amount, str) or not amount.isdigit():
            raise RpcMalformedResponse("view_account without an amount", method="query",
                                       body=repr(answer)[:200])  # fmt: skip
        return int(amount)

    async def access_key(
        self, account_id: str, public_key: str, *, finality: Finality = Finality.OPTIMISTIC
    ) -> tuple[int, bytes]:
        """``view_access_key``: the key's nonce and the block hash it was read at (what the next
        transaction signs: nonce + 1 and a recent block). ``optimistic`` by default: the next
        nonce must follow the head's, and ``final`` trails a transaction sent a block ago."""
        params = {
            "request_type": "view_access_key",
            "finality": Finality(finality).value,
            "account_id": account_id,
            "public_key": public_key,
        }
        answer = await self._rpc.call("query", params, _ACCESS_KEY)
        return answer.nonce, b58decode(answer.block_hash, length=32)

    async def send_tx(
        self,
        signed_tx_base64: str,
        *,
        wait_until: TxExecutionStatus = TxExecutionStatus.EXECUTED_OPTIMISTIC,
    ) -> TxOutcome:
        """``send_tx``: submit a signed transaction and wait for ``wait_until``. A transaction
        refused before execution is an :class:`RpcServerError` (``INVALID_TRANSACTION``)."""
        params = {"signed_tx_base64": signed_tx_base64, "wait_until": wait_until.value}
        return await self._rpc.call(
            "send_tx", params, _TX, time_limit=self._rpc.timeout + NODE_TX_WAIT_S
        )


class _AccessKeyWire(BaseModel):
    model_config = _WIRE

    nonce: Height
    block_hash: NonEmptyStr


_ACCESS_KEY = TypeAdapter(_AccessKeyWire)


# --- the verifier's views -----------------------------------------------------------------------


def _parse_salt(value: object) -> bytes:
    if isinstance(value, bytes) and len(value) == 4:
        return value
    if not isinstance(value, str):
        raise ValueError("salt must be a hex string")
    try:
        return hex_decode(value, length=4)
    except EncodingError as exc:
        raise ValueError(f"salt: {exc}") from exc


def _check_nonce(value: str) -> str:
    try:
        b64decode(value, length=32)
    except EncodingError as exc:
        raise ValueError(f"nonce: {exc}") from exc
    return value


Salt = Annotated[
    bytes,
    PlainValidator(_parse_salt),
    PlainSerializer(bytes.hex, return_type=str, when_used="json"),
]
"""A 4-byte verifier salt, hex on the wire (``"252812b3"``; PROTOCOL.md §2.9)."""

Nonce = Annotated[StrictStr, AfterValidator(_check_nonce)]
"""A 32-byte nonce, base64 on the wire."""
Pips = Annotated[StrictInt, Field(ge=0, le=MAX_PIPS)]
PublicKey = Annotated[
    StrictStr, StringConstraints(pattern=r"^(ed25519|secp256k1|p256):[1-9A-HJ-NP-Za-km-z]+$")
]


class IntentExecuted(BaseModel):
    """One executed signed payload; ``intent_hash`` is absent for direct calls."""

    model_config = _WIRE

    intent_hash: CryptoHash | None = None
    account_id: NonEmptyStr
    nonce: Nonce


class InvariantViolated(BaseModel):
    """Why the batch does not balance: ``unmatched_deltas`` (what is missing per token, as
    signed integers) or ``overflow``."""

    model_config = _WIRE

    error: StrictStr
    unmatched_deltas: dict[TokenId, I128] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _deltas_when_unmatched(self) -> Self:
        if self.error == "unmatched_deltas" and not self.unmatched_deltas:
            raise ValueError("unmatched_deltas error without deltas")
        return self


class SimulationState(BaseModel):
    model_config = _WIRE

    fee: Pips
    current_salt: Salt


class SimulationResult(BaseModel):
    """``simulate_intents`` output (PROTOCOL.md §2.14); ``invariant_violated`` is absent when the
    batch balances."""

    model_config = _WIRE

    intents_executed: list[IntentExecuted]
    logs: list[StrictStr]
    min_deadline: AwareDatetime
    invariant_violated: InvariantViolated | None = None
    state: SimulationState


_U128 = TypeAdapter(U128)
_U128_LIST = TypeAdapter(list[U128])
_BOOL = TypeAdapter(StrictBool)
_SALT = TypeAdapter(Salt)
_PIPS = TypeAdapter(Pips)
_ACCOUNT = TypeAdapter(NonEmptyStr)
_KEYS = TypeAdapter(list[PublicKey])
_SIMULATION = TypeAdapter(SimulationResult)


class VerifierViews:
    """Typed view calls on the verifier contract, each answer validated before use."""

    def __init__(
        self,
        rpc: HttpNearRpc,
        contract_id: str = VERIFIER_CONTRACT_ID,
        *,
        finality: Finality = Finality.FINAL,
        relayer_account_id: str | None = None,
    ) -> None:
        self.rpc = rpc
        self.contract_id = contract_id
        self.finality = finality
        # The signer of the relay's execute_intents transactions: NEAR RPC `tx` needs the
        # sender to find a transaction (the relay's status gives only the hash).
        self.relayer_account_id = relayer_account_id

    async def _view(self, method: str, args: dict[str, Any], adapter: TypeAdapter[T]) -> T:
        value = await self.rpc.view(self.contract_id, method, args, finality=self.finality)
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            raise RpcMalformedResponse(
                f"unexpected return value: {exc.errors(include_url=False)[0]['msg']}",
                method=method,
                body=repr(value)[:200],
            ) from exc

    async def mt_balance_of(self, account_id: str, token_id: str) -> int:
        args = {"account_id": account_id, "token_id": token_id}
        return await self._view("mt_balance_of", args, _U128)

    async def mt_batch_balance_of(self, account_id: str, token_ids: Sequence[str]) -> list[int]:
        args = {"account_id": account_id, "token_ids": list(token_ids)}
        balances = await self._view("mt_batch_balance_of", args, _U128_LIST)
        if len(balances) != len(token_ids):
            raise RpcMalformedResponse(
                f"{len(balances)} balances for {len(token_ids)} tokens",
                method="mt_batch_balance_of",
            )
        return balances

    async def current_salt(self) -> bytes:
        return await self._view("current_salt", {}, _SALT)

    async def is_valid_salt(self, salt: bytes) -> bool:
        if len(salt) != 4:
            raise ValueError("a salt is 4 bytes")
        return await self._view("is_valid_salt", {"salt": salt.hex()}, _BOOL)

    async def fee(self) -> int:
        """The protocol fee in pips (1/1,000,000)."""
        return await self._view("fee", {}, _PIPS)

    async def fee_collector(self) -> str:
        return await self._view("fee_collector", {}, _ACCOUNT)

    async def is_nonce_used(self, account_id: str, nonce: bytes) -> bool:
        if len(nonce) != 32:
            raise ValueError("a nonce is 32 bytes")
        args = {"account_id": account_id, "nonce": b64encode(nonce)}
        return await self._view("is_nonce_used", args, _BOOL)

    async def public_keys_of(self, account_id: str) -> list[str]:
        return await self._view("public_keys_of", {"account_id": account_id}, _KEYS)

    async def has_public_key(self, account_id: str, public_key: str) -> bool:
        args = {"account_id": account_id, "public_key": public_key}
        return await self._view("has_public_key", args, _BOOL)

    async def executed_in(self, tx_hash: str, intent_hash: str) -> bool | None:
        """Whether the transaction ``tx_hash`` executed the signed intent ``intent_hash``, read
        from its FINAL outcome: True or False once final; None when this cannot be told (the
        node does not know the transaction yet, or no relayer account is configured)."""
        if self.relayer_account_id is None:
            return None
        try:
            outcome = await self.rpc.tx_status(tx_hash, self.relayer_account_id)
        except UnknownTransaction:
            return None
        if not is_final_outcome(outcome):
            return None
        return intent_hash in executed_intent_hashes(outcome, self.contract_id)

    async def simulate_intents(self, signed: Sequence[dict[str, Any]]) -> SimulationResult:
        """Dry-run a batch; errors other than an unbalanced batch raise :class:`ViewCallError`."""
        return await self._view("simulate_intents", {"signed": list(signed)}, _SIMULATION)
