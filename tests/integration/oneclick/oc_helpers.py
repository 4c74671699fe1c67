"""Request builders shared by the oneclick integration tests."""

from typing import Any

import pytest

# Runs a module's tests on SQLite and on PostgreSQL (the ``world`` fixture of conftest.py).
ON_BOTH_DATABASES = pytest.mark.parametrize(
    "world", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

USDT = "nep141:eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near"


def quote_request(**change: Any) -> dict[str, Any]:
    body = {
        "dry": False,
        "swapType": "EXACT_INPUT",
        "slippageTolerance": 100,
        "originAsset": "1cs_v1:btc:native:coin",
        "depositType": "ORIGIN_CHAIN",
        "destinationAsset": USDT,
        "amount": "10000",
        "refundTo": "bc1q6mte80265ghwq4vsrpm9lnaz46uvdreu9z8wly",
        "refundType": "ORIGIN_CHAIN",
        "recipient": "0xcac3C41676deF4FE375E57118f3eB83A99105577",
        "recipientType": "DESTINATION_CHAIN",
        "deadline": "2026-01-01T14:00:00.000Z",
    }
    body.update(change)
    return body
