"""Settings: one nested pydantic-settings model. Precedence: CLI (init arguments) >
``ONECLICK_SECTION__KEY`` environment variables > TOML file > defaults. Nothing is read at import.

The TOML file is ``--config``, else ``$ONECLICK_CONFIG_FILE``, else ``<data dir>/oneclick.toml``
if it exists. Secrets are ``SecretStr`` and never printed.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path
from typing import Any

from limits import parse_many
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from oneclick.domain.errors import ConfigurationError

DEFAULT_DATA_DIR = Path(".oneclick")
CONFIG_FILE_ENV = "ONECLICK_CONFIG_FILE"
_toml_file: ContextVar[Path | None] = ContextVar("oneclick_toml_file", default=None)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RelaySettings(_Section):
    url: str = "https://solver-relay-v2.chaindefuser.com/rpc"
    api_key: SecretStr | None = None
    timeout_s: float = 10.0
    min_deadline_ms: int = Field(default=60_000, gt=0)


class BridgeSettings(_Section):
    # poa: chain legs through the PoA Bridge API at ``url`` (closed to partners since
    # 2026-11-11); upstream: through the upstream 1Click of section ``upstream`` (issue 19)
    mode: str = Field(default="poa", pattern="^(poa|upstream)$")
    url: str = "https://bridge.chaindefuser.com/rpc"
    api_key: SecretStr | None = None
    timeout_s: float = 10.0
    sync_tokens: bool = False
    # bridge chain id -> TokenResponse blockchain, for tokens learnt from supported_tokens
    chain_blockchains: dict[str, str] = Field(default_factory=dict)


class UpstreamSettings(_Section):
    """The upstream 1Click API of upstream mode (``[bridge] mode = "upstream"``). Give the
    partner credentials as ``ONECLICK_UPSTREAM__API_KEY`` / ``ONECLICK_UPSTREAM__JWT``."""

    url: str = "https://1click.chaindefuser.com"
    api_key: SecretStr | None = None
    jwt: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0)
    # upstream: chain payouts and refunds through the upstream too; poa: direct on-chain PoA
    # withdrawals (ft_withdraw with WITHDRAW_TO:), confirmed through ``[bridge] url``
    payouts: str = Field(default="upstream", pattern="^(upstream|poa)$")
    sync_tokens: bool = True  # the registry learns the upstream's GET /v0/tokens at start


class NearSettings(_Section):
    rpc_url: str = "https://rpc.mainnet.near.org"
    api_key: SecretStr | None = None
    verifier_contract: str = "intents.near"
    # The account that signs the solver relay's execute_intents transactions: NEAR RPC `tx`
    # needs it to read a transaction's outcome (to tell an executed intent from a dead one once
    # its nonce may have been garbage-collected), and to read the receipts of a withdrawal to a
    # NEAR account. Unset: the custody balance decides alone, and payouts and refunds to NEAR
    # accounts are refused (docs/protocol-notes.md).
    relayer_account: str | None = None
    # A funded NEAR account (and its ed25519 key, ``ed25519:...``) that creates and funds the
    # custody accounts so they can move NEAR-native ORIGIN_CHAIN deposits into intents.near;
    # unset, those quotes are refused.
    operator_account_id: str | None = None
    operator_key: SecretStr | None = None
    timeout_s: float = 10.0
    fee_cache_s: float = Field(default=30.0, ge=0)


class PricesSettings(_Section):
    url: str = "https://api.coingecko.com"
    api_key: SecretStr | None = None
    timeout_s: float = 5.0
    cache_s: float = Field(default=60.0, ge=0)


class DatabaseSettings(_Section):
    url: SecretStr | None = None  # may carry a password; default: SQLite under data_dir


class RateLimitSettings(_Section):
    """Per-client rates in the ``limits`` notation (``"10/minute;100/hour"``): anonymous
    clients per IP address, partners per partner. Non-dry quotes also count as requests."""

    enabled: bool = True
    requests: str = "600/minute"
    swaps: str = "10/minute;100/hour"  # non-dry quotes: each allocates a watched deposit account
    partner_requests: str = "3000/minute"
    partner_swaps: str = "60/minute;1000/hour"

    @field_validator("requests", "swaps", "partner_requests", "partner_swaps")
    @classmethod
    def _parses(cls, value: str) -> str:
        if not parse_many(value):
            raise ValueError(f"no rate limit in {value!r}")
        return value


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Above the idle timeouts of client agents (Node's 5 s; Go's and Rust hyper's 90 s), so that a
    # client never reuses a kept-alive connection that the server is closing (``socket hang up``).
    keep_alive_s: int = Field(default=100, ge=1)
    # Proxies whose X-Forwarded-For gives the client's address (for the per-IP rate limits).
    forwarded_allow_ips: str = "127.0.0.1"
    # Deposit addresses whose last GET /v0/status answer is kept (its bytes, the stamp of the
    # rows and the prices it shows), in each API process: about 2 KiB each for a swap awaiting
    # its deposit, more with each deposit and leg it shows (tracemalloc, issue 15); 0 keeps none.
    status_cache: int = Field(default=16384, ge=0)
    rate_limits: RateLimitSettings = RateLimitSettings()


class LogSettings(_Section):
    # json: one JSON object per line; text: for humans; auto: text on a terminal, else json
    format: str = Field(default="auto", pattern="^(auto|json|text)$")


class QuoteSettings(_Section):
    platform_fee_bps: int = Field(default=20, ge=0, le=500)
    platform_fee_recipient: str = "fees.oneclick.near"
    min_deadline_s: int = Field(default=60, ge=0)
    max_deadline_s: int = Field(default=86_400, gt=0)  # a quote's deadline at most this far ahead
    inactive_grace_s: int = Field(default=86_400, ge=0)
    time_estimate_s: int = Field(default=120, ge=0)
    route_time_estimates: dict[str, int] = Field(default_factory=dict)
    intent_lifetime_s: int = Field(default=300, gt=0)
    # Live (request deadline ahead), unfunded deposit addresses per client (0: no cap).
    max_unfunded_per_ip: int = Field(default=20, ge=0)
    max_unfunded_per_partner: int = Field(default=200, ge=0)

    @model_validator(mode="after")
    def _deadline_window(self) -> QuoteSettings:
        if self.max_deadline_s < self.min_deadline_s:
            raise ValueError("max_deadline_s must not be below min_deadline_s")
        return self


class EngineSettings(_Section):
    signing_standard: str = Field(default="nep413", pattern="^(nep413|raw_ed25519)$")
    swap_intent_lifetime_s: float = Field(default=60.0, gt=0)
    withdraw_intent_lifetime_s: float = Field(default=300.0, gt=0)
    dead_margin_s: float = Field(default=30.0, ge=0)
    # how long after a payout's deadline "Withdrawals not found" is still just the bridge's lag
    bridge_index_grace_s: float = Field(default=900.0, ge=0)
    deposit_poll_s: float = Field(default=10.0, gt=0)
    follow_poll_s: float = Field(default=2.0, gt=0)
    withdrawal_poll_s: float = Field(default=10.0, gt=0)
    quote_retry_s: float = Field(default=15.0, gt=0)
    sweep_poll_s: float = Field(default=60.0, gt=0)
    # the longest a quiet account (nothing new since a while) waits between deposit/sweep polls
    quiet_poll_max_s: float = Field(default=120.0, gt=0)
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)
    max_attempts: int = Field(default=60, ge=1)
    max_unexpected: int = Field(default=5, ge=1)
    stuck_grace_s: float = Field(default=3600.0, ge=0)
    any_input_threshold_usd: Decimal = Field(default=Decimal(1000), ge=0)
    any_input_retry_s: float = Field(default=300.0, gt=0)


class WorkerSettings(_Section):
    lease_s: float = Field(default=60.0, gt=0)
    batch: int = Field(default=20, ge=1)
    concurrency: int = Field(default=8, ge=1)
    idle_s: float = Field(default=1.0, gt=0)
    stop_grace_s: float = Field(default=20.0, ge=0)
    attention_every_s: float = Field(default=300.0, gt=0)
    custody_pool: int = Field(default=32, ge=1)  # custody accounts kept derived for the API
    # Prometheus /metrics of the worker on its own port (the API serves its own on /metrics).
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"


class ReconcileSettings(_Section):
    """The reconciliation of every custody account (run by the worker holding its lock)."""

    enabled: bool = True
    batch: int = Field(default=50, ge=1)
    batch_pause_s: float = Field(default=0.5, ge=0)
    pass_interval_s: float = Field(default=60.0, gt=0)


class KeySettings(_Section):
    file: Path | None = None  # default: <data_dir>/keys.json
    master_secret: SecretStr | None = None  # hex
    manager_key: SecretStr | None = None  # ed25519:<base58 secret key>
    jwt_secret: SecretStr | None = None  # hex, >= 32 bytes

    @model_validator(mode="after")
    def _all_or_none(self) -> KeySettings:
        # The API needs manager_key and jwt_secret only; workers also need master_secret.
        if (self.manager_key is None) != (self.jwt_secret is None) or (
            self.master_secret is not None and self.manager_key is None
        ):
            raise ValueError(
                "keys from the environment need manager_key and jwt_secret (the API), "
                "plus master_secret (workers)"
            )
        return self


class AuthSettings(_Section):
    """User sessions (``/v0/auth/*``, ``/v0/account/*``)."""

    access_ttl_s: int = Field(default=900, ge=30, le=86_400)
    refresh_ttl_s: int = Field(default=7 * 86_400, ge=60, le=365 * 86_400)
    # How far ahead a signed authentication payload's deadline may lie (a replay window).
    max_signed_ahead_s: int = Field(default=600, ge=10, le=86_400)
    # How long a spent refresh token may come back (a concurrent double refresh); 0: never.
    refresh_grace_s: int = Field(default=10, ge=0, le=300)
    # hex, >= 32 bytes; unset: derived from keys.jwt_secret. Changing it revokes every session.
    session_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _secret_is_long_hex(self) -> AuthSettings:
        if self.session_secret is not None:
            text = self.session_secret.get_secret_value()
            try:
                size = len(bytes.fromhex(text))
            except ValueError:
                size = 0
            if size < 32:
                raise ValueError("auth.session_secret must be at least 32 bytes in hex")
        return self


class TokenSettings(_Section):
    asset_id: str
    blockchain: str
    symbol: str
    decimals: int = Field(ge=0, le=255)
    cs_asset_id: str | None = None
    bridge_chain: str | None = None
    contract_address: str | None = None
    coingecko_id: str | None = None
    min_deposit_amount: int = Field(default=0, ge=0)
    min_withdrawal_amount: int = Field(default=0, ge=0)
    withdrawal_fee: int = Field(default=0, ge=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ONECLICK_",
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
    )

    data_dir: Path = DEFAULT_DATA_DIR
    relay: RelaySettings = RelaySettings()
    bridge: BridgeSettings = BridgeSettings()
    upstream: UpstreamSettings = UpstreamSettings()
    near: NearSettings = NearSettings()
    prices: PricesSettings = PricesSettings()
    database: DatabaseSettings = DatabaseSettings()
    api: ApiSettings = ApiSettings()
    quotes: QuoteSettings = QuoteSettings()
    engine: EngineSettings = EngineSettings()
    worker: WorkerSettings = WorkerSettings()
    keys: KeySettings = KeySettings()
    auth: AuthSettings = AuthSettings()
    log: LogSettings = LogSettings()
    reconcile: ReconcileSettings = ReconcileSettings()
    # blockchain slug -> explorer URL template with "{hash}", merged over the public explorers
    # (an empty template: no link for that chain)
    explorers: dict[str, str] = Field(default_factory=dict)
    tokens: list[TokenSettings] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = _toml_file.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    @property
    def key_file(self) -> Path:
        return self.keys.file or self.data_dir / "keys.json"

    @property
    def keys_from_env(self) -> bool:
        return self.keys.manager_key is not None


def load_settings(config_file: Path | None = None, **cli: Any) -> Settings:
    """Settings from every layer; ``cli`` holds only the options given on the command line
    (nested as dicts, e.g. ``api={"port": 9000}``). Bad settings raise ``ConfigurationError``."""
    cli = {k: v for k, v in cli.items() if v is not None}
    path = config_file or (Path(p) if (p := os.environ.get(CONFIG_FILE_ENV)) else None)
    if path is None:
        data_dir = Path(
            cli.get("data_dir") or os.environ.get("ONECLICK_DATA_DIR") or DEFAULT_DATA_DIR
        )
        candidate = data_dir / "oneclick.toml"
        path = candidate if candidate.exists() else None
    elif not path.exists():
        raise ConfigurationError(f"config file {path} does not exist")
    token = _toml_file.set(path)
    try:
        return Settings(**cli)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_input=False)
        )
        raise ConfigurationError(f"invalid settings: {problems}") from exc
    except ValueError as exc:  # a malformed TOML file
        raise ConfigurationError(f"cannot read settings: {exc}") from exc
    finally:
        _toml_file.reset(token)
