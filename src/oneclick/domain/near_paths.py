"""NEAR-native paths the service cannot yet carry end to end, refused at quote time.

A NEAR-native token deposited with ``depositType: ORIGIN_CHAIN`` arrives by ``ft_transfer`` on the
token contract, outside ``intents.near``: it is credited only when an operator account can move
it in. A payout or refund to a NEAR account is delivered only when the service can read the
withdrawal's receipts (``near.relayer_account`` configured): wNEAR as native NEAR
(``native_withdraw``, the SDK's choice), any NEP-141 (and wNEAR with ``customRecipientMsg``) as an
``ft_withdraw``. An unregistered receiver of a token other than wNEAR needs a
``storage_deposit`` the operator account pays; without one, the quote checks the receiver's
registration (``services.quoting``). A quote that would take a path not built is a
``RequestError`` (400) naming the alternative that works, never an address that strands funds.
"""

from __future__ import annotations

from oneclick.domain.assets import Asset
from oneclick.domain.errors import RequestError
from oneclick.domain.requests import DepositType, QuoteSpec, RecipientType, RefundType

# The SDK delivers this asset as native NEAR with ``native_withdraw`` (sdk-monorepo
# packages/intents-sdk/src/bridges/direct-bridge/direct-bridge-constants.ts NEAR_NATIVE_ASSET_ID).
NEAR_NATIVE_ASSET_ID = "nep141:wrap.near"


def delivers_native_near(asset: Asset) -> bool:
    return asset.asset_id == NEAR_NATIVE_ASSET_ID


def near_deliveries(spec: QuoteSpec) -> list[tuple[str, Asset, str]]:
    """``(field, asset, account)`` for each payout or refund of ``spec`` that lands on NEAR."""
    found = []
    if spec.recipient_type is RecipientType.DESTINATION_CHAIN and spec.destination.is_near_native:
        found.append(("recipient", spec.destination, spec.recipient))
    if spec.refund_type is RefundType.ORIGIN_CHAIN and spec.origin.is_near_native:
        found.append(("refundTo", spec.origin, spec.refund_to))
    return found


def refuse_stranding_near_paths(
    spec: QuoteSpec, *, near_payouts: bool, near_deposits: bool = False
) -> None:
    """Raise ``RequestError`` when ``spec`` needs a NEAR-native path that is not built yet.
    ``near_payouts``: the service can confirm deliveries to NEAR accounts; ``near_deposits``:
    it can move NEAR-native deposits into the verifier (an operator account is configured)."""
    origin = spec.origin
    if (
        spec.deposit_type is DepositType.ORIGIN_CHAIN
        and origin.is_near_native
        and not near_deposits
    ):
        raise RequestError(
            f"depositType ORIGIN_CHAIN is not supported by this service for the NEAR-native "
            f"originAsset {origin.asset_id}: deposits on NEAR are not credited without a NEAR "
            "operator account; use depositType INTENTS"
        )
    for what, asset, _ in near_deliveries(spec):
        kind = (
            "recipientType DESTINATION_CHAIN" if what == "recipient" else "refundType ORIGIN_CHAIN"
        )
        use = "recipientType INTENTS" if what == "recipient" else "refundType INTENTS"
        if not near_payouts:
            raise RequestError(
                f"{kind} is not supported by this service for the NEAR-native asset "
                f"{asset.asset_id}: delivery to a NEAR account cannot be confirmed; use {use}"
            )


def needs_storage_registration(asset: Asset, msg: str | None) -> bool:
    """Whether delivering ``asset`` to a NEAR account is an ``ft_withdraw`` (NEP-145 applies),
    not a ``native_withdraw`` (wNEAR without a message)."""
    return not (delivers_native_near(asset) and msg is None)
