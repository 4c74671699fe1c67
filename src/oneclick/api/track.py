"""``GET /track/{depositAddress}``: a small HTML page to watch one swap. Rendered complete on the
server (it reads fine without JavaScript); one inline script follows ``/v0/status/stream`` and
updates it in place (the deposits from the reconciliation's ledger too). No framework, no build
step, no third-party request. The deposit address is
in the URL, so the page sends no referrer to the explorers it links to."""

from __future__ import annotations

import functools
import html
import secrets
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from oneclick.domain.amounts import format_units
from oneclick.domain.assets import Asset
from oneclick.domain.swaps import SwapStatus
from oneclick.domain.timestamps import format_timestamp
from oneclick.services.context import ServiceContext
from oneclick.services.status import DepositLine
from oneclick.services.tracking import SwapTrack, track_swap

router = APIRouter()

STEPS = ("Deposit", "Swap", "Delivery")
_STEP = {
    SwapStatus.PENDING_DEPOSIT: 0, SwapStatus.KNOWN_DEPOSIT_TX: 0,
    SwapStatus.INCOMPLETE_DEPOSIT: 0, SwapStatus.PROCESSING: 1, SwapStatus.SUCCESS: 3,
    SwapStatus.REFUNDED: 3, SwapStatus.FAILED: -1,
}  # fmt: skip
_WAITING = "PENDING_DEPOSIT KNOWN_DEPOSIT_TX INCOMPLETE_DEPOSIT"
_DASH = "\u2014"
_DASH_SEP = " \u2014 "

_CSS = """
:root{color-scheme:light dark;--fg:#111;--bg:#fff;--muted:#555;--ok:#0a7d32;--cur:#0b5fcc;
--line:#ccc}
@media (prefers-color-scheme:dark){:root{--fg:#eee;--bg:#111;--muted:#aaa;--ok:#4cc26f;
--cur:#6aa8ff;--line:#444}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
main{max-width:42rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0 .6rem}h2{font-size:1.05rem;margin:1.4rem 0 .4rem}
code{font-family:ui-monospace,monospace;font-size:.9em;overflow-wrap:anywhere}
a{color:var(--cur);overflow-wrap:anywhere}
.status{font-size:1.1rem}
#progress{display:flex;list-style:none;padding:0;margin:1rem 0;gap:.3rem}
#progress li{flex:1;padding:.5rem .3rem;border-top:.35rem solid var(--line);color:var(--muted);
text-align:center}
#progress li[data-state=done]{border-color:var(--ok);color:var(--fg)}
#progress li[data-state=current]{border-color:var(--cur);color:var(--fg);font-weight:600}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
@media (max-width:30rem){dl{grid-template-columns:1fr}dd{margin-bottom:.4rem}}
ul,ol{padding-left:1.2rem}li{margin:.2rem 0}
.note{display:none}
body[data-status=PENDING_DEPOSIT] .note.waiting,body[data-status=KNOWN_DEPOSIT_TX] .note.waiting,
body[data-status=INCOMPLETE_DEPOSIT] .note.waiting,body[data-status=PROCESSING] .note.processing,
body[data-status=SUCCESS] .note.success,body[data-status=REFUNDED] .note.refunded,
body[data-status=FAILED] .note.failed{display:block}
.live{color:var(--muted);font-size:.9rem}
"""


@functools.cache
def _script() -> str:
    return (resources.files("oneclick.api") / "static" / "track.js").read_text(encoding="utf-8")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _asset_label(asset: Asset | None, asset_id: str) -> str:
    return f"{asset.symbol} on {asset.blockchain}" if asset else asset_id


def _amount(value: Any, asset: Asset | None) -> str:
    if value is None:
        return "\u2014"
    text = str(value)
    if asset is not None and text.isdigit():
        return f"{format_units(int(text), asset.decimals)} {asset.symbol}"
    return text


def _link(label: str, tx_hash: str, url: str) -> str:
    target = (
        f'<a href="{_e(url)}" rel="noopener noreferrer">{_e(tx_hash)}</a>'
        if url.startswith(("https://", "http://"))
        else f"<code>{_e(tx_hash)}</code>"
    )
    return f'<li><span class="label">{_e(label)} </span>{target}</li>'


def _deposit_item(line: DepositLine, origin: Asset | None) -> str:
    """One inbound transfer and what became of it (the reconciliation's deposit ledger)."""
    entry = line.entry
    asset = origin if origin is not None and entry.asset == origin.asset_id else None
    parts = [f"{_amount(str(entry.amount), asset)}: {entry.outcome.value}"]
    if entry.swapped and entry.swapped != entry.amount:
        parts.append(f"swapped {_amount(str(entry.swapped), asset)}")
    if entry.refunded and entry.refunded != entry.amount:
        parts.append(f"refunded {_amount(str(entry.refunded), asset)}")
    if entry.reason:
        parts.append(f"({entry.reason})")
    links = _link("tx", line.tx.hash, line.tx.explorer_url).removeprefix("<li>")
    links = links.removesuffix("</li>")
    refunds = "".join(
        " " + _link("refund", t.hash, t.explorer_url).removeprefix("<li>").removesuffix("</li>")
        for t in line.refund_txs
    )
    return f"<li>{_e(', '.join(parts))} {links}{refunds}</li>"


def render_page(track: SwapTrack, stream_url: str) -> tuple[str, str]:
    """The page and the nonce its inline style and script carry (for the CSP)."""
    report = track.report
    document = report.quote_response
    request, quote = document.get("quoteRequest", {}), document.get("quote", {})
    origin, destination = track.origin, track.destination
    status = report.status
    progress = report.progress
    step = _STEP[status]
    steps = []
    for index, name in enumerate(STEPS):
        state = "done" if step < 0 and index == 0 else "todo" if step < 0 else (
            "done" if index < step else "current" if index == step else "todo"
        )  # fmt: skip
        current = ' aria-current="step"' if state == "current" else ""
        steps.append(f'<li data-state="{state}"{current}>{_e(name)}</li>')
    txs = [_link("Origin chain", t.hash, t.explorer_url) for t in progress.origin_chain_txs]
    txs += [
        _link("NEAR", h, track.near_explorer.replace("{hash}", h)) for h in progress.near_tx_hashes
    ]
    txs += [
        _link("Destination chain", t.hash, t.explorer_url) for t in progress.destination_chain_txs
    ]
    deposits = "".join(_deposit_item(line, origin) for line in progress.deposits)
    history = "".join(
        f'<li data-seq="{t.seq}"><time datetime="{_e(format_timestamp(t.at))}">'
        f"{_e(format_timestamp(t.at).replace('T', ' ')[:19])} UTC</time> {_e(t.to_status.value)}"
        f"{_DASH_SEP + _e(t.reason) if t.reason else ''}</li>"
        for t in track.history
    )
    deadline = str(quote.get("deadline") or request.get("deadline") or "")
    refund_to = _e(request.get("refundTo", ""))
    memo = quote.get("depositMemo")
    nonce = secrets.token_urlsafe(16)
    out_symbol = destination.symbol if destination else ""
    in_symbol = origin.symbol if origin else ""
    delivered = f"{progress.amount_out.formatted} {out_symbol}" if progress.amount_out else _DASH
    refunded = f"{progress.refunded.formatted} {in_symbol}" if progress.refunded else _DASH
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{_e(status.value)} \u00b7 swap {_e(origin.symbol if origin else "")} \u2192 \
{_e(destination.symbol if destination else "")}</title>
<style nonce="{nonce}">{_CSS}</style>
</head>
<body data-status="{_e(status.value)}" data-stream="{_e(stream_url)}" \
data-near-explorer="{_e(track.near_explorer)}" data-in-symbol="{_e(in_symbol)}" \
data-out-symbol="{_e(out_symbol)}" \
data-in-asset="{_e(origin.asset_id if origin else "")}" \
data-in-decimals="{origin.decimals if origin else ""}">
<main>
<h1>Swap {_e(_asset_label(origin, str(request.get("originAsset", ""))))} \u2192 \
{_e(_asset_label(destination, str(request.get("destinationAsset", ""))))}</h1>
<p class="status" role="status" aria-live="polite">Status: <strong id="status">\
{_e(status.value)}</strong></p>
<ol id="progress" aria-label="Progress">{"".join(steps)}</ol>
<section aria-labelledby="route-h"><h2 id="route-h">Route and amounts</h2><dl>
<dt>You send</dt><dd>{_e(_amount(quote.get("amountIn"), origin))}</dd>
<dt>Expected out</dt><dd>{_e(_amount(quote.get("amountOut"), destination))}</dd>
<dt>Minimum out</dt><dd>{_e(_amount(quote.get("minAmountOut"), destination))}</dd>
<dt>Delivered</dt><dd id="delivered">{_e(delivered)}</dd>
<dt>Refunded</dt><dd id="refunded">{_e(refunded)}</dd>
<dt>Deposit address</dt><dd><code>{_e(quote.get("depositAddress", ""))}</code>\
{f" memo <code>{_e(memo)}</code>" if memo else ""}</dd>
<dt>Recipient</dt><dd><code>{_e(request.get("recipient", ""))}</code></dd>
<dt>Refunds go to</dt><dd><code>{refund_to}</code></dd>
</dl></section>
<section aria-labelledby="deadline-h"><h2 id="deadline-h">Deadline and refunds</h2>
<p>Deadline: <time id="deadline" datetime="{_e(deadline)}">\
{_e(deadline.replace("T", " ")[:19])} UTC</time></p>
<p class="note waiting" data-for="{_WAITING}">If at least \
{_e(_amount(quote.get("minAmountIn"), origin))} has not arrived by the deadline, whatever did \
arrive is refunded to <code>{refund_to}</code> shortly after it.</p>
<p class="note processing">Your deposit arrived and is being swapped. If the swap cannot be \
completed by the deadline, the deposit is refunded to <code>{refund_to}</code>.</p>
<p class="note success">Completed: the output was delivered; there is nothing to refund.</p>
<p class="note refunded">Refunded to <code>{refund_to}</code> (reason: <span \
id="refund-reason">{_e(progress.refund_reason or _DASH)}</span>).</p>
<p class="note failed">The swap stopped and the operator has been alerted; the funds stay in \
custody until they act.</p>
</section>
<section aria-labelledby="txs-h"><h2 id="txs-h">Transactions</h2>
<ul id="txs">{"".join(txs) or "<li>None yet.</li>"}</ul></section>
<section aria-labelledby="deposits-h"><h2 id="deposits-h">Deposits</h2>
<ul id="deposits">{deposits or "<li>None seen yet.</li>"}</ul></section>
<section aria-labelledby="history-h"><h2 id="history-h">History</h2>
<ol id="history">{history}</ol></section>
<p class="live" id="live">Reload the page for updates.</p>
</main>
<script nonce="{nonce}">{_script()}</script>
</body>
</html>
"""
    return page, nonce


@router.get("/track/{depositAddress}", include_in_schema=False)
async def track_page(
    request: Request,
    depositAddress: str,  # noqa: N803 (wire name)
    depositMemo: Annotated[str | None, Query()] = None,  # noqa: N803
) -> HTMLResponse:
    ctx: ServiceContext = request.app.state.ctx
    track = await track_swap(ctx, depositAddress, depositMemo)
    query = {"depositAddress": depositAddress}
    if depositMemo:
        query["depositMemo"] = depositMemo
    page, nonce = render_page(track, f"/v0/status/stream?{urlencode(query)}")
    policy = (
        "default-src 'none'; connect-src 'self'; img-src 'self'; "
        f"style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    headers = {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return HTMLResponse(page, headers=headers)
