"""``/track/{depositAddress}``: the page as served (complete without JavaScript, safe headers),
and in headless Chromium on a phone-sized window, updating by itself as the swap advances."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from oc_browser import Browser, chromium_path
from oc_engine_kit import Kit

from oneclick.api.app import create_app
from oneclick.services.stream import StreamPolicy


async def test_the_page_renders_the_swap_without_javascript(kit: Kit) -> None:
    quote = await kit.quote()
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    response = await kit.client.get(f"/track/{quote['depositAddress']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'nonce-" in policy
    page = response.text
    assert 'data-status="SUCCESS"' in page
    assert "BTC on btc" in page
    assert "USDT on eth" in page
    status = await kit.status(quote)
    for tx in status["swapDetails"]["destinationChainTxHashes"]:
        assert f'href="{tx["explorerUrl"]}" rel="noopener noreferrer"' in page
    assert page.count("<li data-seq=") == 3
    [line] = status["swapDetails"]["deposits"]  # the reconciliation's deposit ledger
    assert f'<li>0.001 BTC: {line["status"]} <span class="label">tx </span>' in page
    assert f'href="{line["explorerUrl"]}"' in page
    assert len(page.encode()) < 20_000  # small: one request, no assets


async def test_an_unknown_address_is_a_json_404_not_a_page(kit: Kit) -> None:
    missing = await kit.client.get("/track/%3Cscript%3E")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"  # never rendered as HTML
    assert missing.json()["code"] == "NOT_FOUND"


async def _serve(kit: Kit) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    policy = StreamPolicy(poll_s=0.05, heartbeat_s=5, grace_s=0.5, max_s=120)
    config = uvicorn.Config(
        create_app(kit.world.ctx, stream=policy), host="127.0.0.1", port=port,
        log_level="warning", lifespan="off", timeout_graceful_shutdown=5,
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
        await asyncio.sleep(0.02)  # polling a condition: the server is listening
    return server, task, f"http://127.0.0.1:{port}"


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_the_page_updates_by_itself_in_headless_chromium(kit: Kit, tmp_path: Path) -> None:
    binary = chromium_path()
    if binary is None:
        pytest.skip("no chromium: `make test` installs it (scripts/ensure-chromium)")
    quote = await kit.quote()
    server, serving, base = await _serve(kit)
    browser = Browser(binary, tmp_path / "profile", f"{base}/track/{quote['depositAddress']}")
    try:
        await browser.connect()
        await browser.wait_for("document.body && document.body.dataset.live === 'open'")
        await browser.evaluate("window.__sameDocument = true")
        first = await browser.screenshot(tmp_path / "track-pending.png")
        assert first.startswith(b"\x89PNG")
        assert await browser.evaluate("document.getElementById('status').textContent") == (
            "PENDING_DEPOSIT"
        )
        step = "document.querySelector('#progress [aria-current=step]').textContent"
        assert await browser.evaluate(step) == "Deposit"
        # legible on a phone: nothing wider than the 390 px window
        assert await browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        await kit.deposit(quote, 100_000)
        await kit.drive(until=kit.clock.now() + timedelta(minutes=20))

        await browser.wait_for("document.body.dataset.status === 'SUCCESS'")
        await browser.wait_for("document.body.dataset.live === 'ended'")
        assert await browser.evaluate("window.__sameDocument") is True  # no reload
        history = await browser.evaluate(
            "[...document.querySelectorAll('#history li')].map(li => li.dataset.seq)"
        )
        assert history == ["1", "2", "3"]
        states = await browser.evaluate(
            "[...document.querySelectorAll('#progress li')].map(li => li.dataset.state)"
        )
        assert states == ["done", "done", "done"]
        status = await kit.status(quote)
        links = await browser.evaluate("[...document.querySelectorAll('#txs a')].map(a => a.href)")
        for tx in status["swapDetails"]["destinationChainTxHashes"]:
            assert tx["explorerUrl"] in links
        deposits = await browser.evaluate(
            "[...document.querySelectorAll('#deposits li')].map(li => li.textContent)"
        )
        [line] = status["swapDetails"]["deposits"]
        assert deposits == [f"0.001 BTC: {line['status']} tx {line['txHash']}"]  # was "None seen"
        delivered = await browser.evaluate("document.getElementById('delivered').textContent")
        assert delivered == f"{status['swapDetails']['amountOutFormatted']} USDT"
        note = "getComputedStyle(document.querySelector('.note.success')).display"
        assert await browser.evaluate(note) == "block"
        second = await browser.screenshot(tmp_path / "track-success.png")
        assert second.startswith(b"\x89PNG")
        assert second != first
    finally:
        await browser.close()
        server.should_exit = True
        await serving
