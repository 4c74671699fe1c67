"""The composition root: settings in, a wired ``ServiceContext`` (and the API app) out.
The only module that knows which adapter serves which port."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar, cast

from fastapi import FastAPI

from nearintents.rpc import HttpNearRpc, HttpPoaBridge, HttpSolverRelay, RpcError, VerifierViews
from oneclick.adapters.coingecko import CoinGeckoPrices
from oneclick.adapters.prometheus import CountingPeer, PrometheusMetrics
from oneclick.adapters.upstream import HttpUpstream
from oneclick.adapters.webhooks import HttpWebhookSender
from oneclick.api.app import create_app
from oneclick.api.limits import EdgeLimits, RateLimits, RatePolicy
from oneclick.config import Settings
from oneclick.custody.keys import (
    ApiKeys,
    KeyCustody,
    KeyMaterial,
    QuoteKeys,
    load_api_key_file,
    load_key_file,
)
from oneclick.custody.near_signer import LocalNearSigner
from oneclick.domain.assets import Asset, AssetRegistry
from oneclick.domain.errors import ConfigurationError, OneClickError
from oneclick.services.context import (
    DEFAULT_EXPLORERS,
    EnginePolicy,
    QuotePolicy,
    ServiceContext,
    SessionPolicy,
    UpstreamMode,
)
from oneclick.services.engine import EngineContext
from oneclick.services.fees import ProtocolFeeCache
from oneclick.services.ports import Bridge, EngineMetrics, QuoteSigner, Upstream
from oneclick.services.webhooks import DeliveryPolicy
from oneclick.store.claims import SqlClaims
from oneclick.store.database import connect_database, default_url, require_current_schema
from oneclick.store.sql import SqlStore
from oneclick.workers.reconciler import Reconciler, ReconcilerOptions
from oneclick.workers.runner import Worker, WorkerOptions, new_owner
from oneclick.workers.webhooks import WebhookDispatcher

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Bridge chain ids whose blockchain slug is not simply the part before the colon.
CHAIN_BLOCKCHAINS = {
    "eth:1": "eth", "eth:8453": "base", "eth:42161": "arb", "eth:100": "gnosis",
    "eth:80094": "bera", "eth:137": "pol", "eth:56": "bsc", "eth:10": "op",
    "eth:43114": "avax", "eth:143": "monad", "eth:196": "xlayer", "eth:9745": "plasma",
    "near:mainnet": "near",
}  # fmt: skip


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def load_keys(settings: Settings) -> KeyMaterial:
    """Every key, the master secret included (workers): from ``ONECLICK_KEYS__*`` when given,
    else from the key file."""
    keys = settings.keys
    if keys.manager_key and keys.jwt_secret:
        if not keys.master_secret:
            raise ConfigurationError(
                "workers derive custody accounts: set ONECLICK_KEYS__MASTER_SECRET too "
                "(the API alone needs only the manager key and the JWT secret)"
            )
        return KeyMaterial.from_strings(
            keys.master_secret.get_secret_value(),
            keys.manager_key.get_secret_value(),
            keys.jwt_secret.get_secret_value(),
        )
    return load_key_file(settings.key_file)


def load_api_keys(settings: Settings) -> ApiKeys:
    """The API's keys (the manager key and the JWT secret, never the master secret): from
    ``ONECLICK_KEYS__*`` when given, else those two fields of the key file."""
    keys = settings.keys
    if keys.manager_key and keys.jwt_secret:
        return ApiKeys.from_strings(
            keys.manager_key.get_secret_value(), keys.jwt_secret.get_secret_value()
        )
    return load_api_key_file(settings.key_file)


def database_url(settings: Settings) -> str:
    if settings.database.url is not None:
        return settings.database.url.get_secret_value()
    return default_url(settings.data_dir)


def registry_from_settings(settings: Settings) -> AssetRegistry:
    try:
        return AssetRegistry(Asset(**token.model_dump()) for token in settings.tokens)
    except ValueError as exc:
        raise ConfigurationError(f"invalid token in the asset registry: {exc}") from exc


async def sync_registry(registry: AssetRegistry, bridge: Bridge, settings: Settings) -> None:
    """Add the bridge's ``supported_tokens`` that are not configured (configured ones win)."""
    try:
        tokens = await bridge.supported_tokens()
    except RpcError as exc:
        logger.warning("token sync from the bridge failed: %s", exc, extra={"action": "sync"})
        return
    mapping = CHAIN_BLOCKCHAINS | settings.bridge.chain_blockchains
    for token in tokens:
        if registry.by_token_id(token.intents_token_id) is not None:
            continue
        chain = token.defuse_asset_identifier.rsplit(":", 1)[0]
        blockchain = mapping.get(chain, chain.split(":")[0])
        reference = token.defuse_asset_identifier.rsplit(":", 1)[1]
        try:
            registry.add(
                Asset(
                    token.intents_token_id, blockchain, token.asset_name, token.decimals,
                    bridge_chain=chain,
                    contract_address=None if reference == "native" else reference,
                    min_deposit_amount=token.min_deposit_amount,
                    min_withdrawal_amount=token.min_withdrawal_amount,
                    withdrawal_fee=token.withdrawal_fee,
                )
            )  # fmt: skip
        except ValueError as exc:
            logger.warning("skipping bridge token %s: %s", token.intents_token_id, exc)


async def _upstream(
    settings: Settings, registry: AssetRegistry, stack: AsyncExitStack
) -> UpstreamMode | None:
    """Upstream mode's client (its tokens learnt into ``registry``), or None in PoA mode."""
    if settings.bridge.mode != "upstream":
        return None
    u = settings.upstream
    if u.jwt is None:
        logger.warning(
            "upstream mode without a partner JWT (ONECLICK_UPSTREAM__JWT): every leg pays the "
            "upstream's anonymous platform fee", extra={"action": "startup"},
        )  # fmt: skip
    client = HttpUpstream(
        u.url, api_key=_secret(u.api_key), jwt=_secret(u.jwt), timeout=u.timeout_s
    )
    stack.push_async_callback(client.aclose)
    if u.sync_tokens:
        await sync_upstream_registry(registry, client)
    return UpstreamMode(client, payouts=u.payouts == "upstream")


async def sync_upstream_registry(registry: AssetRegistry, upstream: Upstream) -> None:
    """Add the upstream's ``GET /v0/tokens`` that are not configured (configured ones win:
    they may carry minimums and fees, which the 1Click token list does not). Their chain
    payouts are priced by the upstream's own dry quotes (``services.upstream.payout_cost``)."""
    try:
        tokens = await upstream.tokens()
    except OneClickError as exc:
        logger.warning("token sync from the upstream failed: %s", exc.message,
                       extra={"action": "sync"})  # fmt: skip
        return
    for token in tokens:
        if registry.by_token_id(token.asset_id) is not None:
            continue
        near = token.blockchain == "near"
        try:
            registry.add(
                Asset(
                    token.asset_id, token.blockchain, token.symbol, token.decimals,
                    bridge_chain=None if near else token.blockchain,
                    contract_address=token.contract_address, coingecko_id=token.coingecko_id,
                )
            )  # fmt: skip
        except ValueError as exc:
            logger.warning("skipping upstream token %s: %s", token.asset_id, exc)


def policy_from_settings(settings: Settings) -> QuotePolicy:
    q = settings.quotes
    return QuotePolicy(
        platform_fee_bps=q.platform_fee_bps,
        platform_fee_recipient=q.platform_fee_recipient,
        min_deadline=timedelta(seconds=q.min_deadline_s),
        max_deadline=timedelta(seconds=q.max_deadline_s),
        inactive_grace=timedelta(seconds=q.inactive_grace_s),
        time_estimate_s=q.time_estimate_s,
        route_time_estimates=dict(q.route_time_estimates),
        relay_min_deadline_ms=settings.relay.min_deadline_ms,
        verifier_contract=settings.near.verifier_contract,
        near_relayer_account=settings.near.relayer_account,
        near_operator_account=_near_operator(settings),
        intent_lifetime=timedelta(seconds=q.intent_lifetime_s),
        max_unfunded_per_ip=q.max_unfunded_per_ip or None,
        max_unfunded_per_partner=q.max_unfunded_per_partner or None,
    )


def engine_policy_from_settings(settings: Settings) -> EnginePolicy:
    e = settings.engine

    def s(seconds: float) -> timedelta:
        return timedelta(seconds=seconds)

    return EnginePolicy(
        signing_standard=e.signing_standard,
        swap_intent_lifetime=s(e.swap_intent_lifetime_s),
        withdraw_intent_lifetime=s(e.withdraw_intent_lifetime_s),
        dead_margin=s(e.dead_margin_s),
        bridge_index_grace=s(e.bridge_index_grace_s),
        deposit_poll=s(e.deposit_poll_s),
        follow_poll=s(e.follow_poll_s),
        withdrawal_poll=s(e.withdrawal_poll_s),
        quote_retry=s(e.quote_retry_s),
        sweep_poll=s(e.sweep_poll_s),
        quiet_poll_max=s(e.quiet_poll_max_s),
        backoff_base=s(e.backoff_base_s),
        backoff_max=s(e.backoff_max_s),
        max_attempts=e.max_attempts,
        max_unexpected=e.max_unexpected,
        stuck_grace=s(e.stuck_grace_s),
        any_input_threshold_usd=e.any_input_threshold_usd,
        any_input_retry=s(e.any_input_retry_s),
        explorers=DEFAULT_EXPLORERS | settings.explorers,
    )


def _secret(value: object) -> str | None:
    get = getattr(value, "get_secret_value", None)
    return str(get()) if get else None


def _near_operator(settings: Settings) -> str | None:
    """The operator account, when its key is configured too (else NEAR deposits are refused)."""
    account, key = settings.near.operator_account_id, settings.near.operator_key
    return account if account is not None and key is not None else None


def _near_signer(settings: Settings, custody: KeyCustody) -> LocalNearSigner | None:
    """With an operator account configured, the worker moves NEAR-native deposits itself."""
    account, key = _near_operator(settings), _secret(settings.near.operator_key)
    if account is None or key is None:
        return None
    try:
        return LocalNearSigner(custody, account, key)
    except ValueError as exc:  # never echo the key
        raise ConfigurationError("near.operator_key is not an ed25519 secret key") from exc


@asynccontextmanager
async def runtime(
    settings: Settings, metrics: PrometheusMetrics | None = None, *, worker: bool = True
) -> AsyncIterator[ServiceContext]:
    """Every adapter wired, the schema checked (not migrated); everything closed on exit. With
    ``metrics``, the failed calls of the relay, bridge and NEAR RPC clients are counted there.
    ``worker=False`` (the API): only the manager key and the JWT secret are loaded, never the
    master secret."""
    custody: QuoteSigner
    near_signer: LocalNearSigner | None = None
    if worker:
        material = load_keys(settings)
        keys = KeyCustody(material)
        custody, jwt_secret, near_signer = keys, material.jwt_secret, _near_signer(settings, keys)
    else:
        api_keys = load_api_keys(settings)
        custody, jwt_secret = QuoteKeys(api_keys), api_keys.jwt_secret
    clock = SystemClock()
    async with AsyncExitStack() as stack:
        relay = HttpSolverRelay(
            settings.relay.url,
            api_key=_secret(settings.relay.api_key),
            timeout=settings.relay.timeout_s,
        )
        stack.push_async_callback(relay.aclose)
        bridge = HttpPoaBridge(
            settings.bridge.url,
            api_key=_secret(settings.bridge.api_key),
            timeout=settings.bridge.timeout_s,
        )
        stack.push_async_callback(bridge.aclose)
        near = HttpNearRpc(
            settings.near.rpc_url,
            api_key=_secret(settings.near.api_key),
            timeout=settings.near.timeout_s,
        )
        stack.push_async_callback(near.aclose)
        verifier = VerifierViews(
            _counted(near, "near_rpc", metrics),
            settings.near.verifier_contract,
            relayer_account_id=settings.near.relayer_account,
        )
        prices = CoinGeckoPrices(
            settings.prices.url,
            clock=clock,
            api_key=_secret(settings.prices.api_key),
            timeout=settings.prices.timeout_s,
            cache_ttl=timedelta(seconds=settings.prices.cache_s),
        )
        stack.push_async_callback(prices.aclose)
        db = connect_database(database_url(settings))
        stack.push_async_callback(db.dispose)
        await require_current_schema(db)  # `oneclick db upgrade` migrates, not every process
        registry = registry_from_settings(settings)
        if settings.bridge.sync_tokens:
            await sync_registry(registry, bridge, settings)
        upstream = await _upstream(settings, registry, stack)
        yield ServiceContext(
            relay=_counted(relay, "relay", metrics),
            bridge=_counted(bridge, "bridge", metrics),
            verifier=verifier,
            prices=prices,
            clock=clock,
            store=SqlStore(db, status_cache=settings.api.status_cache),
            custody=custody,
            registry=registry,
            fee_cache=ProtocolFeeCache(
                verifier, clock, timedelta(seconds=settings.near.fee_cache_s)
            ),
            policy=policy_from_settings(settings),
            jwt_secret=jwt_secret,
            engine=engine_policy_from_settings(settings),
            near=near,
            near_signer=near_signer,
            sessions=session_policy_from_settings(settings),
            upstream=upstream,
        )


def session_policy_from_settings(settings: Settings) -> SessionPolicy:
    auth = settings.auth
    secret = _secret(auth.session_secret)
    return SessionPolicy(
        access_ttl=timedelta(seconds=auth.access_ttl_s),
        refresh_ttl=timedelta(seconds=auth.refresh_ttl_s),
        max_signed_ahead=timedelta(seconds=auth.max_signed_ahead_s),
        refresh_grace=timedelta(seconds=auth.refresh_grace_s),
        secret=bytes.fromhex(secret) if secret else None,
    )


def worker_options(settings: Settings) -> WorkerOptions:
    w = settings.worker
    return WorkerOptions(
        lease_s=w.lease_s,
        batch=w.batch,
        concurrency=w.concurrency,
        idle_s=w.idle_s,
        stop_grace_s=w.stop_grace_s,
        attention_every_s=w.attention_every_s,
        lock_wait_s=w.lease_s,  # a dead worker's SQLite lock is free after one lease
        custody_pool=w.custody_pool,
    )


def build_worker(ctx: ServiceContext, settings: Settings, metrics: EngineMetrics) -> Worker:
    """A worker over the runtime's adapters (the store must be the SQL store it built)."""
    store = ctx.store
    if not isinstance(store, SqlStore):
        raise ConfigurationError("the worker needs the SQL store")
    engine_ctx = EngineContext.of(ctx, store, owner=new_owner(), metrics=metrics)
    return Worker(engine_ctx, SqlClaims(store.db), worker_options(settings))


@asynccontextmanager
async def webhook_dispatcher(
    ctx: ServiceContext, settings: Settings
) -> AsyncIterator[WebhookDispatcher]:
    """The partners' webhook outbox drained over HTTP (run beside the worker); signing secrets
    are derived from the install's JWT secret (see ``oneclick.domain.webhooks``). Events are
    leased like swaps (``[worker] lease_s``): a dead worker's events go out again after it; a
    POST gives up before its lease ends."""
    store = ctx.store
    if not isinstance(store, SqlStore):
        raise ConfigurationError("webhook delivery needs the SQL store")
    lease_s = settings.worker.lease_s
    sender = HttpWebhookSender(timeout_s=min(10.0, lease_s * 0.8))
    policy = DeliveryPolicy(lease=timedelta(seconds=lease_s))
    try:
        yield WebhookDispatcher(
            store, sender, install_key=ctx.jwt_secret, clock=ctx.clock, policy=policy,
            idle_s=settings.worker.idle_s,
        )  # fmt: skip
    finally:
        await sender.aclose()


async def check_schema(settings: Settings) -> None:
    """Fail (``ConfigurationError``) unless the database's schema is the one this code needs."""
    db = connect_database(database_url(settings))
    try:
        await require_current_schema(db)
    finally:
        await db.dispose()


def build_reconciler(ctx: ServiceContext, settings: Settings, metrics: EngineMetrics) -> Reconciler:
    """The reconciliation loop over the runtime's adapters (the SQL store it built)."""
    store = ctx.store
    if not isinstance(store, SqlStore):
        raise ConfigurationError("the reconciliation needs the SQL store")
    r = settings.reconcile
    owner = new_owner().replace("worker-", "reconciler-")
    engine_ctx = EngineContext.of(ctx, store, owner=owner, metrics=metrics)
    options = ReconcilerOptions(
        batch=r.batch,
        batch_pause_s=r.batch_pause_s,
        pass_interval_s=r.pass_interval_s,
        lease_s=settings.worker.lease_s,
    )
    return Reconciler(engine_ctx, store, SqlClaims(store.db), options)


def build_app(settings: Settings) -> FastAPI:
    """The production app: adapters are built on startup (the schema checked), closed on shutdown;
    Prometheus metrics on ``/metrics``."""
    load_api_keys(settings)  # fail before serving if the keys are missing
    metrics = PrometheusMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime(settings, metrics, worker=False) as ctx:
            app.state.ctx = ctx
            yield

    return create_app(
        None,
        lifespan=lifespan,
        metrics=metrics,
        limits=edge_limits(settings),
        status_cache=settings.api.status_cache,
    )


def edge_limits(settings: Settings) -> EdgeLimits:
    """The API's body-size and rate limits (section ``api``)."""
    r = settings.api.rate_limits
    rates = None
    if r.enabled:
        rates = RateLimits(
            requests=RatePolicy.parse("requests", r.requests),
            swaps=RatePolicy.parse("swaps", r.swaps),
            partner_requests=RatePolicy.parse("partner-requests", r.partner_requests),
            partner_swaps=RatePolicy.parse("partner-swaps", r.partner_swaps),
        )
    return EdgeLimits(max_body_bytes=settings.api.max_body_bytes, rates=rates)


def _counted(client: T, peer: str, metrics: PrometheusMetrics | None) -> T:
    """``client``, with its failed calls counted when there are metrics (same interface)."""
    return client if metrics is None else cast(T, CountingPeer(client, peer, metrics))
