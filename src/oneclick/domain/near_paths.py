"""NEAR-native paths the service cannot yet carry end to end, refused at quote time.

A NEAR-native token deposited with ``depositType: ORIGIN_CHAIN`` arrives by ``ft_transfer`` on the
token contract, outside ``intents.near``, where the engine never sees it; a bare ``ft_withdraw`` to
a NEAR account can bounce (unregistered receiver) and come back to the custody account while the
swap reads as delivered. Until each path is built and confirmed, a quote that would take it is a
``RequestError`` (400) naming the alternative that works, never an address that strands funds.
"""

from __future__ import annotations

from oneclick.domain.errors import RequestError
from oneclick.domain.requests import DepositType, QuoteSpec, RecipientType, RefundType


def refuse_stranding_near_paths(spec: QuoteSpec) -> None:
    """Raise ``RequestError`` when ``spec`` needs a NEAR-native path that is not built yet."""
    origin, destination = spec.origin, spec.destination
    if spec.deposit_type is DepositType.ORIGIN_CHAIN and origin.is_near_native:
        raise RequestError(
            f"depositType ORIGIN_CHAIN is not supported yet for the NEAR-native originAsset "
            f"{origin.asset_id}: deposits on NEAR are not credited by this service; "
            "use depositType INTENTS"
        )
    if spec.recipient_type is RecipientType.DESTINATION_CHAIN and destination.is_near_native:
        raise RequestError(
            f"recipientType DESTINATION_CHAIN is not supported yet for the NEAR-native "
            f"destinationAsset {destination.asset_id}: delivery to a NEAR account cannot be "
            "confirmed by this service; use recipientType INTENTS"
        )
    if spec.refund_type is RefundType.ORIGIN_CHAIN and origin.is_near_native:
        raise RequestError(
            f"refundType ORIGIN_CHAIN is not supported yet for the NEAR-native originAsset "
            f"{origin.asset_id}: a refund to a NEAR account cannot be confirmed by this service; "
            "use refundType INTENTS"
        )
