"""NEAR-native paths not carried end to end are refused at quote time with a clear 400 (issue 16
step 1); the paths that work stay open (since issue 16's NEAR chain: any NEP-141 payout)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nearintents.keys import Ed25519SecretKey
from oneclick.domain.errors import RequestError
from oneclick.domain.near_paths import refuse_stranding_near_paths
from oneclick.domain.requests import QuoteInput, validate_quote_request
from oneclick.testing import sample_registry

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
USDT = "nep141:eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near"
WNEAR = "nep141:wrap.near"
BTC = "1cs_v1:btc:native:coin"
BTC_ADDRESS = "bc1q6mte80265ghwq4vsrpm9lnaz46uvdreu9z8wly"
EVM = "0xcac3C41676deF4FE375E57118f3eB83A99105577"
BASE = QuoteInput(
    dry=False, swap_type="EXACT_INPUT", slippage_tolerance=100, origin_asset=BTC,
    deposit_type="ORIGIN_CHAIN", destination_asset=USDT, amount="10000", refund_to=BTC_ADDRESS,
    refund_type="ORIGIN_CHAIN", recipient=EVM, recipient_type="DESTINATION_CHAIN",
    deadline="2026-01-01T13:00:00Z",
)  # fmt: skip


def _check(near_payouts: bool = False, near_deposits: bool = False, **change: object) -> None:
    spec = validate_quote_request(
        replace(BASE, **change), sample_registry(), now=NOW, min_deadline=timedelta(seconds=60)
    )
    refuse_stranding_near_paths(spec, near_payouts=near_payouts, near_deposits=near_deposits)


NEAR_ORIGIN = {"origin_asset": WNEAR, "amount": str(10**24), "refund_to": "bob.near"}
NEAR_DESTINATION = {"destination_asset": WNEAR, "recipient": "bob.near"}
USDC_NEAR = "nep141:17208628f84f5d6ad33f0da3bbbeb27ffcb398eac501a31bd6ad2011e36133a1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({**NEAR_ORIGIN, "refund_type": "INTENTS"},
         "depositType ORIGIN_CHAIN is not supported by this service for the NEAR-native "
         "originAsset nep141:wrap.near: deposits on NEAR are not credited without a NEAR "
         "operator account; use depositType INTENTS"),
        ({**NEAR_ORIGIN, "refund_type": "INTENTS", "near_payouts": True},
         "depositType ORIGIN_CHAIN is not supported by this service"),
        (NEAR_DESTINATION,
         "recipientType DESTINATION_CHAIN is not supported by this service for the NEAR-native "
         "asset nep141:wrap.near: delivery to a NEAR account cannot be confirmed; "
         "use recipientType INTENTS"),
        ({**NEAR_ORIGIN, "deposit_type": "INTENTS"},
         "refundType ORIGIN_CHAIN is not supported by this service .*use refundType INTENTS"),
    ],
)  # fmt: skip
def test_paths_that_would_strand_funds_are_refused(change: dict, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        _check(**change)


@pytest.mark.parametrize(
    "change",
    [
        {},  # nothing NEAR-native
        {**NEAR_ORIGIN, "deposit_type": "INTENTS", "refund_type": "INTENTS"},
        {**NEAR_DESTINATION, "recipient_type": "INTENTS"},
        # wNEAR is delivered as native NEAR once deliveries can be confirmed
        {**NEAR_DESTINATION, "near_payouts": True},
        {**NEAR_ORIGIN, "deposit_type": "INTENTS", "near_payouts": True},
        # any NEP-141 goes out as ft_withdraw (its NEP-145 registration is checked when quoting)
        {"destination_asset": USDC_NEAR, "recipient": "bob.near", "near_payouts": True},
        {**NEAR_DESTINATION, "custom_recipient_msg": "take-my-money", "near_payouts": True},
        # an operator account moves NEAR-native deposits into the verifier
        {**NEAR_ORIGIN, "refund_type": "INTENTS", "near_deposits": True},
    ],
)
def test_paths_that_work_stay_open(change: dict) -> None:
    _check(**change)


def test_the_api_quotes_near_paths_from_configuration_without_the_operator_key(
    tmp_path: Path,
) -> None:
    """One key, ``near.relayer_account``, for both the execution proof (issue 12) and NEAR
    payouts; NEAR deposits open when an operator account and its key are configured. The API
    never holds the master secret, so it reads the operator from the policy, not the signer."""
    from oneclick.bootstrap import policy_from_settings
    from oneclick.config import load_settings

    toml = tmp_path / "oneclick.toml"
    toml.write_text('[near]\nrelayer_account = "relay.near"\noperator_account_id = "op.near"\n')
    settings = load_settings(toml)
    policy = policy_from_settings(settings)
    assert policy.near_relayer_account == "relay.near"
    assert policy.near_operator_account is None  # no key: NEAR deposits stay refused
    key = Ed25519SecretKey.generate().to_near_string()
    toml.write_text(toml.read_text() + f'operator_key = "{key}"\n')
    policy = policy_from_settings(load_settings(toml))
    assert policy.near_operator_account == "op.near"
    assert key not in repr(policy)
