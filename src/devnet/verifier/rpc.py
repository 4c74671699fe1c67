"""The devnet's NEAR RPC endpoint (JSON-RPC 2.0 over HTTP, Starlette): ``query`` (views and
``view_account``), ``block``, ``tx``/``EXPERIMENTAL_tx_status``, ``status`` and ``gas_price``, with
nearcore's result and error shapes (verror-style ``name``/``cause``, HTTP 200 for handler errors,
400 for request validation errors).
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devnet.chains.near.transactions import InvalidTransaction
from devnet.verifier.chain import Block, TxRecord
from devnet.verifier.timestamps import format_rfc3339_ns
from devnet.verifier.verifier import Verifier
from devnet.verifier.views import ViewError, ViewFailure, call_view
from nearintents.encoding import b58encode

logger = logging.getLogger(__name__)

# Transactions on the devnet are not really signed; these stand in for key and signature.
DEVNET_PUBLIC_KEY = "ed25519:" + b58encode(bytes(32))
DEVNET_SIGNATURE = "ed25519:" + b58encode(bytes(64))
EPOCH_ID = b58encode(bytes(32))
GAS_PRICE = "100000000"
TX_GAS = 300_000_000_000_000
PROTOCOL_VERSION = 73


class AnswerError(Exception):
    """An error answer: ``error`` is the JSON-RPC error object, ``status`` the HTTP status."""

    def __init__(self, error: dict[str, Any], status: int = 200) -> None:
        super().__init__(error.get("data"))
        self.error = error
        self.status = status


def handler_error(cause: str, info: dict[str, Any], data: str) -> AnswerError:
    return AnswerError(
        {
            "name": "HANDLER_ERROR",
            "cause": {"name": cause, "info": info},
            "code": -32000,
            "message": "Server error",
            "data": data,
        }
    )


def parse_error(message: str) -> AnswerError:
    return AnswerError(
        {
            "name": "REQUEST_VALIDATION_ERROR",
            "cause": {"name": "PARSE_ERROR", "info": {"error_message": message}},
            "code": -32700,
            "message": "Parse error",
            "data": message,
        },
        status=400,
    )


def method_not_found(method: str) -> AnswerError:
    return AnswerError(
        {
            "name": "REQUEST_VALIDATION_ERROR",
            "cause": {"name": "METHOD_NOT_FOUND", "info": {"method_name": method}},
            "code": -32601,
            "message": "Method not found",
            "data": method,
        },
        status=400,
    )


def rust_debug(text: str) -> str:
    """Rust's ``{:?}`` of a string body: how nearcore quotes a panic message in ``vm_error``."""
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return "".join(out)


def _view_failure(exc: ViewError, head: Block) -> AnswerError:
    where = {"block_height": head.height, "block_hash": head.hash}
    if exc.kind is ViewFailure.UNKNOWN_ACCOUNT:
        info = {"requested_account_id": exc.message, **where}
        return handler_error(
            "UNKNOWN_ACCOUNT", info, f"account {exc.message} does not exist while viewing"
        )
    if exc.kind is ViewFailure.NO_CONTRACT_CODE:
        info = {"contract_account_id": exc.message, **where}
        data = f"Contract code for contract ID #{exc.message} has never been observed on the node"
        return handler_error("NO_CONTRACT_CODE", info, data)
    if exc.kind is ViewFailure.METHOD_NOT_FOUND:
        inner = "MethodResolveError(MethodNotFound)"
    else:
        inner = f'ExecutionError("Smart contract panicked: {rust_debug(exc.message)}")'
    vm_error = f"wasm execution failed with error: FunctionCallError({inner})"
    return handler_error(
        "CONTRACT_EXECUTION_ERROR",
        {"vm_error": vm_error, **where},
        f"Function call returned an error: {vm_error}",
    )


class NearRpc:
    """The method handlers; each runs in a worker thread (the verifier is synchronous)."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier

    def dispatch(self, method: str, params: Any) -> Any:
        handler = {
            "query": self.query,
            "block": self.block,
            "tx": self.tx,
            "EXPERIMENTAL_tx_status": self.tx_status_experimental,
            "status": self.status,
            "gas_price": self.gas_price,
            "send_tx": self.send_tx,
            "broadcast_tx_commit": self.broadcast_tx_commit,
        }.get(method)
        if handler is None:
            raise method_not_found(method)
        return handler(params)

    # --- query --------------------------------------------------------------------------------

    def _block_ref(self, params: dict[str, Any]) -> tuple[Block, bool]:
        """The block a request reads at, and whether that is the final state: ``optimistic``
        reads the head, ``final`` (and ``near-final``, conservatively) the final block,
        ``finality_lag`` blocks below it. A given block id must exist; it reads the head."""
        head = self.verifier.head_block()
        block_id = params.get("block_id")
        if block_id is None:
            if "finality" not in params and "sync_checkpoint" not in params:
                raise parse_error("missing field `finality` or `block_id`")
            if params.get("finality") == "optimistic":
                return head, False
            return self.verifier.final_block(), True
        block = (
            self.verifier.block(block_id)
            if isinstance(block_id, int)
            else self.verifier.block_by_hash(str(block_id))
        )
        if block is None:
            raise handler_error(
                "UNKNOWN_BLOCK",
                {"block_reference": {"block_id": block_id}},
                f"DB Not Found Error: BLOCK: {block_id}",
            )
        return head, False

    def query(self, params: Any) -> Any:
        if not isinstance(params, dict):
            raise parse_error("query expects an object of named parameters")
        head, final = self._block_ref(params)
        request_type = params.get("request_type")
        account_id = params.get("account_id")
        if not isinstance(account_id, str):
            raise parse_error("missing field `account_id`")
        if request_type == "call_function":
            method = params.get("method_name")
            args_b64 = params.get("args_base64", "")
            if not isinstance(method, str) or not isinstance(args_b64, str):
                raise parse_error("missing field `method_name` or `args_base64`")
            try:
                args = base64.b64decode(args_b64, validate=True)
            except ValueError as exc:
                raise parse_error(f"invalid args_base64: {exc}") from exc
            try:
                result = call_view(self.verifier, account_id, method, args, final=final)
            except ViewError as exc:
                raise _view_failure(exc, head) from exc
            return {
                "result": list(result),
                "logs": [],
                "block_height": head.height,
                "block_hash": head.hash,
            }
        if request_type == "view_account":
            return self._view_account(account_id, head, final=final)
        if request_type == "view_access_key":
            return self._view_access_key(account_id, params.get("public_key"), head, final=final)
        raise parse_error(f"unknown variant `{request_type}` of request_type")

    def _view_access_key(
        self, account_id: str, public_key: Any, head: Block, *, final: bool
    ) -> dict[str, Any]:
        if not isinstance(public_key, str):
            raise parse_error("missing field `public_key`")
        nonce = self.verifier.access_key_nonce(account_id, public_key, final=final)
        where = {"block_height": head.height, "block_hash": head.hash}
        if nonce is None:
            raise handler_error(
                "UNKNOWN_ACCESS_KEY",
                {"public_key": public_key, **where},
                f"access key {public_key} does not exist while viewing",
            )
        return {"nonce": nonce, "permission": "FullAccess", **where}

    # --- signed transactions ----------------------------------------------------------------------

    def _submit(self, signed_b64: Any) -> Any:
        if not isinstance(signed_b64, str):
            raise parse_error("missing field `signed_tx_base64`")
        try:
            data = base64.b64decode(signed_b64, validate=True)
            record = self.verifier.submit_transaction(data)
        except InvalidTransaction as exc:
            if exc.kind == "Malformed":
                raise parse_error(f"Failed to decode transaction: {exc}") from exc
            if exc.detail is not None:  # nearcore's structured InvalidTxError
                invalid = {"TxExecutionError": {"InvalidTxError": {exc.kind: exc.detail}}}
                raise handler_error("INVALID_TRANSACTION", invalid, str(exc)) from exc
            raise handler_error("INVALID_TRANSACTION", {exc.kind: str(exc)}, str(exc)) from exc
        except ValueError as exc:  # not base64
            raise parse_error(f"Failed to decode transaction: {exc}") from exc
        return tx_view(record, experimental=False, final=self._is_final(record))

    def send_tx(self, params: Any) -> Any:
        """Execution is synchronous here: every ``wait_until`` gets the outcome at once, its
        ``final_execution_status`` EXECUTED_OPTIMISTIC until its block is final (as ``tx``)."""
        if not isinstance(params, dict):
            raise parse_error("send_tx expects named parameters")
        return self._submit(params.get("signed_tx_base64"))

    def broadcast_tx_commit(self, params: Any) -> Any:
        if not isinstance(params, list) or len(params) != 1:
            raise parse_error("broadcast_tx_commit expects [signed_tx_base64]")
        return self._submit(params[0])

    def _view_account(self, account_id: str, head: Block, *, final: bool) -> dict[str, Any]:
        verifier = self.verifier
        with verifier.reading(final=final) as (_, near, db):
            has_code = account_id == verifier.account_id or near.has_code(db, account_id)
            amount = near.native_balance(db, account_id)
        if not has_code and amount == 0:
            info = {
                "requested_account_id": account_id,
                "block_height": head.height,
                "block_hash": head.hash,
            }
            raise handler_error(
                "UNKNOWN_ACCOUNT", info, f"account {account_id} does not exist while viewing"
            )
        return {
            "amount": str(amount),
            "locked": "0",
            "code_hash": b58encode(bytes(32) if not has_code else bytes([1]) * 32),
            "storage_usage": 182,
            "storage_paid_at": 0,
            "block_height": head.height,
            "block_hash": head.hash,
        }

    # --- block -----------------------------------------------------------------------------------

    def block(self, params: Any) -> Any:
        if not isinstance(params, dict):
            raise parse_error("block expects an object of named parameters")
        block, _ = self._block_ref(params)
        block_id = params.get("block_id")
        if block_id is not None:
            found = (
                self.verifier.block(block_id)
                if isinstance(block_id, int)
                else self.verifier.block_by_hash(str(block_id))
            )
            assert found is not None
            block = found
        return block_view(block)

    # --- tx ---------------------------------------------------------------------------------------

    def _find_tx(self, params: Any) -> TxRecord:
        if isinstance(params, list) and len(params) == 2:
            tx_hash, sender = params
        elif isinstance(params, dict):
            tx_hash, sender = params.get("tx_hash"), params.get("sender_account_id")
        else:
            raise parse_error("expected [tx_hash, sender_account_id] or named parameters")
        if not isinstance(tx_hash, str) or not isinstance(sender, str):
            raise parse_error("missing field `tx_hash` or `sender_account_id`")
        record = self.verifier.tx(tx_hash)
        if record is None or record.signer_id != sender:
            raise handler_error(
                "UNKNOWN_TRANSACTION",
                {"requested_transaction_hash": tx_hash},
                f"Transaction {tx_hash} doesn't exist",
            )
        return record

    def _is_final(self, record: TxRecord) -> bool:
        return record.block_height <= self.verifier.final_block().height

    def tx(self, params: Any) -> Any:
        record = self._find_tx(params)
        return tx_view(record, experimental=False, final=self._is_final(record))

    def tx_status_experimental(self, params: Any) -> Any:
        record = self._find_tx(params)
        return tx_view(record, experimental=True, final=self._is_final(record))

    # --- node -------------------------------------------------------------------------------------

    def status(self, params: Any) -> Any:
        head = self.verifier.head_block()
        return {
            "chain_id": self.verifier.chain_id,
            "protocol_version": PROTOCOL_VERSION,
            "latest_protocol_version": PROTOCOL_VERSION,
            "version": {"version": "devnet", "build": "oneclick-devnet"},
            "sync_info": {
                "latest_block_hash": head.hash,
                "latest_block_height": head.height,
                "latest_block_time": format_rfc3339_ns(head.timestamp_ns),
                "syncing": False,
            },
            "validators": [],
        }

    def gas_price(self, params: Any) -> Any:
        return {"gas_price": GAS_PRICE}


def block_view(block: Block) -> dict[str, Any]:
    return {
        "author": "devnet.near",
        "header": {
            "height": block.height,
            "prev_height": block.height - 1 if block.height else None,
            "epoch_id": EPOCH_ID,
            "next_epoch_id": EPOCH_ID,
            "hash": block.hash,
            "prev_hash": block.prev_hash,
            "timestamp": block.timestamp_ns,
            "timestamp_nanosec": str(block.timestamp_ns),
            "gas_price": GAS_PRICE,
            "chunks_included": 1,
            "latest_protocol_version": PROTOCOL_VERSION,
        },
        "chunks": [],
    }


def _outcome(executor: str, logs: list[str], status: Any, receipt_ids: list[str]) -> Any:
    return {
        "logs": logs,
        "receipt_ids": receipt_ids,
        "gas_burnt": 0,
        "tokens_burnt": "0",
        "executor_id": executor,
        "status": status,
        "metadata": {"version": 1, "gas_profile": None},
    }


def _action(method: str, args: Any, deposit: int) -> dict[str, Any]:
    if method == "transfer":
        return {"Transfer": {"deposit": str(deposit)}}
    raw = json.dumps(args, separators=(",", ":"), ensure_ascii=False).encode()
    return {
        "FunctionCall": {
            "method_name": method,
            "args": base64.b64encode(raw).decode(),
            "gas": TX_GAS,
            "deposit": str(deposit),
        }
    }


def tx_view(record: TxRecord, *, experimental: bool, final: bool = True) -> dict[str, Any]:
    """nearcore's ``FinalExecutionOutcomeView`` (with ``receipts`` for the EXPERIMENTAL form);
    ``final_execution_status`` EXECUTED_OPTIMISTIC until its block is final (the devnet executes
    a transaction's receipts within its block)."""
    first = [record.receipts[0].id] if record.receipts else []
    view: dict[str, Any] = {
        "final_execution_status": "FINAL" if final else "EXECUTED_OPTIMISTIC",
        "status": record.status,
        "transaction": {
            "signer_id": record.signer_id,
            "public_key": DEVNET_PUBLIC_KEY,
            "nonce": record.block_height,
            "receiver_id": record.receiver_id,
            "actions": [_action(record.method, record.args, record.deposit)],
            "priority_fee": 0,
            "signature": DEVNET_SIGNATURE,
            "hash": record.hash,
        },
        "transaction_outcome": {
            "proof": [],
            "block_hash": record.block_hash,
            "id": record.hash,
            "outcome": {
                **_outcome(
                    record.signer_id, [], {"SuccessReceiptId": first[0]} if first else {}, first
                ),
                "gas_burnt": record.gas_burnt,
                "tokens_burnt": str(record.tokens_burnt),
            },
        },
        "receipts_outcome": [
            {
                "proof": [],
                "block_hash": record.block_hash,
                "id": r.id,
                "outcome": _outcome(r.executor_id, r.logs, r.status, r.receipt_ids),
            }
            for r in record.receipts
        ],
    }
    if experimental:
        view["receipts"] = [
            {
                "predecessor_id": r.predecessor_id,
                "receiver_id": r.executor_id,
                "receipt_id": r.id,
                "receipt": {
                    "Action": {
                        "signer_id": record.signer_id,
                        "signer_public_key": DEVNET_PUBLIC_KEY,
                        "gas_price": GAS_PRICE,
                        "output_data_receivers": [],
                        "input_data_ids": [],
                        "actions": [_action(r.method, r.args, r.deposit)],
                    }
                },
            }
            for r in record.receipts
        ]
    return view


def create_app(verifier: Verifier) -> Starlette:
    """The NEAR JSON-RPC app for ``verifier`` (POST ``/``)."""
    rpc = NearRpc(verifier)

    async def endpoint(request: Request) -> JSONResponse:
        request_id: Any = None
        try:
            try:
                body = json.loads(await request.body())
            except ValueError as exc:
                raise parse_error(f"invalid JSON: {exc}") from exc
            if not isinstance(body, dict) or not isinstance(body.get("method"), str):
                raise parse_error("not a JSON-RPC 2.0 request")
            request_id = body.get("id")
            result = await run_in_threadpool(rpc.dispatch, body["method"], body.get("params"))
        except AnswerError as failure:
            payload = {"jsonrpc": "2.0", "error": failure.error, "id": request_id}
            return JSONResponse(payload, status_code=failure.status)
        except Exception as exc:
            # A bug of ours, not of the caller: answer like nearcore's INTERNAL_ERROR.
            logger.exception("near rpc handler failed", extra={"action": "rpc"})
            error = {
                "name": "INTERNAL_ERROR",
                "cause": {"name": "INTERNAL_ERROR", "info": {"error_message": repr(exc)}},
                "code": -32000,
                "message": "Server error",
                "data": repr(exc),
            }
            return JSONResponse({"jsonrpc": "2.0", "error": error, "id": request_id}, 500)
        return JSONResponse({"jsonrpc": "2.0", "result": result, "id": request_id})

    return Starlette(routes=[Route("/", endpoint, methods=["POST"])])
