"""Typed errors in the ``full`` profile: every 4xx keeps ``message`` and adds a ``code`` from
the closed ``ErrorCode`` set, with parameters where they exist; the strict profiles strip them."""

import httpx
from oc_helpers import quote_request

from oneclick.domain.engine import RefundReason
from oneclick.domain.errors import ErrorCode
from oneclick.testing.world import FakeWorld

WNEAR = "nep141:wrap.near"
USDT = "nep141:eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near"


def _tiny(amount: str) -> dict[str, object]:
    return quote_request(
        dry=True, originAsset=WNEAR, depositType="INTENTS", amount=amount,
        refundType="INTENTS", refundTo="alice.near", recipientType="INTENTS", recipient="bob.near",
    )  # fmt: skip


async def test_a_minimum_deposit_is_a_code_with_its_minimum(client: httpx.AsyncClient) -> None:
    response = await client.post("/v0/quote", json=quote_request(amount="999"))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "AMOUNT_TOO_LOW"
    assert body["minAmountIn"] == "1000"
    assert "below the minimum deposit of 1000" in body["message"]


async def test_a_solver_minimum_is_the_least_amount_that_quotes(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    refused = await client.post("/v0/quote", json=_tiny("1000"))
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["code"] == "AMOUNT_TOO_LOW"
    least = int(body["minAmountIn"])
    assert least > 1000
    # The relay's minimum is net of our fees: the reported amount is the least whose solver ask
    # reaches it, so one unit less reports the same minimum, and asking for it never yields a
    # lower one (the relay may still refuse by a unit once its own fee rounds the output).
    at_least = (await client.post("/v0/quote", json=_tiny(str(least)))).json()
    assert at_least["code"] == "AMOUNT_TOO_LOW"
    assert int(at_least.get("minAmountIn", least)) >= least
    below = await client.post("/v0/quote", json=_tiny(str(least - 1)))
    assert below.json()["minAmountIn"] == str(least)  # the minimum, exactly
    assert (await client.post("/v0/quote", json=_tiny(str(least * 1000)))).status_code == 200


async def test_other_errors_carry_their_class_code(client: httpx.AsyncClient) -> None:
    cases = [
        (client.get("/v0/status", params={"depositAddress": "0xabc"}), 404, "NOT_FOUND"),
        (client.get("/v0/status"), 400, "INVALID_REQUEST"),
        (client.post("/v0/quote", json=quote_request(slippageTolerance=-1)), 400,
         "INVALID_REQUEST"),
        (client.post("/v0/quote", json=quote_request(), headers={"Authorization": "Bearer x"}),
         401, "UNAUTHORIZED"),
    ]  # fmt: skip
    for call, status, code in cases:
        response = await call
        assert response.status_code == status
        assert response.json()["code"] == code
        assert response.json()["message"]
    assert {c.value for c in ErrorCode} >= {"AMOUNT_TOO_LOW", "NO_QUOTE", "INVALID_REQUEST"}


async def test_strict_profiles_strip_the_code_and_parameters(client: httpx.AsyncClient) -> None:
    strict = {"X-OneClick-Compat": "v0.1.10-strict"}
    response = await client.post("/v0/quote", json=quote_request(amount="999"), headers=strict)
    assert response.status_code == 400
    assert set(response.json()) == {"message"}
    # rust-v0 keeps unknown fields (serde ignores them), as it keeps correlationId
    rust = {"X-OneClick-Compat": "rust-v0"}
    response = await client.post("/v0/quote", json=quote_request(amount="999"), headers=rust)
    assert response.json()["code"] == "AMOUNT_TOO_LOW"


async def test_refund_reasons_are_a_documented_closed_set(client: httpx.AsyncClient) -> None:
    served = (await client.get("/openapi.json")).json()
    schema = served["components"]["schemas"]["SwapDetails"]["properties"]["refundReason"]
    refs = [part.get("$ref", "") for part in schema.get("anyOf", [schema])]
    name = next(ref.split("/")[-1] for ref in refs if ref)
    assert set(served["components"]["schemas"][name]["enum"]) == {r.value for r in RefundReason}
