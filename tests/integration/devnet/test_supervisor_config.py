"""The devnet's manifest, as ``oneclick up`` turns it into the service's configuration: the
generated TOML loads into ``Settings`` and yields a registry with every devnet asset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devnet.world import devnet_assets
from oneclick.bootstrap import registry_from_settings
from oneclick.config import load_settings
from oneclick.devnet_link import (
    MARKER,
    NoDevnetError,
    config_toml,
    is_generated,
    load_manifest,
)


def manifest() -> dict[str, Any]:
    return {
        "version": 1,
        "pid": 1,
        "near_rpc": "http://127.0.0.1:1",
        "relay": "http://127.0.0.1:2/rpc",
        "relay_ws": "ws://127.0.0.1:2/ws",
        "bridge": "http://127.0.0.1:3/rpc",
        "prices": "http://127.0.0.1:4",
        "control": "http://127.0.0.1:5",
        "verifier_account": "intents.near",
        "chains": [
            {"chain": "eth:1", "blockchain": "eth", "rpc": None, "confirmations": 3, "memo": False},
            {
                "chain": "xrp:mainnet",
                "blockchain": "xrp",
                "rpc": None,
                "confirmations": 1,
                "memo": True,
            },
        ],
        "assets": [a.manifest() for a in devnet_assets()],
        "wallets": [],
    }


def test_the_generated_config_loads_with_every_devnet_asset(tmp_path: Path) -> None:
    path = tmp_path / "oneclick.toml"
    path.write_text(config_toml(manifest(), api_host="127.0.0.1", api_port=8123))
    assert is_generated(path)
    settings = load_settings(data_dir=tmp_path)
    assert settings.relay.url == "http://127.0.0.1:2/rpc"
    assert settings.bridge.url == "http://127.0.0.1:3/rpc"
    assert settings.near.rpc_url == "http://127.0.0.1:1"
    assert settings.prices.url == "http://127.0.0.1:4"
    assert settings.api.port == 8123
    assert settings.explorers == {"eth": "", "near": "", "xrp": ""}
    assert settings.reconcile.pass_interval_s == 5.0
    registry = registry_from_settings(settings)
    assert len(registry) == len(devnet_assets())
    usdc = registry.by_token_id("nep141:eth-0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48.omft.near")
    assert usdc is not None
    assert (usdc.blockchain, usdc.bridge_chain, usdc.decimals) == ("eth", "eth:1", 6)
    assert usdc.contract_address == "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
    assert usdc.coingecko_id == "usd-coin"
    assert usdc.withdrawal_fee == 100_000
    wnear = registry.by_token_id("nep141:wrap.near")
    assert wnear is not None
    assert wnear.is_near_native
    assert wnear.bridge_chain is None


def test_a_hand_written_config_is_not_generated(tmp_path: Path) -> None:
    path = tmp_path / "oneclick.toml"
    assert is_generated(path)  # nothing there: nothing to protect
    path.write_text("[api]\nport = 9000\n")
    assert not is_generated(path)
    path.write_text(MARKER + "\n")
    assert is_generated(path)


def test_a_manifest_of_a_dead_devnet_is_no_devnet(tmp_path: Path) -> None:
    with pytest.raises(NoDevnetError, match="start it with `oneclick up`"):
        load_manifest(tmp_path)
    (tmp_path / "devnet").mkdir()
    dead = {**manifest(), "pid": 2**22 + 12345}  # above Linux's default pid_max
    (tmp_path / "devnet" / "devnet.json").write_text(json.dumps(dead))
    with pytest.raises(NoDevnetError):
        load_manifest(tmp_path)


def test_the_relayer_account_reaches_the_service(tmp_path: Path) -> None:
    """NEAR RPC ``tx`` needs the relay's signer to read an execution outcome."""
    path = tmp_path / "oneclick.toml"
    with_relayer = {**manifest(), "relayer_account": "relayer.devnet.near"}
    path.write_text(config_toml(with_relayer, api_host="127.0.0.1", api_port=8123))
    assert load_settings(data_dir=tmp_path).near.relayer_account == "relayer.devnet.near"
    path.write_text(config_toml(manifest(), api_host="127.0.0.1", api_port=8123))
    assert load_settings(data_dir=tmp_path).near.relayer_account is None


def test_the_mainnet_lags_are_devnet_options_on_by_default() -> None:
    from devnet.supervisor import parser

    defaults = parser().parse_args([])
    assert defaults.withdrawal_lag == 3.0
    assert defaults.finality_lag == 2
    assert defaults.nonce_gc_interval == 10.0
    off = parser().parse_args(
        ["--withdrawal-lag", "0", "--finality-lag", "0", "--nonce-gc-interval", "60"]
    )
    assert (off.withdrawal_lag, off.finality_lag, off.nonce_gc_interval) == (0.0, 0, 60.0)


def test_the_front_config_of_up_upstream_is_in_upstream_mode(tmp_path: Path) -> None:
    """``oneclick up --upstream``: the front learns its tokens from the upstream; its JWT is
    never in the file (the environment of its processes carries it)."""
    path = tmp_path / "oneclick.toml"
    text = config_toml(
        manifest(), api_host="127.0.0.1", api_port=8123, upstream_url="http://127.0.0.1:9"
    )
    path.write_text(text)
    assert is_generated(path)
    settings = load_settings(data_dir=tmp_path)
    assert settings.bridge.mode == "upstream"
    assert settings.upstream.url == "http://127.0.0.1:9"
    assert settings.upstream.jwt is None
    assert settings.tokens == []
    assert settings.relay.url == "http://127.0.0.1:2/rpc"
