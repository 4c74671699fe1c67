"""``oneclick``: keys, partners, database and the API server. Every command takes
``--data-dir`` and ``--config``; a configuration problem exits with status 2."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from oneclick.adapters.prometheus import PrometheusMetrics
from oneclick.bootstrap import (
    SystemClock,
    build_app,
    build_reconciler,
    build_worker,
    check_schema,
    database_url,
    engine_policy_from_settings,
    load_api_keys,
    runtime,
    webhook_dispatcher,
)
from oneclick.cli import client_commands
from oneclick.cli.devnet import devnet_app
from oneclick.cli.up import up
from oneclick.config import Settings, load_settings
from oneclick.custody.keys import init_key_file
from oneclick.domain.engine import SwapState
from oneclick.domain.errors import ConfigurationError, RequestError
from oneclick.domain.reconcile import Holding
from oneclick.services import partners as partner_service
from oneclick.services import webhooks as webhook_service
from oneclick.services.engine import admin
from oneclick.services.ports import Clock, EngineStore
from oneclick.services.reconcile import held_balances
from oneclick.store.database import connect_database, upgrade
from oneclick.store.sql import SqlStore

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="A self-hostable 1Click API service.")
keys_app = typer.Typer(no_args_is_help=True, help="The key file: master secret, manager key.")
partners_app = typer.Typer(no_args_is_help=True, help="Partners and their JWTs.")
db_app = typer.Typer(no_args_is_help=True, help="The database.")
admin_app = typer.Typer(no_args_is_help=True, help="Operator actions on swaps.")
app.add_typer(admin_app, name="admin")
app.add_typer(keys_app, name="keys")
app.add_typer(partners_app, name="partners")
app.add_typer(db_app, name="db")
app.add_typer(devnet_app, name="devnet")
app.command("up")(up)
client_commands.register(app)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default ./.oneclick).")
]
ConfigFile = Annotated[Path | None, typer.Option("--config", help="TOML configuration file.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
LogFormatOption = Annotated[
    str | None,
    typer.Option(
        "--log-format",
        help="json (one object per line), text, or auto (text on a terminal, else json).",
    ),
]


def _settings(data_dir: Path | None, config: Path | None, **cli: Any) -> Settings:
    try:
        return load_settings(config, data_dir=data_dir, **cli)
    except ConfigurationError as exc:
        _fail(exc.message, 2)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except ConfigurationError as exc:
        _fail(exc.message, 2)
    except RequestError as exc:
        _fail(exc.message, 1)


async def _with_store(settings: Settings, use: Callable[[SqlStore], Awaitable[T]]) -> T:
    db = connect_database(database_url(settings))
    try:
        await upgrade(db)
        return await use(SqlStore(db))
    finally:
        await db.dispose()


@keys_app.command("init")
def keys_init(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Create the key file (mode 0600); refuses to overwrite an existing one."""
    settings = _settings(data_dir, config)
    material = _run(lambda: init_key_file(settings.key_file))
    typer.echo(f"created {settings.key_file}")
    typer.echo(f"manager public key: {material.manager_public_key}")


@keys_app.command("show")
def keys_show(data_dir: DataDir = None, config: ConfigFile = None, as_json: AsJson = False) -> None:
    """Print the manager public key (what clients pass to verifyQuoteSignature)."""
    settings = _settings(data_dir, config)
    material = _run(lambda: load_api_keys(settings))  # the public key: no master secret
    source = "environment" if settings.keys_from_env else str(settings.key_file)
    if as_json:
        typer.echo(json.dumps({"managerPublicKey": material.manager_public_key, "source": source}))
    else:
        typer.echo(material.manager_public_key)


@partners_app.command("add")
def partners_add(
    name: str,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    days: Annotated[int, typer.Option(help="Token validity in days (0: no expiry).")] = 365,
    webhook_url: Annotated[
        str | None, typer.Option("--webhook-url", help="POST signed status events here.")
    ] = None,
) -> None:
    """Register a partner and print its JWT (shown once; only its validity is stored) and, with
    --webhook-url, its webhook signing secret."""
    settings = _settings(data_dir, config)
    secret = _run(lambda: load_api_keys(settings)).jwt_secret
    now = SystemClock().now()
    ttl = timedelta(days=days) if days > 0 else None
    if webhook_url is not None:
        _run(lambda: webhook_service.check_webhook_url(webhook_url))

    async def add(store: SqlStore) -> tuple[str, str | None]:
        _, token = await partner_service.add_partner(store, name, secret=secret, now=now, ttl=ttl)
        if webhook_url is None:
            return token, None
        signing = await webhook_service.set_webhook(store, name, webhook_url, install_key=secret)
        return token, signing

    token, signing = _run(lambda: asyncio.run(_with_store(settings, add)))
    typer.echo(token)
    if signing is not None:
        typer.echo(f"webhook secret: {signing}")


@partners_app.command("webhook")
def partners_webhook(
    name: str,
    url: Annotated[str | None, typer.Argument(help="Where to POST signed events.")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Stop sending webhooks.")] = False,
    rotate: Annotated[
        bool, typer.Option("--rotate-secret", help="Derive a new signing secret.")
    ] = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Set (and print the signing secret of) or remove a partner's webhook URL."""
    if (url is None) == (not remove):
        _fail("give either a URL or --remove", 1)
    settings = _settings(data_dir, config)
    key = _run(lambda: load_api_keys(settings)).jwt_secret
    signing = _run(
        lambda: asyncio.run(
            _with_store(
                settings,
                lambda store: webhook_service.set_webhook(
                    store, name, None if remove else url, install_key=key, rotate=rotate
                ),
            )
        )
    )
    if signing is None:
        typer.echo(f"webhooks of {name} removed (pending events dropped)")
    else:
        typer.echo(f"webhook secret: {signing}")


@partners_app.command("deliveries")
def partners_deliveries(
    name: str,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    limit: Annotated[int, typer.Option(help="How many of the latest events.")] = 20,
    as_json: AsJson = False,
) -> None:
    """The latest webhook events of a partner and their delivery attempts."""
    settings = _settings(data_dir, config)
    found = _run(
        lambda: asyncio.run(
            _with_store(
                settings, lambda store: webhook_service.partner_deliveries(store, name, limit)
            )
        )
    )
    rows = [
        {"eventId": d.event_id, "state": d.state.value, "attempts": d.attempts,
         "createdAt": _iso(d.created_at), "lastAttemptAt": _iso(d.last_attempt_at),
         "nextAttemptAt": _iso(d.next_attempt_at), "lastResult": d.last_result}
        for d in found
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        typer.echo(
            f"{row['eventId']}\t{row['state']}\t{row['attempts']} attempt(s)\t"
            f"{row['lastResult'] or '-'}\tnext {row['nextAttemptAt'] or '-'}"
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


@partners_app.command("list")
def partners_list(
    data_dir: DataDir = None, config: ConfigFile = None, as_json: AsJson = False
) -> None:
    """List partners with their expiry and revocation."""
    settings = _settings(data_dir, config)
    found = _run(lambda: asyncio.run(_with_store(settings, partner_service.list_partners)))
    rows = [
        {"name": p.name, "id": p.id, "createdAt": _iso(p.created_at),
         "expiresAt": _iso(p.expires_at), "revokedAt": _iso(p.revoked_at)}
        for p in found
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        state = "revoked" if row["revokedAt"] else "active"
        typer.echo(f"{row['name']}\t{state}\texpires {row['expiresAt'] or 'never'}")


@partners_app.command("revoke")
def partners_revoke(name: str, data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Revoke a partner: its tokens get 401 from now on."""
    settings = _settings(data_dir, config)
    now = SystemClock().now()
    _run(
        lambda: asyncio.run(
            _with_store(
                settings, lambda store: partner_service.revoke_partner(store, name, now=now)
            )
        )
    )
    typer.echo(f"revoked {name}")


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Apply the packaged migrations (once, under a lock on PostgreSQL). The API and workers
    refuse to start until the schema is current; `oneclick up` runs this itself."""
    settings = _settings(data_dir, config)

    async def migrate() -> None:
        db = connect_database(database_url(settings))
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    _run(lambda: asyncio.run(migrate()))
    typer.echo("database is up to date")


def _setup_logging(settings: Settings) -> None:
    from oneclick.logging import setup_logging

    setup_logging(settings.log.format)


@app.command("api")
def api(
    data_dir: DataDir = None,
    config: ConfigFile = None,
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    log_format: LogFormatOption = None,
) -> None:
    """Serve the 1Click API (uvicorn)."""
    import uvicorn

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = _settings(
        data_dir, config, api=overrides or None, log={"format": log_format} if log_format else None
    )
    _setup_logging(settings)
    _run(lambda: asyncio.run(check_schema(settings)))  # before serving, with a clear message
    application = _run(lambda: build_app(settings))
    uvicorn.run(
        application,
        host=settings.api.host,
        port=settings.api.port,
        log_level="info",
        timeout_keep_alive=settings.api.keep_alive_s,
        forwarded_allow_ips=settings.api.forwarded_allow_ips,
        log_config=None,  # uvicorn's own lines go through ours (JSON or text)
        access_log=False,  # CorrelationMiddleware logs every request, with its correlation id
    )


@app.command("worker")
def worker(
    data_dir: DataDir = None,
    config: ConfigFile = None,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", help="Serve Prometheus /metrics on this port."),
    ] = None,
    log_format: LogFormatOption = None,
) -> None:
    """Run the swap engine until SIGTERM/SIGINT (any number on PostgreSQL, one on SQLite)."""
    import signal

    settings = _settings(
        data_dir,
        config,
        worker={"metrics_port": metrics_port} if metrics_port else None,
        log={"format": log_format} if log_format else None,
    )
    _setup_logging(settings)
    metrics = PrometheusMetrics()
    if settings.worker.metrics_port is not None:
        metrics.serve(settings.worker.metrics_port, settings.worker.metrics_host)

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with runtime(settings, metrics) as ctx, webhook_dispatcher(ctx, settings) as hooks:
            worker = build_worker(ctx, settings, metrics)
            # Beside the engine, not in a TaskGroup: the worker's own errors (a second SQLite
            # worker: ConfigurationError, exit 2) must surface as they are.
            loops = [asyncio.create_task(hooks.run(stop))]
            if settings.reconcile.enabled:
                reconciler = build_reconciler(ctx, settings, metrics)
                loops.append(asyncio.create_task(reconciler.run(stop)))
            try:
                await worker.run(stop)
            finally:
                stop.set()  # also when the worker refuses to start (the SQLite lock is held)
                await asyncio.gather(*loops)

    _run(lambda: asyncio.run(work()))


def _swap_row(swap: SwapState) -> dict[str, Any]:
    return {
        "kind": "swap",
        "depositAddress": swap.deposit_address,
        "depositMemo": swap.deposit_memo,
        "swapId": swap.id,
        "status": swap.status.value,
        "phase": swap.phase.value,
        "deadline": _iso(swap.request_deadline),
        "updatedAt": _iso(swap.updated_at),
        "attempts": swap.attempts,
        "lastError": swap.last_error,
    }


def _print_swaps(swaps: list[SwapState], as_json: bool) -> None:
    rows = [_swap_row(s) for s in swaps]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        typer.echo(
            f"{row['depositAddress']}\t{row['status']}\t{row['phase']}\t"
            f"deadline {row['deadline']}\t{row['lastError'] or ''}"
        )


Memo = Annotated[str | None, typer.Option("--memo", help="The deposit memo, if the quote had one.")]


AdminAction = Callable[[EngineStore, Clock, str, str | None], Awaitable[SwapState]]


def _admin_action(
    action: AdminAction, deposit_address: str, memo: str | None,
    data_dir: Path | None, config: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """Run one admin action on the swap at ``deposit_address`` and print the swap after it."""
    settings = _settings(data_dir, config)
    clock = SystemClock()
    swap = _run(
        lambda: asyncio.run(
            _with_store(settings, lambda s: action(s, clock, deposit_address, memo))
        )
    )
    _print_swaps([swap], as_json)


@admin_app.command("refund")
def admin_refund(
    deposit_address: str,
    memo: Memo = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    as_json: AsJson = False,
) -> None:
    """Refund what a swap's custody account holds to its refundTo (a running worker does it)."""
    _admin_action(admin.refund_swap, deposit_address, memo, data_dir, config, as_json)


@admin_app.command("retry")
def admin_retry(
    deposit_address: str,
    memo: Memo = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    as_json: AsJson = False,
) -> None:
    """Run a parked swap again from the step where it stopped."""
    _admin_action(admin.retry_swap, deposit_address, memo, data_dir, config, as_json)


def _holding_row(holding: Holding) -> dict[str, Any]:
    return {
        "kind": "balance",
        "depositAddress": holding.deposit_address,
        "depositMemo": holding.deposit_memo,
        "swapId": holding.swap_id,
        "status": holding.disposition.value,
        "token": holding.token,
        "amount": str(holding.amount),
        "reason": holding.reason,
        "updatedAt": _iso(holding.updated_at),
    }


@admin_app.command("stuck")
def admin_stuck(
    data_dir: DataDir = None, config: ConfigFile = None, as_json: AsJson = False
) -> None:
    """List parked swaps, swaps without an outcome past their deadline plus the grace, and the
    balances the reconciliation could not refund (dust, no route back to refundTo)."""
    settings = _settings(data_dir, config)
    grace = engine_policy_from_settings(settings).stuck_grace
    clock = SystemClock()

    async def both(store: SqlStore) -> tuple[list[SwapState], list[Holding]]:
        return await admin.stuck_swaps(store, clock, grace), await held_balances(store)

    found, held = _run(lambda: asyncio.run(_with_store(settings, both)))
    if as_json:
        typer.echo(json.dumps([_swap_row(s) for s in found] + [_holding_row(h) for h in held]))
        return
    _print_swaps(found, as_json)
    for h in held:
        typer.echo(f"{h.deposit_address}\t{h.disposition.value}\t{h.amount} {h.token}\t{h.reason}")


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())
