"""GENERATED from tests/fixtures/openapi-v0.1.10.yaml by
``oneclick.api.profiles.shapes.module_source``; do not edit (a test compares it with
the spec)."""

from oneclick.api.profiles.shapes import Node, ObjectShape, Operation

SCHEMAS: dict[str, ObjectShape] = {
    "AppFee": ObjectShape(
        properties={"fee": Node(), "recipient": Node()}, required=("fee", "recipient")
    ),
    "BadRequestResponse": ObjectShape(properties={"message": Node()}, required=("message",)),
    "GetExecutionStatusResponse": ObjectShape(
        properties={
            "quoteResponse": Node(ref="QuoteResponse"),
            "status": Node(
                enum=(
                    "KNOWN_DEPOSIT_TX",
                    "PENDING_DEPOSIT",
                    "INCOMPLETE_DEPOSIT",
                    "PROCESSING",
                    "SUCCESS",
                    "REFUNDED",
                    "FAILED",
                )
            ),
            "swapDetails": Node(ref="SwapDetails"),
            "updatedAt": Node(),
        },
        required=("quoteResponse", "status", "swapDetails", "updatedAt"),
    ),
    "Quote": ObjectShape(
        properties={
            "amountIn": Node(),
            "amountInFormatted": Node(),
            "amountInUsd": Node(),
            "amountOut": Node(),
            "amountOutFormatted": Node(),
            "amountOutUsd": Node(),
            "deadline": Node(),
            "depositAddress": Node(),
            "depositMemo": Node(),
            "minAmountIn": Node(),
            "minAmountOut": Node(),
            "timeEstimate": Node(),
            "timeWhenInactive": Node(),
            "virtualChainRecipient": Node(),
            "virtualChainRefundRecipient": Node(),
        },
        required=(
            "amountIn",
            "amountInFormatted",
            "amountInUsd",
            "amountOut",
            "amountOutFormatted",
            "amountOutUsd",
            "minAmountIn",
            "minAmountOut",
            "timeEstimate",
        ),
    ),
    "QuoteRequest": ObjectShape(
        properties={
            "amount": Node(),
            "appFees": Node(items=Node(ref="AppFee")),
            "deadline": Node(),
            "depositMode": Node(enum=("SIMPLE", "MEMO")),
            "depositType": Node(enum=("ORIGIN_CHAIN", "INTENTS")),
            "destinationAsset": Node(),
            "dry": Node(),
            "originAsset": Node(),
            "quoteWaitingTimeMs": Node(),
            "recipient": Node(),
            "recipientType": Node(enum=("DESTINATION_CHAIN", "INTENTS")),
            "referral": Node(),
            "refundTo": Node(),
            "refundType": Node(enum=("ORIGIN_CHAIN", "INTENTS")),
            "slippageTolerance": Node(),
            "swapType": Node(enum=("EXACT_INPUT", "EXACT_OUTPUT", "FLEX_INPUT")),
            "virtualChainRecipient": Node(),
            "virtualChainRefundRecipient": Node(),
        },
        required=(
            "amount",
            "deadline",
            "depositType",
            "destinationAsset",
            "dry",
            "originAsset",
            "recipient",
            "recipientType",
            "refundTo",
            "refundType",
            "slippageTolerance",
            "swapType",
        ),
    ),
    "QuoteResponse": ObjectShape(
        properties={
            "quote": Node(ref="Quote"),
            "quoteRequest": Node(ref="QuoteRequest"),
            "signature": Node(),
            "timestamp": Node(),
        },
        required=("quote", "quoteRequest", "signature", "timestamp"),
    ),
    "SubmitDepositTxRequest": ObjectShape(
        properties={"depositAddress": Node(), "txHash": Node()},
        required=("depositAddress", "txHash"),
    ),
    "SubmitDepositTxResponse": ObjectShape(
        properties={
            "quoteResponse": Node(ref="QuoteResponse"),
            "status": Node(
                enum=(
                    "KNOWN_DEPOSIT_TX",
                    "PENDING_DEPOSIT",
                    "INCOMPLETE_DEPOSIT",
                    "PROCESSING",
                    "SUCCESS",
                    "REFUNDED",
                    "FAILED",
                )
            ),
            "swapDetails": Node(ref="SwapDetails"),
            "updatedAt": Node(),
        },
        required=("quoteResponse", "status", "swapDetails", "updatedAt"),
    ),
    "SwapDetails": ObjectShape(
        properties={
            "amountIn": Node(),
            "amountInFormatted": Node(),
            "amountInUsd": Node(),
            "amountOut": Node(),
            "amountOutFormatted": Node(),
            "amountOutUsd": Node(),
            "destinationChainTxHashes": Node(items=Node(ref="TransactionDetails")),
            "intentHashes": Node(items=Node()),
            "nearTxHashes": Node(items=Node()),
            "originChainTxHashes": Node(items=Node(ref="TransactionDetails")),
            "refundedAmount": Node(),
            "refundedAmountFormatted": Node(),
            "refundedAmountUsd": Node(),
            "slippage": Node(),
        },
        required=(
            "destinationChainTxHashes",
            "intentHashes",
            "nearTxHashes",
            "originChainTxHashes",
        ),
    ),
    "TokenResponse": ObjectShape(
        properties={
            "assetId": Node(),
            "blockchain": Node(
                enum=(
                    "near",
                    "eth",
                    "base",
                    "arb",
                    "btc",
                    "sol",
                    "ton",
                    "doge",
                    "xrp",
                    "zec",
                    "gnosis",
                    "bera",
                    "bsc",
                    "pol",
                    "tron",
                    "sui",
                    "op",
                    "avax",
                    "cardano",
                )
            ),
            "contractAddress": Node(),
            "decimals": Node(),
            "price": Node(),
            "priceUpdatedAt": Node(),
            "symbol": Node(),
        },
        required=("assetId", "blockchain", "decimals", "price", "priceUpdatedAt", "symbol"),
    ),
    "TransactionDetails": ObjectShape(
        properties={"explorerUrl": Node(), "hash": Node()}, required=("explorerUrl", "hash")
    ),
}

RESPONSES: dict[Operation, dict[int, Node]] = {
    ("GET", "/v0/status"): {
        200: Node(ref="GetExecutionStatusResponse"),
        404: Node(ref="BadRequestResponse"),
    },
    ("GET", "/v0/tokens"): {200: Node(items=Node(ref="TokenResponse"))},
    ("POST", "/v0/deposit/submit"): {
        200: Node(ref="SubmitDepositTxResponse"),
        400: Node(ref="BadRequestResponse"),
    },
    ("POST", "/v0/quote"): {200: Node(ref="QuoteResponse"), 400: Node(ref="BadRequestResponse")},
}
