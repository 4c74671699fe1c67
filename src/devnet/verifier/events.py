"""NEP-297 event logs (``EVENT_JSON:{...}``) byte-for-byte as near-sdk prints them: compact JSON,
keys in declaration order, optional fields omitted (CONTRACT ``core/src/events/mod.rs``,
``crates/near/nep245/src/events.rs``; PROTOCOL.md §2.13).
"""

from __future__ import annotations

import json
from typing import Any

from devnet.verifier import intents as it

DIP4 = "dip4"
NEP245 = "nep245"
NEP141 = "nep141"

# Current per-event versions of the dip4 standard (CONTRACT core/src/events/mod.rs).
_DIP4_VERSIONS = {
    "fee_changed": "0.3.0",
    "fee_collector_changed": "0.3.0",
    "account_locked": "0.3.0",
    "account_unlocked": "0.3.0",
    "salt_rotation": "0.4.0",
}
_DIP4_DEFAULT_VERSION = "0.4.3"


def dumps(value: Any) -> str:
    """serde_json's compact form: no spaces, non-ASCII kept as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def log(standard: str, version: str, event: str, data: Any) -> str:
    body = {"standard": standard, "version": version, "event": event, "data": data}
    return "EVENT_JSON:" + dumps(body)


def dip4(event: str, data: Any) -> str:
    return log(DIP4, _DIP4_VERSIONS.get(event, _DIP4_DEFAULT_VERSION), event, data)


def parse_log(line: str) -> dict[str, Any] | None:
    """The event of a log line, or None for a plain log."""
    if not line.startswith("EVENT_JSON:"):
        return None
    value = json.loads(line[len("EVENT_JSON:") :])
    return value if isinstance(value, dict) else None


def _opt(fields: dict[str, Any], **optional: Any) -> dict[str, Any]:
    fields.update({k: v for k, v in optional.items() if v is not None})
    return fields


def _head(account_id: str, intent_hash: str | None) -> dict[str, Any]:
    # `MaybeIntentEvent`: the hash comes first and is absent for direct function calls.
    head: dict[str, Any] = {} if intent_hash is None else {"intent_hash": intent_hash}
    head["account_id"] = account_id
    return head


def _num(value: int | None) -> str | None:
    return None if value is None else str(value)


# --- dip4 data entries --------------------------------------------------------------------------


def transfer_entry(account_id: str, intent_hash: str | None, intent: it.Transfer) -> dict[str, Any]:
    data = _head(account_id, intent_hash)
    data["receiver_id"] = intent.receiver_id
    data["tokens"] = {k: str(v) for k, v in intent.tokens.items()}
    return _opt(data, memo=intent.memo)


def token_diff_entry(
    account_id: str, intent_hash: str, intent: it.TokenDiff, fees: dict[str, int]
) -> dict[str, Any]:
    data = _head(account_id, intent_hash)
    data["diff"] = {k: str(v) for k, v in intent.diff.items()}
    _opt(data, memo=intent.memo, referral=intent.referral)
    if fees:
        data["fees_collected"] = {k: str(v) for k, v in fees.items()}
    return data


def withdraw_entry(
    account_id: str,
    intent_hash: str | None,
    intent: it.FtWithdraw | it.NftWithdraw | it.MtWithdraw,
) -> dict[str, Any]:
    data = _head(account_id, intent_hash)
    data["token"] = intent.token
    data["receiver_id"] = intent.receiver_id
    if isinstance(intent, it.FtWithdraw):
        data["amount"] = str(intent.amount)
    elif isinstance(intent, it.NftWithdraw):
        data["token_id"] = intent.token_id
    else:
        data["token_ids"] = list(intent.token_ids)
        data["amounts"] = [str(a) for a in intent.amounts]
    return _opt(
        data,
        memo=intent.memo,
        msg=intent.msg,
        storage_deposit=_num(intent.storage_deposit),
        min_gas=_num(intent.min_gas),
    )


def native_withdraw_entry(
    account_id: str, intent_hash: str, intent: it.NativeWithdraw
) -> dict[str, Any]:
    data = _head(account_id, intent_hash)
    data["receiver_id"] = intent.receiver_id
    data["amount"] = str(intent.amount)
    return data


def storage_deposit_entry(
    account_id: str, intent_hash: str, intent: it.StorageDeposit
) -> dict[str, Any]:
    data = _head(account_id, intent_hash)
    data["contract_id"] = intent.contract_id
    data["deposit_for_account_id"] = intent.deposit_for_account_id
    data["amount"] = str(intent.amount)
    return data


def public_key_entry(account_id: str, intent_hash: str | None, public_key: str) -> dict[str, Any]:
    data = _head(account_id, intent_hash)
    data["public_key"] = public_key
    return data


def set_auth_entry(account_id: str, intent_hash: str | None, enabled: bool) -> dict[str, Any]:
    data = _head(account_id, intent_hash)
    data["enabled"] = enabled
    return data


def intents_executed_entry(account_id: str, intent_hash: str, nonce_b64: str) -> dict[str, Any]:
    data = _head(account_id, intent_hash)
    data["nonce"] = nonce_b64
    return data


# --- nep245 / nep141 -----------------------------------------------------------------------------


def mt_mint(owner_id: str, tokens: list[tuple[str, int]], memo: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "owner_id": owner_id,
        "token_ids": [t for t, _ in tokens],
        "amounts": [str(a) for _, a in tokens],
    }
    return _opt(data, memo=memo)


def mt_burn(owner_id: str, tokens: list[tuple[str, int]], memo: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "owner_id": owner_id,
        "token_ids": [t for t, _ in tokens],
        "amounts": [str(a) for _, a in tokens],
    }
    return _opt(data, memo=memo)


def mt_transfer(
    old_owner_id: str, new_owner_id: str, tokens: list[tuple[str, int]], memo: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "old_owner_id": old_owner_id,
        "new_owner_id": new_owner_id,
        "token_ids": [t for t, _ in tokens],
        "amounts": [str(a) for _, a in tokens],
    }
    return _opt(data, memo=memo)


def nep245(event: str, entries: list[dict[str, Any]]) -> str:
    return log(NEP245, "1.0.0", event, entries)


def ft_transfer(old_owner_id: str, new_owner_id: str, amount: int, memo: str | None) -> str:
    data = _opt(
        {"old_owner_id": old_owner_id, "new_owner_id": new_owner_id, "amount": str(amount)},
        memo=memo,
    )
    return log(NEP141, "1.0.0", "ft_transfer", [data])


def ft_mint(owner_id: str, amount: int, memo: str | None) -> str:
    data = _opt({"owner_id": owner_id, "amount": str(amount)}, memo=memo)
    return log(NEP141, "1.0.0", "ft_mint", [data])


def ft_burn(owner_id: str, amount: int, memo: str | None) -> str:
    data = _opt({"owner_id": owner_id, "amount": str(amount)}, memo=memo)
    return log(NEP141, "1.0.0", "ft_burn", [data])
