r"""``python -m devnet.solver``: run the reference market maker against a relay on its own.

    python -m devnet.solver --relay-url ws://127.0.0.1:PORT/ws \
        --near-rpc-url http://127.0.0.1:PORT --prices-url http://127.0.0.1:PORT \
        --key-file solver.json --account solver.devnet.near --spread-bps 30 \
        --token nep141:usdc.near=usd-coin:6 --token nep141:wrap.near=near:24
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from devnet.prices import HttpPriceSource
from devnet.solver.pricing import TokenSpec
from devnet.solver.solver import MarketMaker, SolverConfig
from nearintents.keys import Ed25519SecretKey, KeyFormatError, implicit_account_id
from nearintents.rpc import HttpNearRpc, VerifierViews

DEFAULT_TOKENS = (
    "nep141:usdc.near=usd-coin:6",
    "nep141:usdt.near=tether:6",
    "nep141:wrap.near=near:24",
)


def load_key(path: Path) -> tuple[Ed25519SecretKey, str | None]:
    """A key file: NEAR credentials JSON (``private_key``/``secret_key``, ``account_id``) or a
    single ``ed25519:...`` line. Returns the key and the account it names, if any."""
    text = path.read_text().strip()
    if text.startswith("{"):
        data = json.loads(text)
        secret = data.get("private_key") or data.get("secret_key")
        if not isinstance(secret, str):
            raise KeyFormatError("key file has no private_key")
        account = data.get("account_id")
        named = account if isinstance(account, str) else None
        return Ed25519SecretKey.from_near_string(secret), named
    return Ed25519SecretKey.from_near_string(text), None


def ws_url(url: str) -> str:
    """Accept the relay's http(s) base URL as well as its ws(s) endpoint."""
    for http, ws in (("http://", "ws://"), ("https://", "wss://")):
        if url.startswith(http):
            url = ws + url[len(http) :]
            return url if url.rstrip("/").endswith("/ws") else url.rstrip("/") + "/ws"
    return url


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m devnet.solver", description=__doc__.split("\n")[0])
    p.add_argument("--relay-url", required=True, help="relay WebSocket (ws://host:port/ws)")
    p.add_argument("--near-rpc-url", required=True, help="NEAR RPC of the verifier")
    p.add_argument("--prices-url", required=True, help="CoinGecko-shaped price feed base URL")
    p.add_argument("--key-file", required=True, type=Path)
    p.add_argument("--account", help="account id (default: the key file's, else implicit)")
    p.add_argument("--spread-bps", type=int, default=30)
    p.add_argument("--token", action="append", help="<token_id>=<price_id>:<decimals>")
    p.add_argument("--verifier", default="intents.near", help="verifying contract id")
    p.add_argument("--api-key", help="relay API key (Authorization: Bearer and X-API-Key)")
    p.add_argument("--log-level", default="INFO")
    return p


async def run(args: argparse.Namespace) -> None:
    key, named = load_key(args.key_file)
    account = args.account or named or implicit_account_id(key.public_key)
    config = SolverConfig(
        account_id=account,
        tokens=tuple(TokenSpec.parse(t) for t in (args.token or DEFAULT_TOKENS)),
        spread_bps=args.spread_bps,
        verifying_contract=args.verifier,
        api_key=args.api_key,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    prices = HttpPriceSource(args.prices_url)
    try:
        async with HttpNearRpc(args.near_rpc_url) as rpc:
            views = VerifierViews(rpc, args.verifier)
            solver = MarketMaker(
                config, key, relay_ws_url=ws_url(args.relay_url), views=views, prices=prices
            )
            async with solver:
                logging.getLogger(__name__).info(
                    "solver %s quoting on %s", account, solver.relay_ws_url
                )
                await stop.wait()
    finally:
        await prices.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        asyncio.run(run(args))
    except (OSError, ValueError) as exc:
        print(f"devnet.solver: {exc}", file=sys.stderr)
        return 2
    return 0
