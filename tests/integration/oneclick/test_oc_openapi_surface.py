"""The served OpenAPI covers the reference spec: every path and method, schema, property,
enum value and query parameter of ``tests/fixtures/openapi-v0.1.10.yaml``."""

import json
from pathlib import Path
from typing import Any

import httpx
import yaml

from oneclick.testing.world import FakeWorld

REFERENCE = Path(__file__).parents[2] / "fixtures" / "openapi-v0.1.10.yaml"
NEWER_PATHS = ["/v0/generate-intent", "/v0/submit-intent", "/v0/any-input/withdrawals"]
# Beyond the reference (SDK 0.1.25's UserAuthService and AccountService): served, documented, and
# outside v0.1.10, so the strict profiles serve them as they are (test_oc_account_profiles.py).
SDK_0_1_25_PATHS = [
    "/v0/auth/authenticate", "/v0/auth/refresh", "/v0/account/balances", "/v0/account/history",
]  # fmt: skip


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        return _resolve(doc["components"]["schemas"][name], doc)
    return schema


def _enum_values(schema: dict[str, Any], doc: dict[str, Any]) -> set[str]:
    schema = _resolve(schema, doc)
    values = set(schema.get("enum", []))
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key, []):
            values |= _enum_values(part, doc)
    if "items" in schema:
        values |= _enum_values(schema["items"], doc)
    return values


def missing_from(ours: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    problems = []
    for path, methods in reference["paths"].items():
        for method, operation in methods.items():
            mine = ours["paths"].get(path, {}).get(method)
            if mine is None:
                problems.append(f"{method.upper()} {path}")
                continue
            names = {p["name"] for p in mine.get("parameters", [])}
            problems += [f"{path} param {p['name']}" for p in operation.get("parameters", [])
                         if p["name"] not in names]  # fmt: skip
            problems += [f"{path} response {code}" for code in operation["responses"]
                         if code not in mine["responses"]]  # fmt: skip
    for name, schema in reference["components"]["schemas"].items():
        mine = ours["components"]["schemas"].get(name)
        if mine is None:
            problems.append(f"schema {name}")
            continue
        for prop, prop_schema in schema.get("properties", {}).items():
            our_prop = mine.get("properties", {}).get(prop)
            if our_prop is None:
                problems.append(f"{name}.{prop}")
                continue
            lost = _enum_values(prop_schema, reference) - _enum_values(our_prop, ours)
            problems += [f"{name}.{prop} enum {value}" for value in sorted(lost)]
        problems += [f"{name} requires {r}" for r in schema.get("required", [])
                     if r not in mine.get("required", [])]  # fmt: skip
    return problems


async def test_served_openapi_covers_the_reference(client: httpx.AsyncClient) -> None:
    reference = yaml.safe_load(REFERENCE.read_text())
    served = (await client.get("/openapi.json")).json()
    assert missing_from(served, reference) == []
    assert all(path in served["paths"] for path in NEWER_PATHS)
    assert all(path in served["paths"] for path in SDK_0_1_25_PATHS)
    assert not set(SDK_0_1_25_PATHS) & set(reference["paths"])  # extensions, not the reference's
    history = served["components"]["schemas"]["HistoryItem"]["properties"]
    assert {"quoteTransactions", "refundFee", "refundFeeFormatted", "refundedAmountUsd"} <= set(
        history
    )
    quote = served["components"]["schemas"]["Quote"]["properties"]
    assert {"refundFee", "withdrawFee", "chainDepositAddresses"} <= set(quote)
    details = served["components"]["schemas"]["SwapDetails"]["properties"]
    assert {"refundReason", "depositedAmount", "depositedAmountUsd", "referral"} <= set(details)
    assert "CONFIDENTIAL_INTENTS" in _enum_values(
        served["components"]["schemas"]["QuoteRequest"]["properties"]["depositType"], served
    )
    assert all("422" not in op["responses"] for p in served["paths"].values() for op in p.values())


async def test_the_diff_catches_a_missing_enum_value(client: httpx.AsyncClient) -> None:
    reference = yaml.safe_load(REFERENCE.read_text())
    served = (await client.get("/openapi.json")).json()
    served["components"]["schemas"]["SwapStatus"]["enum"].remove("REFUNDED")
    del served["components"]["schemas"]["Quote"]["properties"]["depositMemo"]
    problems = missing_from(served, reference)
    assert "GetExecutionStatusResponse.status enum REFUNDED" in problems
    assert "Quote.depositMemo" in problems


async def test_yaml_document_is_the_same_spec(client: httpx.AsyncClient, world: FakeWorld) -> None:
    response = await client.get("/docs/v0/openapi.yaml")
    assert response.status_code == 200
    assert yaml.safe_load(response.text) == json.loads((await client.get("/openapi.json")).text)
