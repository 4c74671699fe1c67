"""The asset registry: every token the service swaps, reachable by its Verifier token id
(``nep141:…``) or its ``1cs_v1:`` asset id (PROTOCOL.md §5.12), resolved in one place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nearintents.tokens import (
    AnyAsset,
    AssetId,
    InvalidAssetId,
    TokenId,
    parse_asset,
)
from oneclick.domain.errors import RequestError

NEAR_BLOCKCHAIN = "near"


@dataclass(frozen=True, slots=True)
class Asset:
    """One swappable token.

    ``asset_id`` is its id inside the verifier; ``bridge_chain`` the PoA bridge chain id
    (``eth:1``) or None for NEAR-native tokens; ``withdrawal_fee`` what the bridge keeps on a
    withdrawal to the token's chain (base units).
    """

    asset_id: str
    blockchain: str
    symbol: str
    decimals: int
    cs_asset_id: str | None = None
    bridge_chain: str | None = None
    contract_address: str | None = None
    coingecko_id: str | None = None
    min_deposit_amount: int = 0
    min_withdrawal_amount: int = 0
    withdrawal_fee: int = 0

    def __post_init__(self) -> None:
        TokenId.parse(self.asset_id)  # raises InvalidTokenId for a malformed configuration
        if self.cs_asset_id is not None:
            AssetId.parse(self.cs_asset_id)
        if not 0 <= self.decimals <= 255:
            raise ValueError(f"{self.asset_id}: decimals out of range")

    @property
    def is_near_native(self) -> bool:
        """Deposited on NEAR itself: the deposit address is the custody account."""
        return self.bridge_chain is None or self.blockchain == NEAR_BLOCKCHAIN


def _cs_key(asset: AssetId) -> tuple[str, str, str, str | None]:
    # EVM-style references are case-insensitive (checksummed or not, the same contract).
    reference = asset.reference.lower() if asset.reference.startswith("0x") else asset.reference
    return (asset.chain, asset.namespace, reference, asset.selector)


class AssetRegistry:
    """Lookup by either id form. Later entries with the same id replace earlier ones."""

    def __init__(self, assets: Iterable[Asset] = ()) -> None:
        self._by_token: dict[str, Asset] = {}
        self._by_cs: dict[tuple[str, str, str, str | None], Asset] = {}
        for asset in assets:
            self.add(asset)

    def add(self, asset: Asset) -> None:
        self._by_token[asset.asset_id] = asset
        if asset.cs_asset_id is not None:
            self._by_cs[_cs_key(AssetId.parse(asset.cs_asset_id))] = asset

    def __len__(self) -> int:
        return len(self._by_token)

    def all(self) -> list[Asset]:
        return list(self._by_token.values())

    def by_token_id(self, token_id: str) -> Asset | None:
        return self._by_token.get(token_id)

    def resolve(self, text: object, *, what: str) -> Asset:
        """The asset named by ``text`` in either form; a clear ``RequestError`` otherwise."""
        if not isinstance(text, str) or not text:
            raise RequestError(f"{what} must be an asset id string")
        try:
            parsed = parse_asset(text)
        except (InvalidAssetId, ValueError) as exc:
            raise RequestError(f"{what} {text!r} is not a valid asset id") from exc
        if isinstance(parsed, AnyAsset):
            raise RequestError(f"{what} '1cs:any' (ANY_INPUT) is not supported by this service")
        found = (
            self._by_cs.get(_cs_key(parsed))
            if isinstance(parsed, AssetId)
            else self._by_token.get(str(parsed))
        )
        if found is None:
            raise RequestError(f"{what} {text!r} is not a supported asset (see GET /v0/tokens)")
        return found
