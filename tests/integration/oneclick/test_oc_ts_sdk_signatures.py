"""The official TypeScript SDK's ``verifyQuoteSignature`` accepts our signatures (dry, non-dry
and echoed by /v0/status) and rejects a tampered response."""

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from oc_helpers import quote_request

from oneclick.testing.world import FakeWorld

pytestmark = pytest.mark.slow


async def test_sdk_verifies_our_quote_signatures(
    client: httpx.AsyncClient,
    world: FakeWorld,
    ts_verify_quote: Callable[[dict[str, Any], str], bool],
) -> None:
    key = world.keys.manager_public_key
    dry = (await client.post("/v0/quote", json=quote_request(dry=True, referral="myapp"))).json()
    live = (
        await client.post(
            "/v0/quote",
            json=quote_request(appFees=[{"recipient": "partner.near", "fee": 10}],
                               quoteWaitingTimeMs=500),
        )
    ).json()  # fmt: skip
    echoed = (
        await client.get("/v0/status", params={"depositAddress": live["quote"]["depositAddress"]})
    ).json()["quoteResponse"]
    assert ts_verify_quote(dry, key)
    assert ts_verify_quote(live, key)
    assert ts_verify_quote(echoed, key)

    tampered = copy.deepcopy(live)
    tampered["quote"]["depositAddress"] = "bc1q6mte80265ghwq4vsrpm9lnaz46uvdreu9z8wly"
    assert not ts_verify_quote(tampered, key)
    assert not ts_verify_quote(dry, "ed25519:5J5tkaxyPoR3Q9S8LXfo5bWnXK5Z2bctJ4mB9gENh7co")
