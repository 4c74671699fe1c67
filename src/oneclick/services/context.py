"""The ports and policy a request needs, gathered once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

from oneclick.domain.assets import AssetRegistry
from oneclick.services.fees import ProtocolFeeCache
from oneclick.services.ports import (
    Bridge,
    Clock,
    NearChain,
    NearSigner,
    Prices,
    QuoteSigner,
    SolverRelay,
    Store,
    Upstream,
    Verifier,
)


@dataclass(frozen=True, slots=True)
class QuotePolicy:
    """Operator choices that shape quotes (config section ``quotes``)."""

    platform_fee_bps: int = 20
    platform_fee_recipient: str = "fees.oneclick.near"
    min_deadline: timedelta = timedelta(seconds=60)
    max_deadline: timedelta = timedelta(hours=24)
    inactive_grace: timedelta = timedelta(hours=24)
    time_estimate_s: int = 120
    route_time_estimates: dict[str, int] = field(default_factory=dict)
    relay_min_deadline_ms: int = 60_000
    verifier_contract: str = "intents.near"
    intent_lifetime: timedelta = timedelta(minutes=5)
    # Live (unexpired), unfunded non-dry quotes one client may hold; None: no cap.
    max_unfunded_per_ip: int | None = None
    max_unfunded_per_partner: int | None = None
    # Who signs the relay's execute_intents transactions (``near.relayer_account``): ``tx`` needs
    # it to read a withdrawal's receipts. Unset, payouts and refunds to NEAR accounts cannot be
    # confirmed and are refused.
    near_relayer_account: str | None = None
    # The funded account that moves NEAR-native deposits (``near.operator_account_id`` with its
    # key); unset, those quotes are refused. The API quotes on it without holding the key.
    near_operator_account: str | None = None

    def time_estimate(self, origin_chain: str, destination_chain: str) -> int:
        """Seconds after deposit confirmation: ``"<origin>-><destination>"``, then
        ``"<origin>->*"``, then ``"*-><destination>"``, then the default."""
        for key in (
            f"{origin_chain}->{destination_chain}",
            f"{origin_chain}->*",
            f"*->{destination_chain}",
        ):
            if key in self.route_time_estimates:
                return self.route_time_estimates[key]
        return self.time_estimate_s


# The public explorer of every blockchain of the 1Click token list (``[explorers]`` overrides
# them; hosts as linked from docs.near-intents.org, defuse-protocol/docs).
DEFAULT_EXPLORERS: dict[str, str] = {
    "near": "https://nearblocks.io/txns/{hash}",
    "eth": "https://etherscan.io/tx/{hash}",
    "base": "https://basescan.org/tx/{hash}",
    "arb": "https://arbiscan.io/tx/{hash}",
    "btc": "https://mempool.space/tx/{hash}",
    "sol": "https://solscan.io/tx/{hash}",
    "ton": "https://tonviewer.com/transaction/{hash}",
    "dash": "https://blockchair.com/dash/transaction/{hash}",
    "doge": "https://blockchair.com/dogecoin/transaction/{hash}",
    "xrp": "https://xrpscan.com/tx/{hash}",
    "zec": "https://mainnet.zcashexplorer.app/transactions/{hash}",
    "gnosis": "https://gnosisscan.io/tx/{hash}",
    "bera": "https://berascan.com/tx/{hash}",
    "bsc": "https://bscscan.com/tx/{hash}",
    "pol": "https://polygonscan.com/tx/{hash}",
    "tron": "https://tronscan.org/#/transaction/{hash}",
    "sui": "https://suiscan.xyz/mainnet/tx/{hash}",
    "movement": "https://explorer.movementnetwork.xyz/txn/{hash}?network=mainnet",
    "op": "https://optimistic.etherscan.io/tx/{hash}",
    "avax": "https://snowtrace.io/tx/{hash}",
    "stellar": "https://stellar.expert/explorer/public/tx/{hash}",
    "aptos": "https://aptoscan.com/transaction/{hash}",
    "cardano": "https://cardanoscan.io/transaction/{hash}",
    "ltc": "https://blockchair.com/litecoin/transaction/{hash}",
    "xlayer": "https://xlayerscan.com/tx/{hash}",
    "monad": "https://monad.socialscan.io/tx/{hash}",
    "bch": "https://www.blockchain.com/explorer/transactions/bch/{hash}",
    "adi": "https://explorer.adifoundation.ai/tx/{hash}",
    "plasma": "https://plasmascan.to/tx/{hash}",
    "scroll": "https://scrollscan.com/tx/{hash}",
    "starknet": "https://voyager.online/tx/{hash}",
    "aleo": "https://aleoscan.io/transaction?id={hash}",
    "hypercore": "https://app.hyperliquid.xyz/explorer/tx/{hash}",
}


@dataclass(frozen=True, slots=True)
class EnginePolicy:
    """Operator choices for the swap engine (config section ``engine``)."""

    signing_standard: str = "nep413"  # or raw_ed25519
    swap_intent_lifetime: timedelta = timedelta(seconds=60)  # capped by the quote's expiry
    withdraw_intent_lifetime: timedelta = timedelta(minutes=5)
    # An intent is declared dead this long after its deadline if its nonce is still unused
    # (room for clock skew between us and the chain).
    dead_margin: timedelta = timedelta(seconds=30)
    # How long after a payout's deadline the bridge may still answer "Withdrawals not found"
    # for its burn (its NEAR indexer lags) before that counts as a failure to retry.
    bridge_index_grace: timedelta = timedelta(minutes=15)
    deposit_poll: timedelta = timedelta(seconds=10)
    follow_poll: timedelta = timedelta(seconds=2)
    withdrawal_poll: timedelta = timedelta(seconds=10)
    quote_retry: timedelta = timedelta(seconds=15)
    sweep_poll: timedelta = timedelta(seconds=60)
    # A deposit or sweep poll of an account where nothing happened for a while waits a quarter
    # of that while (never less than the poll above, never more than this): see
    # ``engine.deposits.quiet_poll``.
    quiet_poll_max: timedelta = timedelta(minutes=2)
    backoff_base: timedelta = timedelta(seconds=2)
    backoff_max: timedelta = timedelta(minutes=5)
    max_attempts: int = 60  # temporary failures in a row before the swap is parked
    max_unexpected: int = 5  # unexpected exceptions in a row before the swap is parked
    stuck_grace: timedelta = timedelta(hours=1)
    # ANY_INPUT (docs fee-config.mdx): the pool leaves once worth this much; failed swaps and
    # withdrawals are retried this often (services/engine/any_input.py).
    any_input_threshold_usd: Decimal = Decimal(1000)
    any_input_retry: timedelta = timedelta(minutes=5)
    explorers: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_EXPLORERS))

    def explorer_url(self, blockchain: str, tx_hash: str) -> str:
        """The link to ``tx_hash`` on ``blockchain``'s explorer; "" where none is configured."""
        template = self.explorers.get(blockchain)
        return template.replace("{hash}", quote(tx_hash, safe="")) if template else ""


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """Operator choices for user sessions (config section ``auth``; services/sessions.py)."""

    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=7)
    max_signed_ahead: timedelta = timedelta(minutes=10)  # a signed payload's deadline, at most
    # How long after a rotation the refresh token it spent still gets the same next token (two
    # tabs refreshing at once); later, presenting it revokes the session. Zero: never.
    refresh_grace: timedelta = timedelta(seconds=10)
    # A dedicated signing secret; None: derived from the install's JWT secret.
    secret: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class UpstreamMode:
    """Upstream mode (:mod:`oneclick.services.upstream`): chain deposits always ride ``api``;
    chain payouts and refunds too unless ``payouts`` is False (then they are direct on-chain PoA
    withdrawals, ``ft_withdraw``)."""

    api: Upstream
    payouts: bool = True


@dataclass(frozen=True, slots=True)
class ServiceContext:
    relay: SolverRelay
    bridge: Bridge
    verifier: Verifier
    prices: Prices
    clock: Clock
    store: Store
    custody: QuoteSigner  # the API's: the manager key only (workers get a full ``Custody``)
    registry: AssetRegistry
    fee_cache: ProtocolFeeCache
    policy: QuotePolicy = field(default_factory=QuotePolicy)
    jwt_secret: bytes = field(default=b"", repr=False)
    engine: EnginePolicy = field(default_factory=EnginePolicy)
    near: NearChain | None = None
    near_signer: NearSigner | None = None  # workers with an operator account: NEAR deposits
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    upstream: UpstreamMode | None = None  # ``[bridge] mode = "upstream"``
