import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from nearintents.amounts import parse_i128, parse_u128
from nearintents.nonce import decode_nonce
from nearintents.payload import (
    AddPublicKey,
    AuthCall,
    DefusePayload,
    FtWithdraw,
    ImtBurn,
    ImtMint,
    InvalidPayload,
    MtWithdraw,
    NativeWithdraw,
    NftWithdraw,
    RemovePublicKey,
    SetAuthByPredecessorId,
    StorageDeposit,
    TokenDiff,
    Transfer,
    format_rfc3339,
    parse_intent,
    parse_rfc3339,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "vectors.json").read_text()
)

ED25519_KEY = "ed25519:C3jXhkGhEx88Gj7XKtUziJKXEBMRaJ67bWFkxJikVxZ2"
NONCE_B64 = "Vij2xgAlKBKzgNPJFViEQRgYyS7p2NEiYTTY4XmT8go="

# One wire example per intent kind: the §2.11 examples plus the remaining kinds.
EXAMPLES: list[tuple[type, dict[str, Any]]] = [
    (AddPublicKey, {"intent": "add_public_key", "public_key": ED25519_KEY}),
    (RemovePublicKey, {"intent": "remove_public_key", "public_key": ED25519_KEY}),
    (
        Transfer,
        {
            "intent": "transfer",
            "receiver_id": "bob.near",
            "tokens": {"nep141:usdc.near": "10"},
            "memo": "APP_FEE",
        },
    ),
    (
        Transfer,
        {
            "intent": "transfer",
            "receiver_id": "pool.near",
            "tokens": {"nep245:mt.near:1": "5", "nep171:nft.near:x": "1"},
            "state_init": {"V1": {"code": {"hash": "abc"}, "data": {}}},
            "msg": "",
            "min_gas": "5000000000000",
        },
    ),
    (
        FtWithdraw,
        {
            "intent": "ft_withdraw",
            "token": "btc.omft.near",
            "receiver_id": "btc.omft.near",
            "amount": "100000",
            "memo": "WITHDRAW_TO:bc1q...",
            "min_gas": "17050000000000",
        },
    ),
    (
        FtWithdraw,
        {
            "intent": "ft_withdraw",
            "token": "usdc.near",
            "receiver_id": "bob.near",
            "amount": "1",
            "msg": "{}",
            "storage_deposit": "1250000000000000000000",
        },
    ),
    (
        NftWithdraw,
        {
            "intent": "nft_withdraw",
            "token": "nft.near",
            "receiver_id": "bob.near",
            "token_id": "token:1",
            "memo": "m",
        },
    ),
    (
        MtWithdraw,
        {
            "intent": "mt_withdraw",
            "token": "v2_1.omni.hot.tg",
            "receiver_id": "v2_1.omni.hot.tg",
            "token_ids": ["137_x", "1117_"],
            "amounts": ["1", "340282366920938463463374607431768211455"],
            "min_gas": "20000000000000",
        },
    ),
    (
        NativeWithdraw,
        {
            "intent": "native_withdraw",
            "receiver_id": "bob.near",
            "amount": "1000000000000000000000000",
        },
    ),
    (
        StorageDeposit,
        {
            "intent": "storage_deposit",
            "contract_id": "usdc.near",
            "deposit_for_account_id": "bob.near",
            "amount": "1250000000000000000000",
        },
    ),
    (
        TokenDiff,
        {
            "intent": "token_diff",
            "diff": {"nep141:usdc.near": "-1000", "nep141:usdt.near": "998"},
            "referral": "my-app.near",
        },
    ),
    (
        TokenDiff,
        {
            "intent": "token_diff",
            "diff": {"nep141:a.near": "-170141183460469231731687303715884105728"},
            "memo": "min i128",
        },
    ),
    (SetAuthByPredecessorId, {"intent": "set_auth_by_predecessor_id", "enabled": False}),
    (
        AuthCall,
        {
            "intent": "auth_call",
            "contract_id": "app.near",
            "msg": '{"action":"x"}',
            "attached_deposit": "1",
            "min_gas": "10000000000000",
        },
    ),
    (AuthCall, {"intent": "auth_call", "contract_id": "app.near", "msg": ""}),
    (
        ImtMint,
        {
            "intent": "imt_mint",
            "receiver_id": "bob.near",
            "tokens": {"gold": "100"},
            "memo": "mint",
            "msg": "hi",
        },
    ),
    (ImtBurn, {"intent": "imt_burn", "minter_id": "minter.near", "tokens": {"gold": "5"}}),
]


@pytest.mark.parametrize(("cls", "wire"), EXAMPLES, ids=lambda v: getattr(v, "__name__", ""))
def test_every_intent_kind_parses_and_round_trips(cls: type, wire: dict[str, Any]) -> None:
    intent = parse_intent(wire)
    assert type(intent) is cls
    assert intent.to_json_dict() == wire
    # Key order is stable, so the JSON text round-trips byte for byte too.
    assert json.dumps(intent.to_json_dict()) == json.dumps(
        parse_intent(intent.to_json_dict()).to_json_dict()
    )
    assert parse_intent(intent.to_json_dict()) == intent
    assert cls.from_json_dict(wire) == intent


def test_all_thirteen_kinds_are_covered() -> None:
    assert len({cls for cls, _ in EXAMPLES}) == 13


def test_python_values_are_ints_and_bytes() -> None:
    diff = parse_intent(EXAMPLES[10][1])
    assert isinstance(diff, TokenDiff)
    assert diff.diff == {"nep141:usdc.near": -1000, "nep141:usdt.near": 998}
    withdraw = parse_intent(EXAMPLES[7][1])
    assert isinstance(withdraw, MtWithdraw)
    assert withdraw.amounts == [1, 2**128 - 1]


def test_storage_deposit_alias_is_read_but_not_written() -> None:
    intent = parse_intent(
        {
            "intent": "storage_deposit",
            "contract_id": "usdc.near",
            "account_id": "bob.near",
            "amount": "1",
        }
    )
    assert isinstance(intent, StorageDeposit)
    assert intent.deposit_for_account_id == "bob.near"
    assert intent.to_json_dict()["deposit_for_account_id"] == "bob.near"
    assert "account_id" not in intent.to_json_dict()
    with pytest.raises(InvalidPayload, match="duplicate field"):
        parse_intent(
            {
                "intent": "storage_deposit",
                "contract_id": "usdc.near",
                "account_id": "bob.near",
                "deposit_for_account_id": "bob.near",
                "amount": "1",
            }
        )


def test_auth_call_zero_deposit_is_the_default_and_not_written() -> None:
    intent = parse_intent(
        {"intent": "auth_call", "contract_id": "a.near", "msg": "m", "attached_deposit": "0"}
    )
    assert isinstance(intent, AuthCall)
    assert intent.attached_deposit == 0
    assert "attached_deposit" not in intent.to_json_dict()


def test_notification_fields_without_msg_are_ignored_on_the_wire() -> None:
    intent = parse_intent(
        {
            "intent": "transfer",
            "receiver_id": "bob.near",
            "tokens": {"nep141:a.near": "1"},
            "min_gas": "1",
            "state_init": {"x": 1},
        }
    )
    assert isinstance(intent, Transfer)
    assert intent.min_gas is None
    assert intent.state_init is None
    assert intent.msg is None
    with pytest.raises(ValidationError, match="only apply together with msg"):
        Transfer(receiver_id="bob.near", tokens={"nep141:a.near": 1}, min_gas=1)


def test_unknown_fields_are_ignored_like_serde() -> None:
    intent = parse_intent(
        {"intent": "native_withdraw", "receiver_id": "bob.near", "amount": "1", "extra": [1]}
    )
    assert intent.to_json_dict() == {
        "intent": "native_withdraw",
        "receiver_id": "bob.near",
        "amount": "1",
    }


def test_null_optionals_are_absent() -> None:
    intent = parse_intent(
        {"intent": "token_diff", "diff": {"nep141:a.near": "1"}, "memo": None, "referral": None}
    )
    assert intent.to_json_dict() == {"intent": "token_diff", "diff": {"nep141:a.near": "1"}}


def test_public_keys_are_checked_and_normalised() -> None:
    bare = ED25519_KEY.removeprefix("ed25519:")
    intent = parse_intent({"intent": "add_public_key", "public_key": bare})
    assert isinstance(intent, AddPublicKey)
    assert intent.public_key == ED25519_KEY
    secp = "secp256k1:" + "2" * 87  # 64 bytes in base58 is 87-88 characters
    for bad in ("rsa:abc", "ed25519:abc", "ed25519:0OIl", secp, ""):
        with pytest.raises(InvalidPayload):
            parse_intent({"intent": "add_public_key", "public_key": bad})


# --- amounts ---------------------------------------------------------------------------------

BAD_AMOUNTS = [
    "01",
    "+5",
    " 5",
    "5 ",
    "1.0",
    "1_000",
    "1e3",
    "",
    "-1",
    "-0",
    "0x10",
    "\uff15",  # a fullwidth digit: int() would take it
    5,
    None,
    True,
]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_bad_u128_amounts_are_rejected(amount: Any) -> None:
    for wire in (
        {"intent": "transfer", "receiver_id": "b.near", "tokens": {"nep141:a.near": amount}},
        {"intent": "native_withdraw", "receiver_id": "b.near", "amount": amount},
        {
            "intent": "mt_withdraw",
            "token": "m.near",
            "receiver_id": "b.near",
            "token_ids": ["1"],
            "amounts": [amount],
        },
    ):
        with pytest.raises(InvalidPayload):
            parse_intent(wire)


@pytest.mark.parametrize("value", ["01", "+5", " 5", "1.0", "1_000", "-0", "--1", "- 1", "", 5])
def test_bad_i128_deltas_are_rejected(value: Any) -> None:
    with pytest.raises(InvalidPayload):
        parse_intent({"intent": "token_diff", "diff": {"nep141:a.near": value}})


def test_amount_ranges() -> None:
    assert parse_u128(str(2**128 - 1)) == 2**128 - 1
    assert parse_i128(str(-(2**127))) == -(2**127)
    assert parse_i128(str(2**127 - 1)) == 2**127 - 1
    for text, parse in (
        (str(2**128), parse_u128),
        (str(2**127), parse_i128),
        (str(-(2**127) - 1), parse_i128),
    ):
        with pytest.raises(ValueError, match="out of range"):
            parse(text)
    with pytest.raises(InvalidPayload):
        parse_intent(
            {
                "intent": "ft_withdraw",
                "token": "a.near",
                "receiver_id": "b.near",
                "amount": "1",
                "min_gas": str(2**64),
            }
        )


def test_python_construction_takes_ints_only() -> None:
    transfer = Transfer(receiver_id="bob.near", tokens={"nep141:usdc.near": 10})
    assert transfer.to_json_dict() == {
        "intent": "transfer",
        "receiver_id": "bob.near",
        "tokens": {"nep141:usdc.near": "10"},
    }
    with pytest.raises(ValidationError):
        Transfer(receiver_id="bob.near", tokens={"nep141:usdc.near": "10"})  # type: ignore[dict-item]
    with pytest.raises(ValidationError):
        Transfer(receiver_id="bob.near", tokens={"nep141:usdc.near": True})
    with pytest.raises(ValidationError):
        Transfer(receiver_id="Bob.near", tokens={})


@pytest.mark.parametrize(
    "wire",
    [
        {"intent": "transfer", "receiver_id": "bob.near", "tokens": {"usdc.near": "1"}},
        {"intent": "transfer", "receiver_id": "bob..near", "tokens": {}},
        {"intent": "transfer", "receiver_id": "bob.near"},
        {"intent": "transfer", "receiver_id": "bob.near", "tokens": []},
        {
            "intent": "ft_withdraw",
            "token": "nep141:usdc.near",
            "receiver_id": "b.near",
            "amount": "1",
        },
        {"intent": "set_auth_by_predecessor_id", "enabled": "true"},
        {"intent": "set_auth_by_predecessor_id", "enabled": 1},
        {"intent": "token_diff", "diff": {"nep141:a.near": "1"}, "referral": "Ref"},
        {"intent": "token_diff", "diff": {"nep141:a.near": "1"}, "memo": 5},
        {"intent": "auth_call", "contract_id": "a.near"},
        {"intent": "transfer_all"},
        {"receiver_id": "bob.near"},
    ],
)
def test_structural_errors_raise_invalid_payload(wire: dict[str, Any]) -> None:
    with pytest.raises(InvalidPayload):
        parse_intent(wire)


def test_error_messages_name_the_field() -> None:
    with pytest.raises(InvalidPayload, match=r"intents\.0\.transfer\.tokens"):
        DefusePayload.from_json_dict(
            {
                "signer_id": "alice.near",
                "verifying_contract": "intents.near",
                "deadline": "2030-01-01T00:00:00Z",
                "nonce": NONCE_B64,
                "intents": [
                    {
                        "intent": "transfer",
                        "receiver_id": "b.near",
                        "tokens": {"nep141:a.near": "01"},
                    }
                ],
            }
        )


# --- DefusePayload ---------------------------------------------------------------------------


def _payload_wire(**overrides: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "signer_id": "alice.near",
        "verifying_contract": "intents.near",
        "deadline": "2025-05-21T10:34:04.254392Z",
        "nonce": NONCE_B64,
        "intents": [wire for _, wire in EXAMPLES],
    }
    wire.update(overrides)
    return wire


def test_payload_round_trip() -> None:
    wire = _payload_wire()
    payload = DefusePayload.from_json_dict(wire)
    assert payload.to_json_dict() == wire
    assert DefusePayload.from_json_dict(payload.to_json_dict()) == payload
    assert payload.deadline == datetime(2025, 5, 21, 10, 34, 4, 254392, tzinfo=UTC)
    assert len(payload.nonce) == 32
    assert decode_nonce(payload.nonce).__class__.__name__ == "VersionedNonce"
    assert json.loads(payload.to_json()) == wire
    assert payload.to_json() == json.dumps(wire, separators=(",", ":"), ensure_ascii=False)


def test_payload_intents_default_to_empty_and_are_always_written() -> None:
    wire = _payload_wire()
    del wire["intents"]
    payload = DefusePayload.from_json_dict(wire)
    assert payload.intents == []
    assert payload.to_json_dict()["intents"] == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"deadline": {"timestamp": 1732035219}},  # legacy form, no longer parsed by the contract
        {"deadline": "2025-05-21 10:34:04Z"},
        {"deadline": "2025-05-21T10:34:04"},
        {"deadline": "2025-05-21T10:34:60Z"},
        {"deadline": "2025-13-21T10:34:04Z"},
        {"deadline": "2025-05-21T10:34:04.1234567890Z"},
        {"deadline": "2025-05-21T10:34:04+24:00"},
        {"nonce": NONCE_B64.rstrip("=")},
        {"nonce": "AAAA"},
        {"nonce": None},
        {"signer_id": "Alice.near"},
        {"verifying_contract": 5},
        {"intents": None},
        {"intents": [{"intent": "bogus"}]},
    ],
)
def test_payload_structural_errors(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidPayload):
        DefusePayload.from_json_dict(_payload_wire(**overrides))


def test_payload_rejects_non_object() -> None:
    with pytest.raises(InvalidPayload):
        DefusePayload.from_json_dict([])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
        ("1970-01-01T10:00:00+04:00", datetime(1970, 1, 1, 6, tzinfo=UTC)),
        ("1970-01-01T10:00:00-02:30", datetime(1970, 1, 1, 12, 30, tzinfo=UTC)),
        ("2026-06-25T13:53:42.123456789Z", datetime(2026, 6, 25, 13, 53, 42, 123456, tzinfo=UTC)),
        ("2026-06-25t13:53:42.5z", datetime(2026, 6, 25, 13, 53, 42, 500000, tzinfo=UTC)),
    ],
)
def test_rfc3339_parsing(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected
    assert parse_rfc3339(text).tzinfo == UTC


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), "1970-01-01T00:00:00Z"),
        (datetime(2025, 7, 30, 12, 57, 16, 264000, tzinfo=UTC), "2025-07-30T12:57:16.264Z"),
        (datetime(2025, 5, 21, 10, 34, 4, 254392, tzinfo=UTC), "2025-05-21T10:34:04.254392Z"),
        (datetime(2025, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))), "2025-01-01T00:00:00Z"),
        (datetime(5, 1, 1, tzinfo=UTC), "0005-01-01T00:00:00Z"),
    ],
)
def test_rfc3339_formatting_like_the_contract(moment: datetime, text: str) -> None:
    assert format_rfc3339(moment) == text


def test_python_deadline_must_be_aware() -> None:
    with pytest.raises(ValidationError):
        DefusePayload(
            signer_id="alice.near",
            verifying_contract="intents.near",
            deadline=datetime(2030, 1, 1),
            nonce=bytes(32),
        )
    with pytest.raises(ValidationError):
        DefusePayload(
            signer_id="alice.near",
            verifying_contract="intents.near",
            deadline=datetime(2030, 1, 1, tzinfo=UTC),
            nonce=bytes(31),
        )


def test_vector_payloads_parse() -> None:
    for case in VECTORS["multipayload_intent_hashes"]["cases"]:
        if case["standard"] == "nep413":
            signed = case["payload"]
            payload = DefusePayload.from_nep413(
                json.loads(signed["message"]), recipient=signed["recipient"], nonce=signed["nonce"]
            )
            assert payload.verifying_contract == "intents.near"
            assert payload.nep413_message_dict() == json.loads(signed["message"])
        else:
            payload = DefusePayload.from_json_dict(json.loads(case["payload"]))
        assert payload.verifying_contract == "intents.near"
        assert DefusePayload.from_json_dict(payload.to_json_dict()) == payload
    erc191 = VECTORS["multipayload_intent_hashes"]["cases"][0]
    payload = DefusePayload.from_json_dict(json.loads(erc191["payload"]))
    (withdraw,) = payload.intents
    assert isinstance(withdraw, FtWithdraw)
    assert withdraw.memo == "café"
    assert withdraw.amount == 100_000_000


def test_from_nep413_takes_raw_nonce_bytes() -> None:
    message = {"signer_id": "alice.near", "deadline": "2030-01-01T00:00:00Z", "intents": []}
    payload = DefusePayload.from_nep413(message, recipient="intents.near", nonce=bytes(range(32)))
    assert payload.nonce == bytes(range(32))
    with pytest.raises(InvalidPayload):
        DefusePayload.from_nep413(message, recipient="Intents", nonce=bytes(32))


# --- hypothesis round trips -------------------------------------------------------------------

labels = st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True)
account_ids = (
    st.lists(labels, min_size=1, max_size=3).map(".".join).filter(lambda s: 2 <= len(s) <= 64)
)
token_ids = st.one_of(
    account_ids.map(lambda a: f"nep141:{a}"),
    st.tuples(account_ids, st.text(max_size=20)).map(lambda t: f"nep245:{t[0]}:{t[1]}"),
    st.tuples(account_ids, st.text(max_size=20)).map(lambda t: f"nep171:{t[0]}:{t[1]}"),
)
u128 = st.integers(min_value=0, max_value=2**128 - 1)
i128 = st.integers(min_value=-(2**127), max_value=2**127 - 1)
memos = st.none() | st.text(max_size=30)

transfers = st.builds(
    Transfer,
    receiver_id=account_ids,
    tokens=st.dictionaries(token_ids, u128, max_size=4),
    memo=memos,
    msg=st.none(),
)
token_diffs = st.builds(
    TokenDiff,
    diff=st.dictionaries(token_ids, i128, max_size=4),
    memo=memos,
    referral=st.none() | account_ids,
)
withdrawals = st.builds(
    FtWithdraw,
    token=account_ids,
    receiver_id=account_ids,
    amount=u128,
    memo=memos,
    msg=memos,
    storage_deposit=st.none() | u128,
    min_gas=st.none() | st.integers(min_value=0, max_value=2**64 - 1),
)
deadlines = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(9999, 12, 30),
    timezones=st.just(UTC),
)
payloads = st.builds(
    DefusePayload,
    signer_id=account_ids,
    verifying_contract=account_ids,
    deadline=deadlines,
    nonce=st.binary(min_size=32, max_size=32),
    intents=st.lists(st.one_of(transfers, token_diffs, withdrawals), max_size=4),
)


@given(payloads)
def test_payload_model_json_model_round_trip(payload: DefusePayload) -> None:
    wire = payload.to_json_dict()
    again = DefusePayload.from_json_dict(json.loads(json.dumps(wire)))
    assert again == payload
    assert again.to_json_dict() == wire
    assert again.to_json() == payload.to_json()


@given(st.one_of(transfers, token_diffs, withdrawals))
def test_intent_amounts_travel_as_strings(intent: Transfer | TokenDiff | FtWithdraw) -> None:
    wire = intent.to_json_dict()
    amounts = wire.get("tokens", wire.get("diff", {"amount": wire.get("amount")}))
    assert all(isinstance(value, str) for value in amounts.values())
    assert parse_intent(wire) == intent


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_u128_text_round_trip(value: int) -> None:
    assert parse_u128(str(value)) == value
    with pytest.raises(ValueError, match="canonical"):
        parse_u128("0" + str(value))
