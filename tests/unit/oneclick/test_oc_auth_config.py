"""The user sessions' settings (``[auth]``): defaults, env overrides, and a dedicated signing
secret that must be long hex and never shows in a repr."""

from datetime import timedelta
from pathlib import Path

import pytest

from oneclick.bootstrap import session_policy_from_settings
from oneclick.config import AuthSettings, load_settings
from oneclick.domain.errors import ConfigurationError
from oneclick.services.sessions import EXPIRED_KEPT


def test_sessions_default_to_short_access_and_week_long_refresh(tmp_path: Path) -> None:
    policy = session_policy_from_settings(load_settings(data_dir=tmp_path))
    assert policy.access_ttl == timedelta(minutes=15)
    assert policy.refresh_ttl == timedelta(days=7)
    assert policy.max_signed_ahead == timedelta(minutes=10)
    assert policy.refresh_grace == timedelta(seconds=10)
    assert policy.secret is None  # derived from the install's JWT secret


def test_sessions_are_configured_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "ab" * 32
    monkeypatch.setenv("ONECLICK_AUTH__ACCESS_TTL_S", "60")
    monkeypatch.setenv("ONECLICK_AUTH__REFRESH_GRACE_S", "0")
    monkeypatch.setenv("ONECLICK_AUTH__SESSION_SECRET", secret)
    settings = load_settings(data_dir=tmp_path)
    policy = session_policy_from_settings(settings)
    assert policy.access_ttl == timedelta(seconds=60)
    assert policy.refresh_grace == timedelta(0)
    assert policy.secret == bytes.fromhex(secret)
    assert secret not in repr(policy)
    assert secret not in repr(settings)


@pytest.mark.parametrize("secret", ["short", "ab" * 16, "zz" * 32])
def test_a_weak_session_secret_is_refused_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("ONECLICK_AUTH__SESSION_SECRET", secret)
    with pytest.raises(ConfigurationError, match="session_secret"):
        load_settings(data_dir=tmp_path)


def test_no_signed_authentication_outlives_the_kept_expired_sessions() -> None:
    # A pruned session's nonce is forgotten: its signed payload must be dead by then.
    seconds = int(EXPIRED_KEPT.total_seconds())
    with pytest.raises(ValueError, match="max_signed_ahead_s"):
        AuthSettings(max_signed_ahead_s=seconds + 1)
