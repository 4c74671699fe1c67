import itertools

import pytest

from oneclick.domain.errors import PermanentError, RequestError
from oneclick.domain.swaps import (
    TERMINAL,
    TRANSITIONS,
    SwapStatus,
    after_deposit_submitted,
    can_transition,
    check_transition,
)
from oneclick.testing import sample_registry

USDT = "nep141:eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near"


@pytest.mark.parametrize(
    "text",
    [
        USDT,
        "1cs_v1:eth:erc20:0xdAC17F958D2ee523a2206206994597C13D831ec7",
        "1cs_v1:eth:erc20:0xdac17f958d2ee523a2206206994597c13d831ec7",
    ],
)
def test_both_id_forms_resolve_to_one_asset(text: str) -> None:
    assert sample_registry().resolve(text, what="originAsset").asset_id == USDT


@pytest.mark.parametrize(
    ("text", "message"),
    [("nep141:unknown.near", "not a supported asset"), ("1cs_v1:btc", "not a valid asset id"),
     ("1cs:any", "ANY_INPUT"), ("", "must be an asset id")],
)  # fmt: skip
def test_unknown_assets(text: str, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        sample_registry().resolve(text, what="originAsset")


EXPECTED = {
    ("PENDING_DEPOSIT", "KNOWN_DEPOSIT_TX"), ("PENDING_DEPOSIT", "INCOMPLETE_DEPOSIT"),
    ("PENDING_DEPOSIT", "PROCESSING"), ("PENDING_DEPOSIT", "REFUNDED"),
    ("PENDING_DEPOSIT", "FAILED"),
    ("KNOWN_DEPOSIT_TX", "INCOMPLETE_DEPOSIT"), ("KNOWN_DEPOSIT_TX", "PROCESSING"),
    ("KNOWN_DEPOSIT_TX", "REFUNDED"), ("KNOWN_DEPOSIT_TX", "FAILED"),
    ("INCOMPLETE_DEPOSIT", "PROCESSING"), ("INCOMPLETE_DEPOSIT", "REFUNDED"),
    ("INCOMPLETE_DEPOSIT", "FAILED"),
    ("PROCESSING", "SUCCESS"), ("PROCESSING", "REFUNDED"), ("PROCESSING", "FAILED"),
}  # fmt: skip


@pytest.mark.parametrize(("a", "b"), list(itertools.product(SwapStatus, SwapStatus)))
def test_transition_table_exhaustively(a: SwapStatus, b: SwapStatus) -> None:
    allowed = (a.value, b.value) in EXPECTED
    assert can_transition(a, b) is allowed
    if not allowed:
        with pytest.raises(PermanentError):
            check_transition(a, b)


def test_terminal_states_have_no_exit_and_every_status_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(SwapStatus)
    assert all(not TRANSITIONS[s] for s in TERMINAL)
    assert after_deposit_submitted(SwapStatus.PENDING_DEPOSIT) is SwapStatus.KNOWN_DEPOSIT_TX
    assert after_deposit_submitted(SwapStatus.PROCESSING) is SwapStatus.PROCESSING
