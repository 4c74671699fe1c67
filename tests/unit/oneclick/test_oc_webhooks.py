"""Partner webhooks: the signature and schedule (pure), the CLI, and delivery end to end on the
fake world to a real HTTP receiver: every transition exactly once per event id, each signature
valid, including when a worker dies between posting an event and recording it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from oc_engine_kit import Kit
from sqlalchemy import func, select
from typer.testing import CliRunner

from oneclick.adapters.webhooks import HttpWebhookSender
from oneclick.cli.main import app
from oneclick.domain.webhooks import (
    MAX_AGE,
    DeliveryState,
    after_attempt,
    derive_secret,
    signature_header,
    verify_signature,
)
from oneclick.services import partners, webhooks
from oneclick.store.tables import webhook_deliveries
from oneclick.workers.webhooks import WebhookDispatcher

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_signature_is_hmac_sha256_of_t_dot_body() -> None:
    import hashlib
    import hmac

    body = b'{"id":"evt_1"}'
    header = signature_header("whsec_abc", 1767225600, body)
    expected = hmac.new(b"whsec_abc", b"1767225600." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1767225600,v1={expected}"
    assert verify_signature("whsec_abc", header, body, now=1767225600 + 299)
    assert not verify_signature("whsec_abc", header, body, now=1767225600 + 301)  # a replay
    assert not verify_signature("whsec_abd", header, body, now=1767225600)
    assert not verify_signature("whsec_abc", header, body + b" ", now=1767225600)
    assert not verify_signature("whsec_abc", "v1=00", body, now=1767225600)


def test_secrets_are_derived_per_partner_and_salt() -> None:
    key = bytes(32)
    first = derive_secret(key, "p1", "salt")
    assert first == derive_secret(key, "p1", "salt")
    assert first.startswith("whsec_")
    assert len({first, derive_secret(key, "p2", "salt"), derive_secret(key, "p1", "new"),
                derive_secret(b"\x01" * 32, "p1", "salt")}) == 4  # fmt: skip


def test_backoff_doubles_to_an_hour_and_gives_up_after_a_day() -> None:
    delays, attempts, now = [], 0, T0
    while True:
        attempts += 1
        outcome = after_attempt(False, attempts=attempts, created_at=T0, now=now)
        if outcome.state is not DeliveryState.PENDING:
            break
        assert outcome.next_attempt_at is not None
        delays.append(outcome.next_attempt_at - now)
        now = outcome.next_attempt_at
    assert outcome.state is DeliveryState.EXPIRED
    assert delays[:3] == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
    assert max(delays) == timedelta(hours=1)
    assert now <= T0 + MAX_AGE
    assert now + timedelta(hours=1) > T0 + MAX_AGE  # retried up to the 24 h limit
    ok = after_attempt(True, attempts=1, created_at=T0, now=T0)
    assert ok.state is DeliveryState.DELIVERED


class Receiver:
    """A partner's endpoint: records every request; once ``flaky``, answers 500 to the first
    request of each event id it has not failed yet."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.accepted: list[str] = []  # event ids answered 2xx
        self.flaky = False
        self.failed: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                event = json.loads(body)["id"]
                failing = receiver.flaky and event not in receiver.failed
                if failing:
                    receiver.failed.add(event)
                else:
                    receiver.accepted.append(event)
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    made.thread.start()
    yield made
    made.server.shutdown()
    made.server.server_close()


async def _drain(kit: Kit, dispatcher: WebhookDispatcher) -> None:
    """Deliver until the outbox is empty, jumping the fake clock over each backoff."""
    for _ in range(50):
        await dispatcher.run_once()
        async with kit.world.store.db.connect() as conn:
            due = (
                await conn.execute(
                    select(func.min(webhook_deliveries.c.next_attempt_at)).where(
                        webhook_deliveries.c.state == DeliveryState.PENDING.value
                    )
                )
            ).scalar()
        if due is None:
            return
        kit.clock.set(max(due, kit.clock.now()))
    raise AssertionError("the outbox did not drain")


async def test_every_transition_is_delivered_once_per_event_id_even_across_a_worker_kill(
    kit: Kit, receiver: Receiver
) -> None:
    key = kit.world.keys.jwt_secret
    store = kit.world.store
    partner, token = await partners.add_partner(
        store, "acme", secret=key, now=kit.clock.now(), ttl=None
    )
    secret = await webhooks.set_webhook(store, "acme", receiver.url, install_key=key)
    assert secret is not None
    response = await kit.client.post(
        "/v0/quote", json=quote_body(), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    quote = response.json()["quote"]
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    assert (await kit.status(quote))["status"] == "SUCCESS"

    sender = HttpWebhookSender(timeout_s=5)
    try:
        # A worker claims the batch, posts the first event and dies before recording it.
        async with store.transaction() as tx:
            claimed = await tx.webhooks.claim_due(kit.clock.now(), timedelta(seconds=60), 1)
        assert len(claimed) == 1
        first = claimed[0]
        stamp = int(kit.clock.now().timestamp())
        body = first.body.encode()
        await sender.post(receiver.url, body, {
            "X-OneClick-Event-Id": first.event_id,
            "X-OneClick-Signature": signature_header(secret, stamp, body),
        })  # fmt: skip
        assert receiver.accepted == [first.event_id]
        receiver.flaky = True  # from now on every event's first attempt fails
        # A new worker: the dead one's lease runs out, then everything goes out.
        kit.clock.set(kit.clock.now() + timedelta(seconds=61))
        dispatcher = WebhookDispatcher(store, sender, install_key=key, clock=kit.clock)
        await _drain(kit, dispatcher)
    finally:
        await sender.aclose()

    async with store.transaction() as tx:
        record = await tx.swaps.by_deposit(quote["depositAddress"], None)
        assert record is not None
        log = await tx.swaps.transitions(record.id)
    expected = {f"evt_{record.id}_{t.seq}": t for t in log}
    assert len(expected) == 3  # PENDING_DEPOSIT, PROCESSING, SUCCESS
    by_id: dict[str, set[bytes]] = {}
    for headers, body in receiver.requests:
        stamp = int(headers["x-oneclick-signature"].split(",")[0].removeprefix("t="))
        assert verify_signature(secret, headers["x-oneclick-signature"], body, now=stamp)
        event = json.loads(body)
        assert headers["x-oneclick-event-id"] == event["id"]
        by_id.setdefault(event["id"], set()).add(body)
    assert set(by_id) == set(expected)
    assert all(len(bodies) == 1 for bodies in by_id.values())  # a resend is the same event
    # The dead worker's event was accepted, then sent again (at least once) under the same id;
    # every event failed once and was retried after the backoff.
    assert len(receiver.requests) == 1 + 3 + 3
    assert sorted(receiver.accepted) == sorted([first.event_id, *expected])
    for event_id, change in expected.items():
        data = json.loads(next(iter(by_id[event_id])))["data"]
        assert (data["seq"], data["status"]) == (change.seq, change.to_status.value)
        assert data["depositAddress"] == quote["depositAddress"]
    async with store.transaction() as tx:
        history = await tx.webhooks.deliveries(partner.id, 10)
    assert {d.state for d in history} == {DeliveryState.DELIVERED}


def quote_body() -> dict[str, Any]:
    from oc_engine_kit import quote_request

    return quote_request()


def test_partner_webhook_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path)]
    assert runner.invoke(app, ["keys", "init", *data]).exit_code == 0
    added = runner.invoke(
        app, ["partners", "add", "acme", "--webhook-url", "https://acme.example/hooks", *data]
    )
    assert added.exit_code == 0, added.output
    _token, secret_line = added.stdout.strip().splitlines()
    secret = secret_line.removeprefix("webhook secret: ")
    assert secret.startswith("whsec_")
    moved = runner.invoke(app, ["partners", "webhook", "acme", "https://acme.example/v2", *data])
    assert moved.stdout.strip() == f"webhook secret: {secret}"  # a new URL keeps the secret
    rotated = runner.invoke(
        app, ["partners", "webhook", "acme", "https://acme.example/v2", "--rotate-secret", *data]
    )
    assert rotated.exit_code == 0
    assert secret not in rotated.stdout
    bad = runner.invoke(app, ["partners", "webhook", "acme", "ftp://acme.example/", *data])
    assert bad.exit_code == 1
    assert "http(s) URL" in bad.output
    assert runner.invoke(app, ["partners", "webhook", "acme", "--remove", *data]).exit_code == 0
    assert runner.invoke(app, ["partners", "webhook", "acme", *data]).exit_code == 1
    listed = runner.invoke(app, ["partners", "deliveries", "acme", "--json", *data])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []
    db = (tmp_path / "oneclick.db").read_bytes()
    assert secret.encode() not in db
    assert secret.removeprefix("whsec_").encode() not in db
