"""HttpPoaBridge against a real local server answering like PROTOCOL.md §4."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nearintents.rpc import (
    DepositMode,
    DepositStatus,
    HttpPoaBridge,
    RpcMalformedResponse,
    RpcServerError,
    RpcTimeout,
    WithdrawalsNotFound,
    WithdrawalStatus,
)

ACCOUNT = "f78594616cfa70a81f27f2a0f69938789a36c8c8891e26b1acdec732bbd1d171"
TOKEN = {
    "defuse_asset_identifier": "eth:42161:0xaf88d065e77c8cc2239327c5edb3a432268e5831",
    "near_token_id": "arb-0xaf88d065e77c8cc2239327c5edb3a432268e5831.omft.near",
    "intents_token_id": "nep141:arb-0xaf88d065e77c8cc2239327c5edb3a432268e5831.omft.near",
    "standard": "nep141",
    "asset_name": "USDC",
    "decimals": 6,
    "min_deposit_amount": "1",
    "min_withdrawal_amount": "1000000",
    "withdrawal_fee": "200000",
}
DEPOSIT = {
    "tx_hash": "0x" + "ab" * 32,
    "mint_tx_hash": "8LKE47o44ybZQR9ozLyDnvMDTh4Ao5ipy2mJWsYByG5Q",
    "chain": "eth:42161",
    "defuse_asset_identifier": TOKEN["defuse_asset_identifier"],
    "near_token_id": TOKEN["near_token_id"],
    "decimals": 6,
    "amount": "25000000",
    "account_id": ACCOUNT,
    "address": "0x76b4c56085ED136a8744D52bE956396624a730E8",
    "status": "COMPLETED",
    "created_at": "2025-05-21T10:34:04Z",
    "from": "0x1111111111111111111111111111111111111111",
}
WITHDRAWAL_DATA = {
    "tx_hash": "8LKE47o44ybZQR9ozLyDnvMDTh4Ao5ipy2mJWsYByG5Q",
    "transfer_tx_hash": "0x" + "cd" * 32,
    "chain": "eth:42161",
    "defuse_asset_identifier": TOKEN["defuse_asset_identifier"],
    "near_token_id": TOKEN["near_token_id"],
    "decimals": 6,
    "amount": "5000000",
    "account_id": ACCOUNT,
    "address": "0x2222222222222222222222222222222222222222",
    "created_at": "2025-05-21T10:40:00Z",
    "withdrawal_fee": "200000",
    "withdraw_amount": "4800000",
}


def params(rpc_server, method):
    (body,) = rpc_server.calls(method)
    (only,) = body["params"]  # the bridge takes a one-element array
    return only


# --- tokens and addresses ---


async def test_supported_tokens(rpc_server):
    rpc_server.result("supported_tokens", {"tokens": [TOKEN]})
    async with HttpPoaBridge(rpc_server.url) as bridge:
        (token,) = await bridge.supported_tokens(["eth:42161", "btc:mainnet"])
    assert token.intents_token_id == TOKEN["intents_token_id"]
    assert (token.decimals, token.min_withdrawal_amount, token.withdrawal_fee) == (
        6,
        1_000_000,
        200_000,
    )
    assert token.multi_token_id is None
    assert params(rpc_server, "supported_tokens") == {"chains": ["eth:42161", "btc:mainnet"]}


async def test_supported_tokens_without_a_filter_sends_empty_params(rpc_server):
    rpc_server.result("supported_tokens", {"tokens": []})
    async with HttpPoaBridge(rpc_server.url) as bridge:
        assert await bridge.supported_tokens() == []
    assert params(rpc_server, "supported_tokens") == {}


async def test_supported_tokens_with_a_float_fee_is_malformed(rpc_server):
    rpc_server.result("supported_tokens", {"tokens": [{**TOKEN, "withdrawal_fee": 0.2}]})
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(RpcMalformedResponse):
            await bridge.supported_tokens()


async def test_deposit_address_for_the_documented_example(rpc_server):
    rpc_server.result("deposit_address", {"address": "0x76b4c560", "chain": "eth:42161"})
    async with HttpPoaBridge(rpc_server.url) as bridge:
        address = await bridge.deposit_address("user.near", "eth:42161")
    assert (address.address, address.chain, address.memo) == ("0x76b4c560", "eth:42161", None)
    assert params(rpc_server, "deposit_address") == {
        "account_id": "user.near",
        "chain": "eth:42161",
    }


async def test_deposit_address_in_memo_mode(rpc_server):
    rpc_server.result(
        "deposit_address", {"address": "GABC", "chain": "stellar:mainnet", "memo": "123456"}
    )
    async with HttpPoaBridge(rpc_server.url) as bridge:
        address = await bridge.deposit_address(ACCOUNT, "stellar:mainnet", DepositMode.MEMO)
    assert address.memo == "123456"
    assert params(rpc_server, "deposit_address")["deposit_mode"] == "MEMO"


async def test_deposit_address_in_memo_mode_without_a_memo_is_malformed(rpc_server):
    rpc_server.result("deposit_address", {"address": "GABC", "chain": "stellar:mainnet"})
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(RpcMalformedResponse, match="memo"):
            await bridge.deposit_address(ACCOUNT, "stellar:mainnet", DepositMode.MEMO)


async def test_deposit_address_for_another_chain_is_malformed(rpc_server):
    rpc_server.result("deposit_address", {"address": "bc1q", "chain": "btc:mainnet"})
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(RpcMalformedResponse, match="chain"):
            await bridge.deposit_address(ACCOUNT, "eth:1")


@pytest.mark.parametrize("chain", ["eth", "ETH:1", "eth:", ":1", "eth: 1", "Not A Chain"])
async def test_a_malformed_chain_id_is_refused_before_sending(rpc_server, chain):
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(ValueError, match="not a bridge chain id"):
            await bridge.deposit_address(ACCOUNT, chain)
    assert rpc_server.received == []


async def test_bridge_errors_are_plain_strings(rpc_server):
    rpc_server.error("deposit_address", "unsupported chain")
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(RpcServerError) as caught:
            await bridge.deposit_address(ACCOUNT, "eth:999")
    assert caught.value.message == "unsupported chain"
    assert not caught.value.retryable


async def test_api_key_headers_reach_the_bridge(rpc_server):
    rpc_server.result("supported_tokens", {"tokens": []})
    async with HttpPoaBridge(rpc_server.url, api_key="secret") as bridge:
        await bridge.supported_tokens()
    assert rpc_server.last.headers["authorization"] == "Bearer secret"
    assert rpc_server.last.headers["x-api-key"] == "secret"


# --- deposits ---


async def test_recent_deposits_parses_amounts_and_statuses(rpc_server):
    sol = {**DEPOSIT, "tx_hash": "", "chain": "sol:mainnet", "amount": 7, "status": "PENDING"}
    answer = {"deposits": [DEPOSIT, sol], "total": 2, "limit": 20, "offset": 0}
    rpc_server.result("recent_deposits", answer)
    async with HttpPoaBridge(rpc_server.url) as bridge:
        page = await bridge.recent_deposits(
            ACCOUNT, chain="eth:42161", status=DepositStatus.COMPLETED, limit=20, offset=0
        )
    first, second = page.deposits
    assert first.amount == 25_000_000
    assert first.status is DepositStatus.COMPLETED
    assert first.from_address == DEPOSIT["from"]
    assert first.created_at == datetime(2025, 5, 21, 10, 34, 4, tzinfo=UTC)
    assert second.amount == 7
    assert second.tx_hash == ""
    assert second.status is DepositStatus.PENDING
    assert (page.total, page.limit, page.offset) == (2, 20, 0)
    assert params(rpc_server, "recent_deposits") == {
        "account_id": ACCOUNT,
        "chain": "eth:42161",
        "status": "COMPLETED",
        "limit": 20,
        "offset": 0,
    }


async def test_recent_deposits_reads_a_naive_timestamp_as_utc(rpc_server):
    deposit = {**DEPOSIT, "created_at": "2025-05-21T10:34:04"}
    rpc_server.result(
        "recent_deposits", {"deposits": [deposit], "total": 1, "limit": 20, "offset": 0}
    )
    async with HttpPoaBridge(rpc_server.url) as bridge:
        page = await bridge.recent_deposits(ACCOUNT)
    assert page.deposits[0].created_at == datetime(2025, 5, 21, 10, 34, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    "deposit",
    [
        {**DEPOSIT, "status": "DONE"},
        {**DEPOSIT, "amount": "1.5"},
        {**DEPOSIT, "amount": -1},
        {**DEPOSIT, "account_id": "someone.near"},  # not the account asked about
    ],
)
async def test_recent_deposits_that_do_not_validate_are_malformed(rpc_server, deposit):
    rpc_server.result(
        "recent_deposits", {"deposits": [deposit], "total": 1, "limit": 20, "offset": 0}
    )
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(RpcMalformedResponse):
            await bridge.recent_deposits(ACCOUNT)


@pytest.mark.parametrize(("limit", "offset"), [(0, None), (101, None), (None, -1)])
async def test_recent_deposits_paging_is_checked(rpc_server, limit, offset):
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(ValueError, match=r"limit|offset"):
            await bridge.recent_deposits(ACCOUNT, limit=limit, offset=offset)


async def test_notify_deposit(rpc_server):
    rpc_server.result("notify_deposit", {})
    async with HttpPoaBridge(rpc_server.url) as bridge:
        assert await bridge.notify_deposit("eth:1", "0xabc", "0xdef") is None
        await bridge.notify_deposit(
            "near:mainnet", ACCOUNT, "8LKE47o4", near_sender_account="alice.near"
        )
        await bridge.notify_deposit("stellar:mainnet", "GABC", "tx", memo="123")
    first, second, third = (c["params"][0] for c in rpc_server.calls("notify_deposit"))
    assert first == {"chain": "eth:1", "deposit_address": "0xabc", "tx_hash": "0xdef"}
    assert second["near_sender_account"] == "alice.near"
    assert third["memo"] == "123"


async def test_notify_deposit_checks_chain_specific_fields(rpc_server):
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(ValueError, match="near_sender_account"):
            await bridge.notify_deposit("near:mainnet", ACCOUNT, "tx")
        with pytest.raises(ValueError, match="memo"):
            await bridge.notify_deposit("stellar:mainnet", "GABC", "tx", memo="x" * 33)
    assert rpc_server.received == []


async def test_notify_deposit_with_a_non_object_result_is_malformed(rpc_server):
    rpc_server.result("notify_deposit", "ok")
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(RpcMalformedResponse):
            await bridge.notify_deposit("eth:1", "0xabc", "0xdef")


# --- withdrawals ---


async def test_withdrawal_status_in_the_documented_single_shape(rpc_server):
    rpc_server.result("withdrawal_status", {"status": "COMPLETED", "data": WITHDRAWAL_DATA})
    async with HttpPoaBridge(rpc_server.url) as bridge:
        (withdrawal,) = await bridge.withdrawal_status(WITHDRAWAL_DATA["tx_hash"])
    assert withdrawal.status is WithdrawalStatus.COMPLETED
    assert withdrawal.data is not None
    assert withdrawal.data.transfer_tx_hash == WITHDRAWAL_DATA["transfer_tx_hash"]
    assert (withdrawal.data.withdrawal_fee, withdrawal.data.withdraw_amount) == (200_000, 4_800_000)
    assert params(rpc_server, "withdrawal_status") == {
        "withdrawal_hash": WITHDRAWAL_DATA["tx_hash"]
    }


async def test_withdrawal_status_in_the_sdk_list_shape(rpc_server):
    sdk_data = {k: v for k, v in WITHDRAWAL_DATA.items() if k != "created_at"}
    pending = {
        **sdk_data,
        "transfer_tx_hash": None,
        "amount": 5000000,
        "created": "2025-05-21T10:40:00Z",
    }
    answer = {"withdrawals": [{"status": "PENDING", "data": pending}]}
    rpc_server.result("withdrawal_status", answer)
    async with HttpPoaBridge(rpc_server.url) as bridge:
        (withdrawal,) = await bridge.withdrawal_status("hash")
    assert withdrawal.status is WithdrawalStatus.PENDING
    assert withdrawal.data is not None
    assert withdrawal.data.transfer_tx_hash is None
    assert withdrawal.data.amount == 5_000_000
    assert withdrawal.data.created == datetime(2025, 5, 21, 10, 40, tzinfo=UTC)


async def test_withdrawal_status_not_found_without_data(rpc_server):
    rpc_server.result("withdrawal_status", {"status": "NOT_FOUND"})
    async with HttpPoaBridge(rpc_server.url) as bridge:
        (withdrawal,) = await bridge.withdrawal_status("hash")
    assert withdrawal.status is WithdrawalStatus.NOT_FOUND
    assert withdrawal.data is None


async def test_withdrawals_not_found_is_its_own_retryable_error(rpc_server):
    # The real bridge's answer for a burn it has not indexed yet: a bare-string JSON-RPC error
    # (sdk-monorepo internal-utils/src/poaBridge/waitForWithdrawalCompletion.ts retries it).
    rpc_server.error("withdrawal_status", "Withdrawals not found")
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(WithdrawalsNotFound) as caught:
            await bridge.withdrawal_status("hash")
    assert caught.value.retryable


async def test_other_withdrawal_status_errors_stay_plain_server_errors(rpc_server):
    rpc_server.error("withdrawal_status", "Withdrawals not found for this account, ever")
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(RpcServerError) as caught:
            await bridge.withdrawal_status("hash")
    assert not isinstance(caught.value, WithdrawalsNotFound)
    assert not caught.value.retryable


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "COMPLETED", "data": {**WITHDRAWAL_DATA, "transfer_tx_hash": None}},
        {"status": "SENT", "data": WITHDRAWAL_DATA},
        {"withdrawals": {"status": "PENDING"}},
        {"data": WITHDRAWAL_DATA},
    ],
)
async def test_withdrawal_status_answers_that_do_not_validate_are_malformed(rpc_server, answer):
    rpc_server.result("withdrawal_status", answer)
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(RpcMalformedResponse):
            await bridge.withdrawal_status("hash")


async def test_recent_withdrawals(rpc_server):
    answer = {"withdrawals": [{"status": "RETURNED", "data": WITHDRAWAL_DATA}]}
    rpc_server.result("recent_withdrawals", answer)
    async with HttpPoaBridge(rpc_server.url) as bridge:
        (withdrawal,) = await bridge.recent_withdrawals(ACCOUNT, chain="eth:42161")
    assert withdrawal.status is WithdrawalStatus.RETURNED
    assert params(rpc_server, "recent_withdrawals") == {"account_id": ACCOUNT, "chain": "eth:42161"}


async def test_withdrawal_estimate(rpc_server):
    answer = {
        "tokenAddress": "0xaf88d065e77c8cc2239327c5edb3a432268e5831",
        "userAddress": "0x2222",
        "withdrawalFee": "200000",
        "withdrawalFeeDecimals": 6,
        "token": TOKEN,
    }
    rpc_server.result("withdrawal_estimate", answer)
    async with HttpPoaBridge(rpc_server.url) as bridge:
        estimate = await bridge.withdrawal_estimate("eth:42161", TOKEN["near_token_id"], "0x2222")
    assert (estimate.withdrawal_fee, estimate.withdrawal_fee_decimals) == (200_000, 6)
    assert estimate.token_address == answer["tokenAddress"]
    assert estimate.token["asset_name"] == "USDC"
    assert params(rpc_server, "withdrawal_estimate") == {
        "chain": "eth:42161",
        "token": TOKEN["near_token_id"],
        "address": "0x2222",
    }


async def test_a_slow_bridge_times_out(rpc_server):
    rpc_server.hang("recent_deposits")
    async with HttpPoaBridge(rpc_server.url, timeout=0.2) as bridge:
        with pytest.raises(RpcTimeout):
            await bridge.recent_deposits(ACCOUNT)


async def test_a_bridge_answer_that_is_not_json_is_malformed(rpc_server):
    rpc_server.raw("supported_tokens", b"<!doctype html>maintenance", media_type="text/html")
    async with HttpPoaBridge(rpc_server.url) as bridge:
        with pytest.raises(RpcMalformedResponse):
            await bridge.supported_tokens()
