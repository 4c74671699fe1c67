"""Custody secret isolation: the API runs with only the manager key and the JWT secret, taking
custody accounts that workers derived ahead into the database (never one twice; a clear 503
while the pool is empty); and the per-client cap on live, unfunded deposit addresses. On SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from oc_helpers import quote_request

from nearintents.quote_signature import verify_quote_signature
from oneclick.api.app import create_app
from oneclick.bootstrap import runtime
from oneclick.config import load_settings
from oneclick.custody.keys import KeyCustody, KeyMaterial, QuoteKeys
from oneclick.domain.errors import ConfigurationError
from oneclick.domain.swaps import SwapStatus
from oneclick.services.clients import client_identity
from oneclick.services.context import QuotePolicy
from oneclick.services.custody_pool import top_up_custody_pool
from oneclick.services.engine import EngineContext
from oneclick.services.engine.metrics import CountingMetrics
from oneclick.services.partners import add_partner
from oneclick.services.ports import Custody
from oneclick.testing.world import FakeWorld, fake_world, sqlite_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("postgres_url"))


def _client(world: FakeWorld, ip: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(world.ctx), client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://oneclick")


async def test_the_api_runs_with_only_the_manager_key_and_the_jwt_secret(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    material = KeyMaterial.generate()  # the operator's; the API is given two of its keys
    world = await fake_world(database_url, keys=material, custody_pool=0)
    try:
        for name in list(os.environ):
            if name.startswith("ONECLICK_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("ONECLICK_KEYS__MANAGER_KEY", material.manager_key.to_near_string())
        monkeypatch.setenv("ONECLICK_KEYS__JWT_SECRET", material.jwt_secret.hex())
        monkeypatch.setenv("ONECLICK_DATABASE__URL", database_url)
        settings = load_settings(data_dir=tmp_path / "api")  # no key file there
        assert not settings.key_file.exists()
        with pytest.raises(ConfigurationError, match="MASTER_SECRET"):
            async with runtime(settings, worker=True):
                pass  # a worker cannot run on these keys
        async with runtime(settings, worker=False) as api:
            assert isinstance(api.custody, QuoteKeys)
            assert not isinstance(api.custody, Custody)  # nothing here can derive a custody key
            assert material.master_secret.hex() not in repr(vars(api.custody))
            with pytest.raises(ConfigurationError, match="master secret"):
                EngineContext.of(api, world.store, owner="w", metrics=CountingMetrics())
            world.ctx = dataclasses.replace(
                world.ctx, custody=api.custody, store=api.store, jwt_secret=api.jwt_secret
            )
            async with _client(world) as client:
                empty = await client.post("/v0/quote", json=quote_request())
                assert empty.status_code == 503, empty.text
                assert "no deposit address is available" in empty.json()["message"]
                # A worker (it holds the master secret) refills the pool.
                worker_custody = KeyCustody(material)
                assert await top_up_custody_pool(world.store, worker_custody, 3, world.clock.now())
                quote = await client.post("/v0/quote", json=quote_request())
            assert quote.status_code == 200, quote.text
            assert verify_quote_signature(quote.json(), material.manager_public_key)
            async with world.store.transaction() as tx:
                swap = await tx.swaps.by_deposit(quote.json()["quote"]["depositAddress"], None)
                assert swap is not None
                account = await tx.custody.get(swap.custody_account_id)
                assert account is not None
                assert await tx.custody.free_count() == 2
            # The worker signs for the account the API handed out: the same derivation.
            assert worker_custody.account(account.index) == account
    finally:
        await world.aclose()


async def test_pooled_accounts_are_never_handed_out_twice(database_url: str) -> None:
    world = await fake_world(database_url, custody_pool=12)
    try:

        async def take() -> int | None:
            async with world.store.transaction() as tx:
                account = await tx.custody.take(world.clock.now())
            return account.index if account else None

        taken = await asyncio.gather(*(take() for _ in range(20)))
        indexes = [i for i in taken if i is not None]
        assert len(indexes) == len(set(indexes)) == 12
        assert taken.count(None) == 8
        async with world.store.transaction() as tx:
            assert await tx.custody.free_count() == 0
        custody = world.ctx.custody
        assert isinstance(custody, Custody)
        assert await top_up_custody_pool(world.store, custody, 5, world.clock.now()) == 5
        assert await top_up_custody_pool(world.store, custody, 5, world.clock.now()) == 0
        assert await take() not in indexes  # new indexes, never a taken one again
    finally:
        await world.aclose()


async def test_live_unfunded_deposit_addresses_are_capped_per_client(database_url: str) -> None:
    policy = QuotePolicy(max_unfunded_per_ip=2, max_unfunded_per_partner=3)
    world = await fake_world(database_url, policy=policy)
    try:
        _, token = await add_partner(world.store, "acme", secret=world.keys.jwt_secret,
                                     now=world.clock.now(), ttl=timedelta(days=1))  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}
        async with _client(world) as client, _client(world, "198.51.100.9") as other:
            first = [await client.post("/v0/quote", json=quote_request()) for _ in range(2)]
            assert [r.status_code for r in first] == [200, 200]
            over = await client.post("/v0/quote", json=quote_request())
            assert over.status_code == 429, over.text
            assert "limit is 2" in over.json()["message"]
            dry = await client.post("/v0/quote", json=quote_request(dry=True))
            assert dry.status_code == 200  # a dry quote allocates nothing: never capped
            assert (await other.post("/v0/quote", json=quote_request())).status_code == 200
            partner = [await client.post("/v0/quote", json=quote_request(), headers=auth)
                       for _ in range(4)]  # fmt: skip
            assert [r.status_code for r in partner] == [200, 200, 200, 429]
            # Funding one (a deposit seen) frees a place for that client.
            async with world.store.transaction() as tx:
                address = first[0].json()["quote"]["depositAddress"]
                record = await tx.swaps.by_deposit(address, None)
                assert record is not None
                swap = await tx.swaps.load(record.id)
                assert swap is not None
                swap.move_to(SwapStatus.KNOWN_DEPOSIT_TX)
                await tx.swaps.save(swap, world.clock.now())
            assert (await client.post("/v0/quote", json=quote_request())).status_code == 200
            # So does the request deadline passing (no deposit is expected after it).
            world.clock.advance(timedelta(days=1))
            later = await client.post(
                "/v0/quote",
                json=quote_request(deadline=(world.clock.now() + timedelta(hours=1)).isoformat()),
            )
            assert later.status_code == 200, later.text
    finally:
        await world.aclose()


def test_client_identity_names_partners_by_id_and_others_by_ip() -> None:
    from datetime import UTC, datetime

    from oneclick.domain.records import Partner

    acme = Partner("4b3c", "acme", datetime(2026, 1, 1, tzinfo=UTC), None)
    assert client_identity(acme, "203.0.113.7") == "partner:4b3c"
    assert client_identity(None, "203.0.113.7") == "ip:203.0.113.7"
    assert client_identity(None, None) == "ip:unknown"
    assert client_identity(None, "2001:db8:1:2:3:4:5:6") == "ip:2001:db8:1:2::/64"
    assert len(client_identity(None, "x" * 500)) <= 80


def test_the_caps_and_the_pool_size_are_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oneclick.bootstrap import policy_from_settings, worker_options

    defaults = load_settings(data_dir=tmp_path)
    policy = policy_from_settings(defaults)
    assert (policy.max_unfunded_per_ip, policy.max_unfunded_per_partner) == (20, 200)
    assert worker_options(defaults).custody_pool == 32
    monkeypatch.setenv("ONECLICK_QUOTES__MAX_UNFUNDED_PER_IP", "0")  # 0: no cap
    monkeypatch.setenv("ONECLICK_WORKER__CUSTODY_POOL", "100")
    changed = load_settings(data_dir=tmp_path)
    assert policy_from_settings(changed).max_unfunded_per_ip is None
    assert worker_options(changed).custody_pool == 100
