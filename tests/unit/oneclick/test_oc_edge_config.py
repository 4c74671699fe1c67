"""The edge limits' settings: public defaults, layered overrides, bad values refused at load."""

from datetime import timedelta
from pathlib import Path

import pytest

from oneclick.bootstrap import edge_limits, policy_from_settings
from oneclick.config import load_settings
from oneclick.domain.errors import ConfigurationError


def test_the_defaults_suit_a_public_deployment(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    limits = edge_limits(settings)
    assert limits.max_body_bytes == 64 * 1024
    assert limits.rates is not None
    assert [str(w) for w in limits.rates.swaps.windows] == ["10 per 1 minute", "100 per 1 hour"]
    assert [str(w) for w in limits.rates.requests.windows] == ["600 per 1 minute"]
    assert policy_from_settings(settings).max_deadline == timedelta(hours=24)
    # above Node's agent (5 s, see test_oc_api_server) and Go's and hyper's idle pools (90 s)
    assert settings.api.keep_alive_s > 90
    assert settings.log.format == "auto"


def test_limits_are_layered_like_every_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONECLICK_API__RATE_LIMITS__SWAPS", "3/second")
    monkeypatch.setenv("ONECLICK_QUOTES__MAX_DEADLINE_S", "3600")
    settings = load_settings(
        data_dir=tmp_path, api={"max_body_bytes": 4096, "rate_limits": {"enabled": True}}
    )
    limits = edge_limits(settings)
    assert limits.max_body_bytes == 4096
    assert limits.rates is not None
    assert [str(w) for w in limits.rates.swaps.windows] == ["3 per 1 second"]
    assert policy_from_settings(settings).max_deadline == timedelta(hours=1)
    monkeypatch.setenv("ONECLICK_API__RATE_LIMITS__ENABLED", "false")
    assert edge_limits(load_settings(data_dir=tmp_path)).rates is None


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("ONECLICK_API__RATE_LIMITS__SWAPS", "ten a minute", "couldn't parse rate limit"),
        ("ONECLICK_API__MAX_BODY_BYTES", "10", "greater than or equal to 1024"),
        ("ONECLICK_QUOTES__MAX_DEADLINE_S", "30", "max_deadline_s must not be below"),
        ("ONECLICK_LOG__FORMAT", "xml", "should match pattern"),
    ],
)
def test_bad_limits_are_refused_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=problem):
        load_settings(data_dir=tmp_path)
