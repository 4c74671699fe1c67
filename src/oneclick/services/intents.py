"""``generate_intent`` / ``submit_intent`` (``swap_transfer``, PROTOCOL.md §5.10): the user's
signed ``transfer`` of ``amountIn`` of the origin asset into the quote's custody account."""

from __future__ import annotations

import json
import logging
from enum import StrEnum
from typing import Any

from nearintents import signing
from nearintents.encoding import b64encode
from nearintents.nonce import (
    InvalidNonce,
    datetime_to_ns,
    decode_nonce_b64,
    fresh_versioned_nonce,
)
from nearintents.payload import DefusePayload, Transfer
from nearintents.signing import SignedPayloadError
from oneclick.domain.addresses import require_intents_account
from oneclick.domain.errors import NotFound, PermanentError, RequestError
from oneclick.domain.records import IntentKind, IntentRecord, IntentState
from oneclick.domain.requests import DepositType
from oneclick.domain.swaps import SwapRecord
from oneclick.domain.timestamps import parse_timestamp
from oneclick.services.boundary import calling
from oneclick.services.context import ServiceContext

logger = logging.getLogger(__name__)

SWAP_TRANSFER = "swap_transfer"


class IntentStandard(StrEnum):
    NEP413 = "nep413"
    ERC191 = "erc191"
    TIP191 = "tip191"
    RAW_ED25519 = "raw_ed25519"
    SEP53 = "sep53"
    WEBAUTHN = "webauthn"
    TON_CONNECT = "ton_connect"


def _check_type(kind: str) -> None:
    if kind != SWAP_TRANSFER:
        raise RequestError(f"type must be {SWAP_TRANSFER!r}")


async def _intents_swap(ctx: ServiceContext, deposit_address: str) -> SwapRecord:
    async with ctx.store.transaction() as tx:
        swap = await tx.swaps.by_custody_account(deposit_address)
    if swap is None:
        raise NotFound(f"Deposit address {deposit_address} not found")
    if swap.deposit_type != DepositType.INTENTS.value:
        raise RequestError("swap_transfer is only for quotes with depositType INTENTS")
    if swap.status.is_terminal:
        raise RequestError(f"the swap is already {swap.status}")
    return swap


def _quote_field(swap: SwapRecord, name: str) -> str:
    quote = json.loads(swap.quote_response).get("quote", {})
    value = quote.get(name)
    if not isinstance(value, str):
        raise PermanentError(f"stored quote of swap {swap.id} has no {name}")
    return value


async def generate_intent(
    ctx: ServiceContext, *, kind: str, standard: str, signer_id: str, deposit_address: str
) -> dict[str, Any]:
    """``{"standard", "payload"}``: the unsigned transfer for the user's wallet to sign."""
    _check_type(kind)
    try:
        tag = IntentStandard(standard)
    except ValueError as exc:
        allowed = ", ".join(s.value for s in IntentStandard)
        raise RequestError(f"standard must be one of {allowed}") from exc
    require_intents_account(signer_id, what="signerId")
    swap = await _intents_swap(ctx, deposit_address)
    if signer_id == swap.custody_account_id:
        raise RequestError("signerId must not be the deposit address itself")
    amount = int(_quote_field(swap, "amountIn"))
    quote_deadline = parse_timestamp(_quote_field(swap, "deadline"), what="quote deadline")
    deadline = min(ctx.clock.now() + ctx.policy.intent_lifetime, quote_deadline)
    async with calling("the verifier (current_salt)"):
        salt = await ctx.verifier.current_salt()
    nonce = fresh_versioned_nonce(salt, datetime_to_ns(deadline))
    payload = DefusePayload(
        signer_id=signer_id,
        verifying_contract=ctx.policy.verifier_contract,
        deadline=deadline,
        nonce=nonce,
        intents=[Transfer(receiver_id=swap.custody_account_id, tokens={swap.origin_asset: amount})],
    )
    if tag is IntentStandard.NEP413:
        message = json.dumps(
            payload.nep413_message_dict(), separators=(",", ":"), ensure_ascii=False
        )
        body: object = {
            "message": message,
            "nonce": b64encode(nonce),
            "recipient": ctx.policy.verifier_contract,
        }
    elif tag is IntentStandard.TON_CONNECT:
        body = {"type": "text", "text": payload.to_json()}
    else:
        body = payload.to_json()
    return {"standard": tag.value, "payload": body}


def _transfer_target(ctx: ServiceContext, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if payload.get("verifying_contract") != ctx.policy.verifier_contract:
        raise RequestError(f"the intent must be for {ctx.policy.verifier_contract}")
    intents = payload.get("intents") or []
    if len(intents) != 1 or not isinstance(intents[0], dict):
        raise RequestError("a swap_transfer carries exactly one transfer intent")
    intent = intents[0]
    if intent.get("intent") != "transfer" or not isinstance(intent.get("receiver_id"), str):
        raise RequestError("a swap_transfer carries exactly one transfer intent")
    tokens = intent.get("tokens")
    if not isinstance(tokens, dict) or len(tokens) != 1:
        raise RequestError("the transfer must move exactly one token")
    return intent["receiver_id"], tokens


async def submit_intent(ctx: ServiceContext, *, kind: str, signed_data: object) -> str:
    """Verify the signed transfer into a custody account, persist it, publish it; its hash."""
    _check_type(kind)
    if not isinstance(signed_data, dict):
        raise RequestError("signedData must be a signed MultiPayload object")
    try:
        signing.verify(signed_data)
        payload = signing.extract_payload(signed_data)
        intent_hash = signing.intent_hash(signed_data)
    except SignedPayloadError as exc:
        raise RequestError(f"signedData is not a valid signed intent: {exc}") from exc
    # Both land in bounded columns (PostgreSQL refuses what SQLite would store): checked here.
    signer_id = require_intents_account(payload.get("signer_id"), what="signer_id")
    nonce = payload.get("nonce")
    try:
        decode_nonce_b64(nonce if isinstance(nonce, str) else "")
    except InvalidNonce as exc:
        raise RequestError("the intent's nonce must be 32 bytes in base64") from exc
    receiver, tokens = _transfer_target(ctx, payload)
    swap = await _intents_swap(ctx, receiver)
    if set(tokens) != {swap.origin_asset}:
        raise RequestError(f"the transfer must move {swap.origin_asset}")
    deadline = parse_timestamp(payload.get("deadline"), what="deadline")
    if deadline <= ctx.clock.now():
        raise RequestError("the intent's deadline has passed")
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        if await tx.intents.get(intent_hash) is None:
            await tx.intents.add(
                IntentRecord(
                    intent_hash=intent_hash,
                    swap_id=swap.id,
                    kind=IntentKind.USER_TRANSFER,
                    signer_id=signer_id,
                    nonce=str(nonce),
                    signed_data=json.dumps(signed_data, separators=(",", ":")),
                    state=IntentState.SIGNED,
                    created_at=now,
                )
            )
    async with calling("the solver relay (publish_intent)"):
        result = await ctx.relay.publish_intent(signed_data, quote_hashes=[])
    state = IntentState.PUBLISHED if result.ok else IntentState.FAILED
    async with ctx.store.transaction() as tx:
        await tx.intents.set_state(intent_hash, state)
    if not result.ok:
        raise RequestError(f"the relay refused the intent: {result.reason or 'no reason given'}")
    if result.intent_hash not in (None, intent_hash):
        logger.warning(
            "relay reports intent hash %s for %s", result.intent_hash, intent_hash,
            extra={"action": "submit_intent", "swap_id": swap.id},
        )  # fmt: skip
    logger.info("user transfer published", extra={"action": "submit_intent", "swap_id": swap.id})
    return intent_hash
