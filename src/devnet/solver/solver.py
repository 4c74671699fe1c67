"""The reference market maker (PROTOCOL.md §6, priced like a request-for-quote desk rather than
an AMM): it quotes every supported pair from a USD price feed with a spread, within the verifier
inventory it has not already promised, and signs ``token_diff`` intents with NEP-413 and
versioned nonces. It reconnects with backoff when the relay goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from devnet.prices import PriceSource
from devnet.solver.inventory import Inventory
from devnet.solver.pricing import TokenSpec, amount_in_for, amount_out_for, min_amount_in, rate
from devnet.solver.wsclient import RelayLink, RelayRequestError
from devnet.verifier.clock import Clock, SystemClock
from nearintents import signing
from nearintents.amounts import parse_u128
from nearintents.encoding import b64encode
from nearintents.keys import Ed25519SecretKey
from nearintents.nonce import fresh_versioned_nonce, ns_to_datetime
from nearintents.payload import format_rfc3339
from nearintents.rpc import RpcError, VerifierViews
from nearintents.rpc.jsonrpc import auth_headers

logger = logging.getLogger(__name__)

_MS_NS = 1_000_000


@dataclass(frozen=True, slots=True)
class SolverConfig:
    account_id: str
    tokens: tuple[TokenSpec, ...]
    spread_bps: int = 30
    verifying_contract: str = "intents.near"
    max_min_deadline_ms: int = 60_000  # longer promises are declined (as the AMM solver does)
    deadline_margin_ms: int = 10_000  # deadline = now + min_deadline_ms + margin (§6)
    refresh_interval_s: float = 15.0  # balances, salt and key registration
    request_timeout_s: float = 5.0
    reconnect_min_s: float = 0.05
    reconnect_max_s: float = 5.0
    api_key: str | None = field(default=None, repr=False)

    def spec(self, token_id: str) -> TokenSpec | None:
        return next((t for t in self.tokens if t.token_id == token_id), None)


class MarketMaker:
    """``async with MarketMaker(...) as solver:`` quotes on the relay at ``relay_ws_url`` until
    exit. Reads balances, salt and its keys through ``views`` (NEAR RPC) and prices from
    ``prices``; ``clock`` (default: system time) dates its intents."""

    def __init__(
        self,
        config: SolverConfig,
        key: Ed25519SecretKey,
        *,
        relay_ws_url: str,
        views: VerifierViews,
        prices: PriceSource,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self._key = key
        self.relay_ws_url = relay_ws_url
        self._views = views
        self._prices = prices
        self._clock = clock or SystemClock()
        self.inventory = Inventory()
        self.registered = False
        self.ready = asyncio.Event()  # subscribed on a live relay connection
        self.settled: list[dict[str, Any]] = []  # quote_status events received, oldest first
        self.connections = 0  # successful connections so far (reconnects included)
        self._salt: bytes | None = None
        self._refresh_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.refresh()
        except (RpcError, TimeoutError) as exc:
            logger.warning("solver could not read its state yet: %s", exc)
        self._tasks = [
            asyncio.create_task(self._connect_loop(), name=f"solver-{self.config.account_id}"),
            asyncio.create_task(self._refresh_loop(), name="solver-refresh"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self.ready.clear()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- verifier state ---------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Re-read balances, the current salt and whether our key is registered."""
        async with self._refresh_lock:
            await self._refresh()

    async def _refresh(self) -> None:
        ids = [t.token_id for t in self.config.tokens]
        balances = await self._views.mt_batch_balance_of(self.config.account_id, ids)
        self.inventory.set_balances(dict(zip(ids, balances, strict=True)))
        self._salt = await self._views.current_salt()
        keys = await self._views.public_keys_of(self.config.account_id)
        self.registered = str(self._key.public_key) in keys
        if not self.registered:
            logger.warning(
                "key %s is not registered for %s: not quoting",
                self._key.public_key,
                self.config.account_id,
            )

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.refresh_interval_s)
            try:
                await self.refresh()
            except (RpcError, TimeoutError) as exc:
                logger.warning("solver refresh failed: %s", exc)

    # --- the relay connection ---------------------------------------------------------------------

    async def _connect_loop(self) -> None:
        delay = self.config.reconnect_min_s
        headers = auth_headers(self.config.api_key)
        while True:
            try:
                async with connect(
                    self.relay_ws_url,
                    additional_headers=headers,
                    open_timeout=self.config.request_timeout_s,
                    close_timeout=1,
                ) as websocket:
                    delay = self.config.reconnect_min_s
                    await self._session(websocket)
            except (OSError, WebSocketException, RelayRequestError, TimeoutError) as exc:
                logger.info("relay connection lost (%r); retrying in %.2f s", exc, delay)
            except Exception:  # loop top: a bug in one session must not end the solver
                logger.exception("solver session failed; reconnecting in %.2f s", delay)
            finally:
                self.ready.clear()
            await asyncio.sleep(delay)  # backoff between attempts, doubling up to the cap
            delay = min(delay * 2, self.config.reconnect_max_s)

    async def _session(self, websocket: ClientConnection) -> None:
        link = RelayLink(websocket, timeout_s=self.config.request_timeout_s)
        topics: dict[str, str] = {}
        async with asyncio.TaskGroup() as group:
            reader = group.create_task(self._read(websocket, link, topics, group))
            try:
                topics[await link.request("subscribe", ["quote"])] = "quote"
                topics[await link.request("subscribe", ["quote_status"])] = "quote_status"
            except RelayRequestError:
                reader.cancel()
                raise
            self.connections += 1
            self.ready.set()
            await reader

    async def _read(
        self,
        websocket: ClientConnection,
        link: RelayLink,
        topics: dict[str, str],
        group: asyncio.TaskGroup,
    ) -> None:
        try:
            async for raw in websocket:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(message, dict) or link.answer(message):
                    continue
                params = message.get("params")
                if message.get("method") not in ("event", "subscribe") or not isinstance(
                    params, dict
                ):
                    continue
                # Two documented envelopes: {subscription, data, metadata} and a flat one.
                data = params.get("data", params)
                topic = topics.get(params.get("subscription", ""))
                if topic == "quote" and isinstance(data, dict):
                    group.create_task(self._on_quote(link, data))
                elif topic == "quote_status" and isinstance(data, dict):
                    group.create_task(self._on_quote_status(data))
        except WebSocketException as exc:
            logger.info("relay connection closed: %r", exc)
        finally:
            link.fail_all("the relay connection closed")
            self.ready.clear()

    # --- quoting ----------------------------------------------------------------------------------

    async def _on_quote(self, link: RelayLink, data: dict[str, Any]) -> None:
        try:
            await self._quote(link, data)
        except (RelayRequestError, RpcError, httpx.HTTPError, TimeoutError, ValueError) as exc:
            logger.info("no quote for %s: %s", data.get("quote_id"), exc)
        except Exception:  # one bad request must not take the connection down
            logger.exception("quoting %s failed", data.get("quote_id"))

    async def _quote(self, link: RelayLink, data: dict[str, Any]) -> None:
        quote_id = data.get("quote_id")
        spec_in = self.config.spec(str(data.get("defuse_asset_identifier_in")))
        spec_out = self.config.spec(str(data.get("defuse_asset_identifier_out")))
        min_deadline_ms = data.get("min_deadline_ms", 60_000)
        if (
            not isinstance(quote_id, str)
            or spec_in is None
            or spec_out is None
            or spec_in == spec_out
            or not isinstance(min_deadline_ms, int)
            or not 0 < min_deadline_ms <= self.config.max_min_deadline_ms
            or not self.registered
        ):
            return  # not ours to quote: stay silent, as solvers do
        exact_in = "exact_amount_in" in data
        fixed = parse_u128(data["exact_amount_in" if exact_in else "exact_amount_out"])
        prices = await self._prices.usd_prices([spec_in.price_id, spec_out.price_id])
        if spec_in.price_id not in prices or spec_out.price_id not in prices:
            return
        market = rate(spec_in, spec_out, prices[spec_in.price_id], prices[spec_out.price_id])
        spread = self.config.spread_bps
        if exact_in:
            amount_in, amount_out = fixed, amount_out_for(fixed, market, spread)
            if amount_out == 0:
                floor = {"min_amount": str(min_amount_in(market, spread))}
                answer = {"quote_id": quote_id, "quote_output": floor}
                await link.request("quote_response", [answer])
                return
            output = {"amount_out": str(amount_out)}
        else:
            amount_in, amount_out = amount_in_for(fixed, market, spread), fixed
            output = {"amount_in": str(amount_in)}
        if self._salt is None:
            await self.refresh()
        # From here to reserve() nothing awaits: two quotes cannot promise the same inventory.
        now = self._clock.now_ns()
        self.inventory.expire(now)
        if amount_out > self.inventory.available(spec_out.token_id, now):
            logger.info("declined %s: inventory of %s too low", quote_id, spec_out.token_id)
            return
        deadline_ns = now + (min_deadline_ms + self.config.deadline_margin_ms) * _MS_NS
        deadline_ns -= deadline_ns % 1_000  # payload deadlines carry microseconds
        diff = {spec_in.token_id: amount_in, spec_out.token_id: -amount_out}
        signed = self._sign(diff, deadline_ns)
        quote_hash = signing.intent_hash(signed)
        self.inventory.reserve(quote_hash, spec_out.token_id, amount_out, deadline_ns)
        response = {
            "quote_id": quote_id,
            "quote_output": output,
            "signed_data": signed,
            "other_quote_hashes": [],
        }
        try:
            await link.request("quote_response", [response])
        except RelayRequestError:
            self.inventory.release(quote_hash)
            raise

    def _sign(self, diff: dict[str, int], deadline_ns: int) -> dict[str, Any]:
        assert self._salt is not None
        payload = {
            "signer_id": self.config.account_id,
            "verifying_contract": self.config.verifying_contract,
            "deadline": format_rfc3339(ns_to_datetime(deadline_ns)),
            "nonce": b64encode(fresh_versioned_nonce(self._salt, deadline_ns)),
            "intents": [
                {"intent": "token_diff", "diff": {k: str(v) for k, v in diff.items()}},
            ],
        }
        return signing.sign("nep413", payload, self._key)

    async def _on_quote_status(self, data: dict[str, Any]) -> None:
        quote_hash = data.get("quote_hash")
        if not isinstance(quote_hash, str):
            return
        # Balances first, then the release: the settled amount is never counted as free twice.
        async with self._refresh_lock:
            try:
                await self._refresh()
            except (RpcError, TimeoutError) as exc:
                logger.warning("refresh after settlement failed: %s", exc)
            self.inventory.release(quote_hash)
        self.settled.append(data)
        logger.info("quote %s settled in %s", quote_hash, data.get("tx_hash"))
