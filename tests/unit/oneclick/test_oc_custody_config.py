import json
import stat
from pathlib import Path

import pytest

from nearintents.keys import PublicKey, implicit_account_id
from nearintents.quote_signature import verify_quote_signature
from oneclick.config import load_settings
from oneclick.custody.keys import (
    KeyCustody,
    KeyMaterial,
    derive_custody_key,
    init_key_file,
    load_key_file,
)
from oneclick.domain.errors import ConfigurationError


def test_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    material = init_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key_file(path).manager_public_key == material.manager_public_key
    with pytest.raises(ConfigurationError, match="already exists"):
        init_key_file(path)
    assert load_key_file(path).master_secret == material.master_secret


def test_a_readable_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    init_key_file(path)
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="readable by others"):
        load_key_file(path)


def test_secrets_do_not_show_in_reprs() -> None:
    material = KeyMaterial.generate()
    text = repr(material) + repr(KeyCustody(material))
    assert material.master_secret.hex() not in text
    assert material.manager_key.to_near_string() not in text
    assert material.jwt_secret.hex() not in text


def test_custody_accounts_are_deterministic_distinct_and_implicit() -> None:
    master = bytes(range(32))
    first, again, second = (derive_custody_key(master, i) for i in (1, 1, 2))
    assert first.public_key == again.public_key != second.public_key
    account = KeyCustody(KeyMaterial(master, first, bytes(32))).account(7)
    assert account.account_id == implicit_account_id(PublicKey.parse(account.public_key))
    assert len(account.account_id) == 64


def test_quotes_are_signed_with_the_manager_key() -> None:
    custody = KeyCustody(KeyMaterial.generate())
    response = {"quoteRequest": {"dry": True}, "quote": {"amountIn": "1"}, "timestamp": "t"}
    response["signature"] = custody.sign_quote(response)
    assert verify_quote_signature(response, custody.manager_public_key)


def test_settings_precedence_cli_over_env_over_toml_over_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "oneclick.toml"
    toml.write_text(
        '[api]\nhost = "10.0.0.1"\nport = 7000\n[quotes]\nplatform_fee_bps = 30\n'
        '[relay]\nurl = "http://relay.toml/rpc"\n'
    )
    monkeypatch.setenv("ONECLICK_API__PORT", "7100")
    monkeypatch.setenv("ONECLICK_RELAY__API_KEY", "s3cret")
    settings = load_settings(toml, api={"host": "127.0.0.9"})
    assert settings.api.host == "127.0.0.9"  # CLI
    assert settings.api.port == 7100  # env
    assert settings.quotes.platform_fee_bps == 30  # TOML
    assert settings.relay.url == "http://relay.toml/rpc"
    assert settings.quotes.min_deadline_s == 60  # default
    assert settings.relay.api_key is not None
    assert "s3cret" not in repr(settings)


def test_bad_settings_are_configuration_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONECLICK_QUOTES__PLATFORM_FEE_BPS", "9000")
    with pytest.raises(ConfigurationError, match="platform_fee_bps"):
        load_settings(data_dir=tmp_path)
    monkeypatch.delenv("ONECLICK_QUOTES__PLATFORM_FEE_BPS")
    monkeypatch.setenv("ONECLICK_KEYS__MASTER_SECRET", "00" * 32)
    with pytest.raises(ConfigurationError, match="need manager_key and jwt_secret"):
        load_settings(data_dir=tmp_path)


def test_keys_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from oneclick.bootstrap import load_keys

    material = KeyMaterial.generate()
    data = json.loads(material.to_json())
    monkeypatch.setenv("ONECLICK_KEYS__MASTER_SECRET", data["master_secret"])
    monkeypatch.setenv("ONECLICK_KEYS__MANAGER_KEY", data["manager_key"])
    monkeypatch.setenv("ONECLICK_KEYS__JWT_SECRET", data["jwt_secret"])
    assert load_keys(load_settings(data_dir=tmp_path)).manager_public_key == (
        material.manager_public_key
    )
