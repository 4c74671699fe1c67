"""``GET /v0/status/stream`` on the fake world: every transition from PENDING_DEPOSIT to SUCCESS
with no gap, ``Last-Event-ID`` resumption, heartbeats, the end of a stream and its errors."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from oc_engine_kit import Kit, make_kit

from oneclick.api.app import create_app
from oneclick.services.stream import StreamPolicy
from oneclick.store.database import connect_database
from oneclick.store.sql import SqlStore

FAST = StreamPolicy(poll_s=0.01, heartbeat_s=3600, grace_s=0.05, max_s=60)


def parse_sse(text: str) -> list[dict[str, Any]]:
    """The stream's events as the SSE spec reads them (comments kept as ``comment``)."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        event: dict[str, Any] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                event["comment"] = value
            elif name == "data":
                event["data"] = event.get("data", "") + value
            else:
                event[name] = value
        if "data" in event:
            event["data"] = json.loads(event["data"])
        events.append(event)
    return events


async def stream(
    kit: Kit, quote: dict[str, Any], policy: StreamPolicy = FAST, last_id: str | None = None
) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(kit.world.ctx, stream=policy))
    headers = {"Last-Event-ID": last_id} if last_id is not None else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://oc") as client:
        return await client.get(
            "/v0/status/stream", params={"depositAddress": quote["depositAddress"]},
            headers=headers,
        )  # fmt: skip


def statuses(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["id"], e["data"]["status"]) for e in events if e.get("event") == "status"]


async def test_a_swap_is_followed_from_pending_deposit_to_success_with_no_gap(kit: Kit) -> None:
    quote = await kit.quote()
    following = asyncio.create_task(stream(kit, quote))
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    response = await following
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    events = parse_sse(response.text)
    assert events[0] == {"retry": "3000"}
    assert statuses(events) == [("1", "PENDING_DEPOSIT"), ("2", "PROCESSING"), ("3", "SUCCESS")]
    changes = [e["data"]["transition"] for e in events if e.get("event") == "status"]
    assert [(c["seq"], c["from"], c["to"]) for c in changes] == [
        (1, None, "PENDING_DEPOSIT"), (2, "PENDING_DEPOSIT", "PROCESSING"),
        (3, "PROCESSING", "SUCCESS"),
    ]  # fmt: skip
    assert events[-1] == {"event": "end", "data": {"status": "SUCCESS"}}
    last = next(e["data"] for e in reversed(events) if e.get("event") == "status")
    polled = await kit.status(quote)
    for body in (last, polled):
        body.pop("correlationId")
    last.pop("transition")
    assert last == polled  # the same JSON as /v0/status (full profile)


async def test_last_event_id_replays_exactly_what_was_missed(kit: Kit) -> None:
    quote = await kit.quote()
    # The first connection ends while the swap waits (max_s), as a dropped connection would.
    first = await stream(kit, quote, StreamPolicy(poll_s=0.01, heartbeat_s=3600, max_s=0))
    seen = statuses(parse_sse(first.text))
    assert seen == [("1", "PENDING_DEPOSIT")]
    assert "end" not in [e.get("event") for e in parse_sse(first.text)]
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    resumed = await stream(kit, quote, last_id=seen[-1][0])
    assert statuses(parse_sse(resumed.text)) == [("2", "PROCESSING"), ("3", "SUCCESS")]
    again = await stream(kit, quote, last_id="2")
    assert statuses(parse_sse(again.text)) == [("3", "SUCCESS")]
    # A reconnect that missed nothing of a finished swap: 204, so EventSource stops retrying.
    done = await stream(kit, quote, last_id="3")
    assert done.status_code == 204
    assert done.text == ""


async def test_an_idle_stream_sends_heartbeats(kit: Kit) -> None:
    quote = await kit.quote()
    policy = StreamPolicy(poll_s=0.01, heartbeat_s=0.02, max_s=0.2)
    events = parse_sse((await stream(kit, quote, policy)).text)
    assert statuses(events) == [("1", "PENDING_DEPOSIT")]
    assert {"comment": "ping"} in events


async def test_bad_requests_are_4xx_before_any_stream(kit: Kit) -> None:
    quote = await kit.quote()
    for bad in ("-1", "abc", "1.5", "99999999999", "0x1", "1 2"):
        response = await stream(kit, quote, last_id=bad)
        assert response.status_code == 400, bad
        assert "Last-Event-ID" in response.json()["message"]
    missing = await stream(kit, {"depositAddress": "nowhere"})
    assert missing.status_code == 404
    assert missing.json()["message"] == "Deposit address nowhere not found"


@pytest.mark.postgres
async def test_a_stream_follows_changes_made_by_another_process_on_postgres(
    tmp_path: Path, postgres_url: str
) -> None:
    """The API's stream reads through its own connection pool (another process, as far as the
    database can tell) while the worker's connections make the changes."""
    kit = await make_kit(tmp_path, database_url=postgres_url)
    api_db = connect_database(postgres_url)
    try:
        api_ctx = dataclasses.replace(kit.world.ctx, store=SqlStore(api_db))
        quote = await kit.quote()
        transport = httpx.ASGITransport(app=create_app(api_ctx, stream=FAST))
        async with httpx.AsyncClient(transport=transport, base_url="http://oc") as client:
            following = asyncio.create_task(
                client.get("/v0/status/stream", params={"depositAddress": quote["depositAddress"]})
            )
            await kit.deposit(quote, 100_000)
            await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
            events = parse_sse((await following).text)
        assert statuses(events) == [("1", "PENDING_DEPOSIT"), ("2", "PROCESSING"), ("3", "SUCCESS")]
    finally:
        await api_db.dispose()
        await kit.aclose()


async def test_the_stream_is_in_the_served_openapi(kit: Kit) -> None:
    served = (await kit.client.get("/openapi.json")).json()
    operation = served["paths"]["/v0/status/stream"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert {p["name"] for p in operation["parameters"]} == {
        "depositAddress", "depositMemo", "Last-Event-ID",
    }  # fmt: skip
    assert "security" not in operation  # no auth: the deposit address is the capability
