"""Structured logs: JSON lines whose fields say which swap, deposit address, request, phase and
action a line is about (a whole swap on the fake world, logged as in production), human lines
on a terminal, and no secret in any of them."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from oc_engine_kit import Kit, make_kit

from oneclick.logging import (
    json_formatter,
    log_context,
    render_child_line,
    setup_logging,
    text_formatter,
)
from oneclick.services.partners import add_partner


class Captured:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def captured() -> Iterator[Captured]:
    """The root logger as ``oneclick api``/``worker --log-format json`` set it up."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    capture = Captured()
    setup_logging("json", stream=capture.stream)
    yield capture
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


async def test_a_swap_logs_json_lines_carrying_its_swap_id(kit: Kit, captured: Captured) -> None:
    await swap_logs_carry_its_context(kit, captured)


@pytest.mark.postgres
async def test_a_swap_logs_json_lines_carrying_its_swap_id_on_postgresql(
    tmp_path: Path, postgres_url: str, captured: Captured
) -> None:
    kit = await make_kit(tmp_path, database_url=postgres_url)
    try:
        await swap_logs_carry_its_context(kit, captured)
    finally:
        await kit.aclose()


async def swap_logs_carry_its_context(kit: Kit, captured: Captured) -> None:
    _, token = await add_partner(
        kit.world.store, "acme", secret=kit.world.keys.jwt_secret, now=kit.clock.now(),
        ttl=timedelta(days=1),
    )  # fmt: skip
    response = await kit.client.post(
        "/v0/quote",
        json={**_quote_body(), "dry": False},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    quote = response.json()["quote"]
    correlation_id = response.json()["correlationId"]
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    assert (await kit.status(quote))["status"] == "SUCCESS"
    swap_id = (await kit.swap(quote)).id
    address = quote["depositAddress"]

    lines = captured.lines()
    issued = next(line for line in lines if line["message"] == "quote issued")
    assert issued["swap_id"] == swap_id
    assert issued["deposit_address"] == address
    assert issued["correlation_id"] == correlation_id
    assert issued["action"] == "quote"
    assert issued["level"] == "info"
    assert issued["logger"] == "oneclick.services.quoting"
    request = next(line for line in lines if line["message"] == "POST /v0/quote 200")
    assert request["correlation_id"] == correlation_id
    assert request["action"] == "request"

    signed = next(line for line in lines if line["message"] == "swap intent signed")
    assert signed["swap_id"] == swap_id
    assert signed["deposit_address"] == address
    assert signed["phase"] == "SWAP"
    assert signed["action"] == "sign"
    assert signed["intent_hash"]
    delivered = next(line for line in lines if line["message"].startswith("swap delivered"))
    assert (delivered["swap_id"], delivered["phase"]) == (swap_id, "PAYOUT")
    # Outside a step or a request, no stale context leaks into a line.
    logging.getLogger("oneclick.test").info("after")
    assert "swap_id" not in captured.lines()[-1]

    # No secret of the install, nor the partner's token, in any line.
    text = captured.stream.getvalue()
    keys = kit.world.keys
    for secret in (
        keys.master_secret.hex(), keys.jwt_secret.hex(), keys.manager_key.to_near_string(),
        token,
    ):  # fmt: skip
        assert secret not in text


def _quote_body() -> dict[str, Any]:
    from oc_engine_kit import quote_request

    return quote_request()


def test_secrets_are_redacted_whatever_a_line_carries(captured: Captured) -> None:
    from nearintents.keys import Ed25519SecretKey

    secret_key = Ed25519SecretKey.generate().to_near_string()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwLTEifQ.c2lnbmF0dXJl"
    url = "postgresql+psycopg://oneclick:hunter2@db.internal:5432/oneclick"
    log = logging.getLogger("oneclick.careless")
    log.warning(
        "cannot connect to %s with %s (key %s)", url, jwt, secret_key,
        extra={"jwt_secret": "00ff", "api_key": "k-123", "password": "hunter2", "tokens": 3},
    )  # fmt: skip
    try:
        raise RuntimeError(f"boom at {url}")
    except RuntimeError:
        log.exception("failed")
    text = captured.stream.getvalue()
    for secret in ("hunter2", jwt, secret_key, "00ff", "k-123"):
        assert secret not in text
    first, second = captured.lines()
    assert first["message"] == (
        "cannot connect to postgresql+psycopg://oneclick:[redacted]@db.internal:5432/oneclick "
        "with [redacted] (key ed25519:[redacted])"
    )
    assert first["jwt_secret"] == first["api_key"] == first["password"] == "[redacted]"
    assert first["tokens"] == 3  # a count, not a secret
    assert "RuntimeError: boom at postgresql+psycopg://oneclick:[redacted]@" in second["exception"]


def test_log_context_binds_fields_and_restores_the_outer_ones(captured: Captured) -> None:
    log = logging.getLogger("oneclick.test")
    with log_context(correlation_id="c-1"):
        with log_context(swap_id="s-1"):
            log.info("inner", extra={"action": "x"})
        log.info("outer")
    log.info("none")
    inner, outer, none = captured.lines()
    assert (inner["correlation_id"], inner["swap_id"], inner["action"]) == ("c-1", "s-1", "x")
    assert outer["correlation_id"] == "c-1"
    assert "swap_id" not in outer
    assert "correlation_id" not in none


def test_text_lines_are_for_humans() -> None:
    record = logging.LogRecord("oneclick.x", logging.INFO, __file__, 1, "swap %s", ("done",), None)
    record.swap_id = "s-9"
    line = text_formatter(colors=False).format(record)
    assert "swap done" in line
    assert "swap_id=s-9" in line
    assert not line.startswith("{")
    assert json.loads(json_formatter().format(record))["swap_id"] == "s-9"


def test_text_tracebacks_are_redacted_and_show_no_locals() -> None:
    def connect(master_secret: str) -> None:
        raise RuntimeError("cannot reach postgresql://u:hunter2@db/x")

    secret = bytes(range(7, 39)).hex()
    try:
        connect(secret)
    except RuntimeError:
        info = sys.exc_info()
    record = logging.LogRecord("oneclick.x", logging.ERROR, __file__, 1, "failed", (), info)
    line = text_formatter(colors=False).format(record)
    assert "RuntimeError: cannot reach postgresql://u:[redacted]@db/x" in line
    assert "hunter2" not in line
    assert secret not in line  # the frame's locals are not shown


def test_oneclick_up_shows_child_lines_as_json_or_text() -> None:
    line = json.dumps({
        "message": "swap intent signed", "swap_id": "s-1", "level": "info",
        "logger": "oneclick.services.engine.legs", "timestamp": "2026-12-06T20:01:02.5Z",
    })  # fmt: skip
    as_json = json.loads(render_child_line("worker", line, "json"))
    assert (as_json["process"], as_json["swap_id"]) == ("worker", "s-1")
    text = render_child_line("worker", line, "text")
    assert text == "[worker] 20:01:02 INFO    swap intent signed  swap_id=s-1"
    assert render_child_line("devnet", "anvil listening", "json") == "[devnet] anvil listening"
