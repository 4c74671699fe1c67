"""Wire schemas of the 1Click API v0 (reference spec v0.1.10 plus the newer fields of
PROTOCOL.md §5.1-5.7). Requests are parsed with these; responses are documented with them.
Class names are the reference's component names."""

# ruff: noqa: N815 - field names are the wire's camelCase names

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from oneclick.domain.engine import RefundReason
from oneclick.domain.quotes import SwapType
from oneclick.domain.requests import DepositMode, DepositType, RecipientType, RefundType
from oneclick.domain.swaps import SwapStatus
from oneclick.services.intents import IntentStandard

_DATE_TIME: dict[str, Any] = {"format": "date-time"}


def _integral(value: object) -> object:
    """Upstream types these fields as a JSON ``number`` (SDK 0.1.25 models): ``100.0`` is the
    integer 100, as a Python or JavaScript client may send it; ``100.5``, ``"100"``, ``true``,
    NaN and infinities stay a 400 (StrictInt below refuses what is left a float or a string)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer on the wire that upstream types as ``number``: integral floats are accepted.
NumberInt = Annotated[StrictInt, BeforeValidator(_integral)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Blockchain(StrEnum):
    NEAR = "near"
    ETH = "eth"
    BASE = "base"
    ARB = "arb"
    BTC = "btc"
    SOL = "sol"
    TON = "ton"
    DASH = "dash"
    DOGE = "doge"
    XRP = "xrp"
    ZEC = "zec"
    GNOSIS = "gnosis"
    BERA = "bera"
    BSC = "bsc"
    POL = "pol"
    TRON = "tron"
    SUI = "sui"
    MOVEMENT = "movement"
    OP = "op"
    AVAX = "avax"
    STELLAR = "stellar"
    APTOS = "aptos"
    CARDANO = "cardano"
    LTC = "ltc"
    XLAYER = "xlayer"
    MONAD = "monad"
    BCH = "bch"
    ADI = "adi"
    PLASMA = "plasma"
    SCROLL = "scroll"
    STARKNET = "starknet"
    ALEO = "aleo"
    HYPERCORE = "hypercore"


class Confidentiality(StrEnum):
    PUBLIC = "public"
    BASIC = "basic"
    ADVANCED = "advanced"


class IntentRequestType(StrEnum):
    SWAP_TRANSFER = "swap_transfer"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


class TokenResponse(_Wire):
    assetId: str = Field(description="Unique asset identifier")
    decimals: int
    blockchain: Blockchain
    symbol: str
    price: float = Field(description="Current price of the token in USD (display only)")
    priceUpdatedAt: str = Field(json_schema_extra=_DATE_TIME)
    contractAddress: str | None = None
    coingeckoId: str | None = None


class AppFee(_Wire):
    recipient: StrictStr = Field(description="Account ID within Intents receiving this fee")
    fee: NumberInt = Field(description="Fee in basis points of amountIn (0-500)")


class Rebate(_Wire):
    recipient: StrictStr
    share: NumberInt


class QuoteRequest(_Wire):
    dry: StrictBool
    depositMode: DepositMode = DepositMode.SIMPLE
    swapType: SwapType
    slippageTolerance: NumberInt = Field(description="Slippage tolerance in basis points")
    originAsset: StrictStr
    depositType: DepositType
    destinationAsset: StrictStr
    amount: StrictStr = Field(description="Amount in the smallest unit of the token")
    refundTo: StrictStr
    refundType: RefundType
    recipient: StrictStr
    connectedWallets: list[StrictStr] | None = None
    sessionId: StrictStr | None = None
    virtualChainRecipient: StrictStr | None = None
    virtualChainRefundRecipient: StrictStr | None = None
    customRecipientMsg: StrictStr | None = None
    recipientType: RecipientType
    deadline: StrictStr = Field(json_schema_extra=_DATE_TIME)
    referral: StrictStr | None = None
    quoteWaitingTimeMs: NumberInt = 0
    appFees: list[AppFee] | None = None
    confidentiality: Confidentiality | None = None
    rebates: list[Rebate] | None = None


class ChainDepositAddress(_Wire):
    blockchain: Blockchain
    address: str
    memo: str | None = None


class Quote(_Wire):
    depositAddress: str | None = None
    depositMemo: str | None = None
    chainDepositAddresses: list[ChainDepositAddress] | None = None
    amountIn: str
    amountInFormatted: str
    amountInUsd: str
    minAmountIn: str
    amountOut: str
    amountOutFormatted: str
    amountOutUsd: str
    minAmountOut: str
    deadline: str | None = Field(default=None, json_schema_extra=_DATE_TIME)
    timeWhenInactive: str | None = Field(default=None, json_schema_extra=_DATE_TIME)
    timeEstimate: int
    virtualChainRecipient: str | None = None
    virtualChainRefundRecipient: str | None = None
    customRecipientMsg: str | None = None
    refundFee: str | None = None
    withdrawFee: str | None = None


class QuoteResponse(_Wire):
    correlationId: str
    timestamp: str = Field(json_schema_extra=_DATE_TIME)
    signature: str
    quoteRequest: QuoteRequest
    quote: Quote


class BadRequestResponse(_Wire):
    message: str
    correlationId: str | None = None


class TransactionDetails(_Wire):
    hash: str
    explorerUrl: str


class DepositOutcome(StrEnum):
    PENDING = "pending"
    CREDITED = "credited"
    SWAPPED = "swapped"
    REFUNDED = "refunded"
    PARKED = "parked"


class DepositEntry(_Wire):
    """One inbound transfer of a swap and what became of it (this service's extension, served
    under the ``full`` profile only)."""

    txHash: str
    explorerUrl: str
    asset: str
    amount: str
    status: DepositOutcome
    swappedAmount: str | None = None
    refundedAmount: str | None = None
    refundTxHashes: list[TransactionDetails] = Field(default_factory=list)
    reason: str | None = None


class AnyInputDepositLine(_Wire):
    """One deposit into an ANY_INPUT address: its own swap intent and the withdrawal that
    carried it (this service's extension, served under the ``full`` profile only)."""

    index: int
    asset: str
    amount: str
    source: str  # BRIDGE (a chain deposit address) or INTENTS (a transfer inside the verifier)
    chain: str
    phase: str  # SWAP, POOLED, DELIVERED or STRANDED
    createdAt: str = Field(json_schema_extra=_DATE_TIME)
    txHash: str | None = None
    swapIntentHash: str | None = None
    swapNearTxHash: str | None = None
    amountOut: str | None = None
    withdrawalIntentHash: str | None = None
    withdrawalTxHash: str | None = None
    lastError: str | None = None


class SwapDetails(_Wire):
    intentHashes: list[str]
    nearTxHashes: list[str]
    amountIn: str | None = None
    amountInFormatted: str | None = None
    amountInUsd: str | None = None
    amountOut: str | None = None
    amountOutFormatted: str | None = None
    amountOutUsd: str | None = None
    slippage: int | None = None
    originChainTxHashes: list[TransactionDetails]
    destinationChainTxHashes: list[TransactionDetails]
    refundedAmount: str | None = None
    refundedAmountFormatted: str | None = None
    refundedAmountUsd: str | None = None
    refundReason: RefundReason | None = None  # a closed set (README, "Refund reasons")
    depositedAmount: str | None = None
    depositedAmountFormatted: str | None = None
    depositedAmountUsd: str | None = None
    withdrawFee: str | None = None
    referral: str | None = None
    deposits: list[DepositEntry] | None = None
    anyInputDeposits: list[AnyInputDepositLine] | None = None


class GetExecutionStatusResponse(_Wire):
    correlationId: str
    quoteResponse: QuoteResponse
    status: SwapStatus
    updatedAt: str = Field(json_schema_extra=_DATE_TIME)
    swapDetails: SwapDetails


class SubmitDepositTxRequest(_Wire):
    txHash: StrictStr
    depositAddress: StrictStr
    nearSenderAccount: StrictStr | None = None
    memo: StrictStr | None = None


class SubmitDepositTxResponse(GetExecutionStatusResponse):
    pass


class GenerateIntentRequest(_Wire):
    type: IntentRequestType
    standard: IntentStandard
    signerId: StrictStr
    depositAddress: StrictStr


class GeneratedIntent(_Wire):
    standard: IntentStandard
    payload: Any


class GenerateIntentResponse(_Wire):
    intent: GeneratedIntent
    correlationId: str


class SubmitIntentRequest(_Wire):
    type: IntentRequestType
    signedData: dict[str, Any]


class SubmitIntentResponse(_Wire):
    intentHash: str
    correlationId: str


class AnyInputQuoteWithdrawal(_Wire):
    status: SwapStatus
    amountOut: str
    amountOutFormatted: str
    amountOutUsd: str
    withdrawFee: str
    withdrawFeeFormatted: str
    withdrawFeeUsd: str
    timestamp: str = Field(json_schema_extra=_DATE_TIME)
    hash: str


class GetAnyInputQuoteWithdrawals(_Wire):
    recipient: str | None = None
    affiliateRecipient: str | None = None
    asset: str | None = None
    # An array, as the docs' example and the server send it (the SDK's generated type says one
    # object; the rust-v0 profile leaves the array out, docs/protocol-notes.md "ANY_INPUT").
    withdrawals: list[AnyInputQuoteWithdrawal] | None = None
    page: int | None = None
    limit: int | None = None
    total: int | None = None
