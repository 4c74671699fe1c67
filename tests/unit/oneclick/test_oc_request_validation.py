"""Each rule of a quote request, one failing example per rule (the API maps these to 400)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from oneclick.domain.errors import RequestError
from oneclick.domain.quotes import SwapType
from oneclick.domain.requests import QuoteInput, validate_quote_request
from oneclick.testing import sample_registry

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
USDT = "nep141:eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near"
GOOD = QuoteInput(
    dry=True,
    swap_type="EXACT_INPUT",
    slippage_tolerance=100,
    origin_asset="1cs_v1:btc:native:coin",
    deposit_type="ORIGIN_CHAIN",
    destination_asset=USDT,
    amount="10000",
    refund_to="bc1q6mte80265ghwq4vsrpm9lnaz46uvdreu9z8wly",
    refund_type="ORIGIN_CHAIN",
    recipient="0xcac3C41676deF4FE375E57118f3eB83A99105577",
    recipient_type="DESTINATION_CHAIN",
    deadline="2026-01-01T13:00:00Z",
)


def check(raw: QuoteInput):
    return validate_quote_request(
        raw,
        sample_registry(),
        now=NOW,
        min_deadline=timedelta(seconds=60),
        max_deadline=timedelta(hours=24),
    )


def test_a_deadline_exactly_at_the_maximum_is_accepted() -> None:
    spec = check(replace(GOOD, deadline="2026-01-02T12:00:00Z"))
    assert spec.deadline == NOW + timedelta(hours=24)


def test_a_same_asset_request_validates() -> None:
    """A chain deposit delivered inside Intents (or back out): no swap, the asset's own id."""
    spec = check(replace(GOOD, destination_asset="nep141:btc.omft.near", recipient_type="INTENTS",
                         recipient="bob.near"))  # fmt: skip
    assert spec.origin == spec.destination


def test_a_good_request_validates() -> None:
    spec = check(GOOD)
    assert spec.origin.asset_id == "nep141:btc.omft.near"
    assert spec.amount == 10000
    assert spec.swap_type is SwapType.EXACT_INPUT


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"origin_asset": "nep141:nope.near"}, "originAsset .* is not a supported asset"),
        ({"destination_asset": "1cs_v1:eth:erc20:0x0000000000000000000000000000000000000001"},
         "destinationAsset .* not a supported asset"),
        ({"origin_asset": "garbage"}, "not a valid asset id"),
        ({"destination_asset": "1cs_v1:btc:native:coin", "swap_type": "EXACT_OUTPUT"},
         "must be EXACT_INPUT or FLEX_INPUT"),
        ({"origin_asset": "1cs:any"}, "ANY_INPUT"),
        ({"swap_type": "ANY_INPUT"}, "ANY_INPUT is not supported"),
        ({"deposit_type": "CONFIDENTIAL_INTENTS"}, "CONFIDENTIAL_INTENTS is not supported"),
        ({"refund_type": "CONFIDENTIAL_INTENTS"}, "CONFIDENTIAL_INTENTS is not supported"),
        ({"recipient_type": "CONFIDENTIAL_INTENTS"}, "CONFIDENTIAL_INTENTS is not supported"),
        ({"amount": "01"}, "positive integer string"),
        ({"amount": "0"}, "positive integer string"),
        ({"amount": "1.5"}, "positive integer string"),
        ({"amount": "999"}, "below the minimum deposit"),
        ({"slippage_tolerance": -1}, "between 0 and 10000"),
        ({"slippage_tolerance": 10_001}, "between 0 and 10000"),
        ({"deadline": "2025-12-31T00:00:00Z"}, "at least 60 seconds"),
        ({"deadline": "2026-01-01T12:00:30Z"}, "at least 60 seconds"),
        ({"deadline": "2099-01-01T00:00:00Z"}, "at most 86400 seconds"),
        ({"deadline": "2026-01-02T12:00:01Z"}, "at most 86400 seconds"),
        ({"deadline": "tomorrow"}, "ISO-8601"),
        ({"deadline": "2026-01-01T13:00:00"}, "ISO-8601"),
        ({"recipient": "0xcac3C41676deF4FE375E57118f3eB83A99105578"}, "not a valid eth address"),
        ({"recipient": "alice.near"}, "not a valid eth address"),
        ({"recipient_type": "INTENTS", "recipient": "Not An Account"}, "NEAR Intents account"),
        ({"refund_to": "0xcac3C41676deF4FE375E57118f3eB83A99105577"}, "not a valid btc address"),
        ({"refund_type": "INTENTS", "refund_to": "0xcac3C41676deF4FE375E57118f3eB83A99105577"},
         "NEAR Intents account"),
        ({"deposit_mode": "MEMO"}, "MEMO is only available"),
        ({"app_fees": (("fees.near", 501),)}, "between 0 and 500"),
        ({"app_fees": (("Bad Account", 10),)}, "appFees recipient"),
        ({"referral": "MyApp"}, "lowercase"),
        ({"quote_waiting_time_ms": 60_001}, "quoteWaitingTimeMs"),
        ({"virtual_chain_recipient": "nope"}, "EVM address"),
        ({"swap_type": "SOMETHING"}, "swapType must be one of"),
    ],
)  # fmt: skip
def test_each_rule_has_a_clear_message(change: dict, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        check(replace(GOOD, **change))


def test_memo_mode_is_accepted_on_a_memo_chain() -> None:
    raw = replace(
        GOOD,
        origin_asset="nep141:stellar.omft.near",
        refund_to="GAHK7EEG2WWHVKDNT4CEQFZGKF2LGDSW2IVM4S5DP42RBW3K6BTODB4A",
        deposit_mode="MEMO",
        amount="100000000",
    )
    assert check(raw).deposit_mode.value == "MEMO"


def test_intents_types_take_account_ids_and_fees_are_kept() -> None:
    raw = replace(
        GOOD,
        deposit_type="INTENTS",
        recipient_type="INTENTS",
        recipient="alice.near",
        refund_type="INTENTS",
        refund_to="5880ad2b362620fadf759cbceb1cd5737ce8c6ed7fb8e9942881e6731f9247dd",
        app_fees=(("partner.near", 25),),
        referral="myapp",
    )
    spec = check(raw)
    assert [(f.recipient, f.bps) for f in spec.app_fees] == [("partner.near", 25)]
    assert spec.referral == "myapp"
