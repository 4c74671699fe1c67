"""Partner webhooks with real processes: ``oneclick api`` and ``oneclick worker`` on the session's
devnet, a partner with a webhook receiver, one swap made with the partner's JWT, and the worker
SIGKILLed while it is posting an event (the receiver holds the request until the kill). A new
worker resends it after the lease: the receiver gets every transition of the swap, each
signature valid, exactly once per event id (resends repeat the id and the bytes)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from e2e_stack import REPO_ROOT, RunningStack
from e2e_swapkit import Devnet, Parties, deposit, quote
from test_e2e_crash import ROUTES, Db, Service
from test_e2e_crash import service as crash_service  # noqa: F401 (its API + worker fixture)

from oneclick.client import OneClickClient
from oneclick.domain.webhooks import verify_signature

pytestmark = [pytest.mark.devnet, pytest.mark.slow, pytest.mark.timeout(400)]

FINISH_TIMEOUT_S = 240.0


class Receiver:
    """Records every POST; holds the first one until ``release`` (so the worker can be killed
    mid-request), answers 200 to the others."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if len(receiver.requests) == 1:
                    receiver.first_arrived.set()
                    receiver.release.wait(60)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:
                    pass  # the killed worker's connection is gone

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def ids(self) -> set[str]:
        return {json.loads(body)["id"] for _, body in self.requests}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    made.thread.start()
    yield made
    made.release.set()
    made.server.shutdown()
    made.server.server_close()


def _cli(svc: Service, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "oneclick.cli", *args, "--data-dir", str(svc.data_dir),
         "--config", str(svc.config)],
        capture_output=True, text=True, cwd=REPO_ROOT, env=svc.env, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


def _expected_events(db: Db, deposit_address: str) -> dict[str, str]:
    rows = db.rows(
        "SELECT t.swap_id, t.seq, t.to_status FROM swap_transitions t JOIN swaps s "
        f"ON s.id = t.swap_id WHERE s.deposit_address = '{deposit_address}'"
    )
    return {f"evt_{r['swap_id']}_{r['seq']}": r["to_status"] for r in rows}


async def test_webhooks_survive_a_worker_kill_mid_delivery(
    running_stack: RunningStack,
    crash_service: Service,  # noqa: F811 (the imported fixture)
    receiver: Receiver,
) -> None:
    service = crash_service
    token, secret_line = _cli(
        service, "partners", "add", "acme", "--webhook-url", receiver.url
    ).splitlines()
    secret = secret_line.removeprefix("webhook secret: ")
    route = ROUTES["sim"]
    devnet = Devnet(running_stack.devnet, running_stack.data_dir / "devnet")
    api = OneClickClient(service.api_url, jwt=token, manager_public_key=service.manager_public_key,
                         timeout=60.0)  # fmt: skip
    db = Db(service.database_url)
    try:
        parties = Parties(
            await devnet.address(route.destination, "hook-recipient"),
            await devnet.address(route.origin, "hook-refund"),
        )
        swap = await quote(
            api, "webhook swap", parties, origin_asset=route.origin,
            destination_asset=route.destination, amount=str(route.amount),
        )  # fmt: skip
        # The worker posts PENDING_DEPOSIT; the receiver holds it; the worker dies mid-POST.
        arrived = await asyncio.to_thread(receiver.first_arrived.wait, 60)
        assert arrived, service.log_tail("worker")
        for slot in range(len(service.running)):  # whichever worker is posting it
            service.kill_worker("posting the first webhook", slot)
        receiver.release.set()
        await deposit(devnet, swap, route.amount)
        give_up = time.monotonic() + FINISH_TIMEOUT_S
        while True:
            expected = _expected_events(db, swap.deposit_address)
            done = "SUCCESS" in expected.values() and expected.keys() <= receiver.ids()
            if done:
                break
            assert time.monotonic() < give_up, (
                expected,
                receiver.ids(),
                service.log_tail("worker"),
            )
            await asyncio.sleep(0.2)  # polling a condition: every event received
    finally:
        await api.aclose()
        await devnet.__aexit__()

    assert receiver.ids() == expected.keys()
    bodies: dict[str, set[bytes]] = {}
    for headers, body in receiver.requests:
        header = headers["x-oneclick-signature"]
        stamp = int(header.split(",")[0].removeprefix("t="))
        assert verify_signature(secret, header, body, now=stamp)
        assert abs(stamp - time.time()) < 600
        event = json.loads(body)
        assert headers["x-oneclick-event-id"] == event["id"]
        assert event["data"]["status"] == expected[event["id"]]
        bodies.setdefault(event["id"], set()).add(body)
    assert all(len(b) == 1 for b in bodies.values())  # a resend is the same event, byte for byte
    first = json.loads(receiver.requests[0][1])["id"]
    assert sum(1 for _, b in receiver.requests if json.loads(b)["id"] == first) >= 2  # resent
    states = {row["state"] for row in db.rows("SELECT state FROM webhook_deliveries")}
    assert states == {"DELIVERED"}
    listed = json.loads(_cli(service, "partners", "deliveries", "acme", "--json"))
    assert {row["eventId"] for row in listed} == expected.keys()
