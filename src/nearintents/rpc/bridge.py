"""The PoA bridge's JSON-RPC (PROTOCOL.md §4): deposit addresses, deposits, withdrawals, and the
``HttpPoaBridge`` client. Chain ids look like ``eth:1``, ``eth:42161``, ``btc:mainnet``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from nearintents.rpc.errors import RpcMalformedResponse, RpcServerError
from nearintents.rpc.jsonrpc import U128, JsonRpcClient, NonEmptyStr, TokenId

_WIRE = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

ChainId = Annotated[StrictStr, StringConstraints(pattern=r"^[a-z][a-z0-9]*:[a-z0-9]+$")]
"""``<chain type>:<chain id or network>``, e.g. ``eth:8453`` or ``stellar:mainnet``."""

Decimals = Annotated[StrictInt, Field(ge=0, le=255)]
NEAR_MAINNET = "near:mainnet"
STELLAR_MEMO_MAX_LEN = 32
# The bridge's JSON-RPC error (a bare string) for a burn it has not indexed yet; the SDK matches
# this exact text and keeps polling (sdk-monorepo
# packages/internal-utils/src/poaBridge/waitForWithdrawalCompletion.ts, isWithdrawalNotFound).
WITHDRAWALS_NOT_FOUND = "Withdrawals not found"


class WithdrawalsNotFound(RpcServerError):  # noqa: N818 (reads as what the bridge said)
    """``withdrawal_status``: the bridge does not know the burn (yet). Right after a burn this is
    the normal answer until the bridge's indexer catches up, so a retry helps."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retryable = True


def _assume_utc(value: datetime) -> datetime:
    # The bridge's timestamp format is not documented; a naive one is read as UTC rather than
    # failing a whole deposit listing over a display field.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Timestamp = Annotated[datetime, AfterValidator(_assume_utc)]


class DepositMode(StrEnum):
    SIMPLE = "SIMPLE"
    MEMO = "MEMO"


class DepositStatus(StrEnum):
    """``PENDING`` → ``COMPLETED`` or ``FAILED``; ``CREDITED`` in between on some chains."""

    PENDING = "PENDING"
    CREDITED = "CREDITED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class WithdrawalStatus(StrEnum):
    COMPLETED = "COMPLETED"
    PENDING = "PENDING"
    FAILED = "FAILED"
    NOT_FOUND = "NOT_FOUND"
    AWAITING = "AWAITING"
    REJECTED = "REJECTED"
    RETURNING = "RETURNING"
    RETURNED = "RETURNED"


class SupportedToken(BaseModel):
    """One bridged token; ``intents_token_id`` is its id inside the verifier."""

    model_config = _WIRE

    defuse_asset_identifier: NonEmptyStr
    near_token_id: NonEmptyStr
    intents_token_id: TokenId
    standard: NonEmptyStr
    multi_token_id: StrictStr | None = None
    asset_name: StrictStr
    decimals: Decimals
    min_deposit_amount: U128
    min_withdrawal_amount: U128
    withdrawal_fee: U128


class _SupportedTokens(BaseModel):
    model_config = _WIRE
    tokens: list[SupportedToken]


class DepositAddress(BaseModel):
    """Where to send funds on ``chain`` to credit the account; with ``memo`` in MEMO mode."""

    model_config = _WIRE

    address: NonEmptyStr
    chain: ChainId
    memo: StrictStr | None = None


class Deposit(BaseModel):
    """A deposit seen by the bridge. ``tx_hash`` may be empty (Solana, per the bridge FAQ)."""

    model_config = _WIRE

    tx_hash: StrictStr
    mint_tx_hash: StrictStr | None = None
    chain: ChainId
    defuse_asset_identifier: NonEmptyStr
    near_token_id: NonEmptyStr
    decimals: Decimals
    amount: U128
    account_id: NonEmptyStr
    address: StrictStr
    status: DepositStatus
    created_at: Timestamp | None = None
    from_address: StrictStr | None = Field(default=None, alias="from")


class RecentDeposits(BaseModel):
    model_config = _WIRE

    deposits: list[Deposit]
    total: Annotated[StrictInt, Field(ge=0)]
    limit: Annotated[StrictInt, Field(ge=0)]
    offset: Annotated[StrictInt, Field(ge=0)]


class WithdrawalData(BaseModel):
    """Details of a withdrawal. Fields differ between the documented shapes, hence optional."""

    model_config = _WIRE

    tx_hash: StrictStr | None = None
    transfer_tx_hash: StrictStr | None = None
    chain: ChainId | None = None
    defuse_asset_identifier: StrictStr | None = None
    near_token_id: StrictStr | None = None
    decimals: Decimals | None = None
    amount: U128 | None = None
    account_id: StrictStr | None = None
    address: StrictStr | None = None
    created_at: Timestamp | None = None
    created: Timestamp | None = None  # the SDK type's name for created_at
    withdrawal_fee: U128 | None = None
    withdraw_amount: U128 | None = None


class Withdrawal(BaseModel):
    model_config = _WIRE

    status: WithdrawalStatus
    data: WithdrawalData | None = None

    @model_validator(mode="after")
    def _completed_has_transfer(self) -> Self:
        # A payout is only proven by its destination-chain transaction.
        if self.status is WithdrawalStatus.COMPLETED and not (
            self.data and self.data.transfer_tx_hash
        ):
            raise ValueError("COMPLETED withdrawal without transfer_tx_hash")
        return self


class _Withdrawals(BaseModel):
    """``withdrawal_status`` comes as ``{status, data}`` (docs) or ``{withdrawals: [...]}``
    (SDK; PROTOCOL.md §4, open question 12): both normalise to a list."""

    model_config = _WIRE

    withdrawals: list[Withdrawal]

    @model_validator(mode="before")
    @classmethod
    def _single(cls, data: Any) -> Any:
        if isinstance(data, dict) and "withdrawals" not in data and "status" in data:
            return {"withdrawals": [data]}
        return data


class WithdrawalEstimate(BaseModel):
    """``withdrawal_estimate``: the fee in the token's base units (camelCase on this wire)."""

    model_config = _WIRE

    token_address: StrictStr = Field(alias="tokenAddress")
    user_address: StrictStr = Field(alias="userAddress")
    withdrawal_fee: U128 = Field(alias="withdrawalFee")
    withdrawal_fee_decimals: Decimals = Field(alias="withdrawalFeeDecimals")
    token: dict[str, Any]


_TOKENS = TypeAdapter(_SupportedTokens)
_ADDRESS = TypeAdapter(DepositAddress)
_DEPOSITS = TypeAdapter(RecentDeposits)
_EMPTY = TypeAdapter(dict[str, Any])
_WITHDRAWALS = TypeAdapter(_Withdrawals)
_ESTIMATE = TypeAdapter(WithdrawalEstimate)
_CHAIN = TypeAdapter(ChainId)


def _chain(chain: str) -> str:
    """Refuse a malformed chain id before anything is sent, with a message that says so."""
    try:
        return _CHAIN.validate_python(chain)
    except ValidationError as exc:
        raise ValueError(
            f"not a bridge chain id: {chain!r} (expected <chain type>:<id>, e.g. eth:1)"
        ) from exc


class HttpPoaBridge(JsonRpcClient):
    """Async client of the PoA bridge's JSON-RPC endpoint (``https://bridge.chaindefuser.com/rpc``).

    ``base_url`` is the full endpoint URL; ``api_key``, if any, is sent in both header styles.
    An injected ``client`` is shared and left open on close.
    """

    async def supported_tokens(self, chains: Sequence[str] | None = None) -> list[SupportedToken]:
        params: dict[str, Any] = {}
        if chains is not None:
            params["chains"] = [_chain(c) for c in chains]
        result = await self._rpc.call("supported_tokens", [params], _TOKENS)
        return result.tokens

    async def deposit_address(
        self, account_id: str, chain: str, deposit_mode: DepositMode | None = None
    ) -> DepositAddress:
        """The address on ``chain`` whose deposits credit ``account_id`` in the verifier."""
        params: dict[str, Any] = {"account_id": account_id, "chain": _chain(chain)}
        if deposit_mode is not None:
            params["deposit_mode"] = DepositMode(deposit_mode).value
        result = await self._rpc.call("deposit_address", [params], _ADDRESS)
        if result.chain != chain:
            raise RpcMalformedResponse(
                f"address for chain {result.chain}, asked for {chain}", method="deposit_address"
            )
        if deposit_mode is DepositMode.MEMO and not result.memo:
            raise RpcMalformedResponse("MEMO mode without a memo", method="deposit_address")
        return result

    async def recent_deposits(
        self,
        account_id: str,
        *,
        chain: str | None = None,
        status: DepositStatus | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> RecentDeposits:
        """One page of deposits for ``account_id`` (bridge default 20 per page, at most 100)."""
        params: dict[str, Any] = {"account_id": account_id}
        if chain is not None:
            params["chain"] = _chain(chain)
        if status is not None:
            params["status"] = DepositStatus(status).value
        if limit is not None:
            if not 1 <= limit <= 100:
                raise ValueError("limit must be between 1 and 100")
            params["limit"] = limit
        if offset is not None:
            if offset < 0:
                raise ValueError("offset must not be negative")
            params["offset"] = offset
        result = await self._rpc.call("recent_deposits", [params], _DEPOSITS)
        strangers = {d.account_id for d in result.deposits} - {account_id}
        if strangers:
            raise RpcMalformedResponse(
                f"deposits of other accounts: {sorted(strangers)}", method="recent_deposits"
            )
        return result

    async def notify_deposit(
        self,
        chain: str,
        deposit_address: str,
        tx_hash: str,
        *,
        near_sender_account: str | None = None,
        memo: str | None = None,
    ) -> None:
        """Tell the bridge about a deposit transaction so it looks at it sooner."""
        params: dict[str, Any] = {
            "chain": _chain(chain),
            "deposit_address": deposit_address,
            "tx_hash": tx_hash,
        }
        if chain == NEAR_MAINNET and not near_sender_account:
            raise ValueError("near_sender_account is required for near:mainnet")
        if near_sender_account is not None:
            params["near_sender_account"] = near_sender_account
        if memo is not None:
            if len(memo) > STELLAR_MEMO_MAX_LEN:
                raise ValueError(f"memo longer than {STELLAR_MEMO_MAX_LEN} characters")
            params["memo"] = memo
        await self._rpc.call("notify_deposit", [params], _EMPTY)

    async def withdrawal_status(self, withdrawal_hash: str) -> list[Withdrawal]:
        """Withdrawals made by the NEAR transaction ``withdrawal_hash`` (the ``ft_burn`` tx)."""
        try:
            result = await self._rpc.call(
                "withdrawal_status", [{"withdrawal_hash": withdrawal_hash}], _WITHDRAWALS
            )
        except RpcServerError as exc:
            if exc.message != WITHDRAWALS_NOT_FOUND:
                raise
            raise WithdrawalsNotFound(
                exc.message, method=exc.method, code=exc.code, http_status=exc.http_status
            ) from exc
        return result.withdrawals

    async def recent_withdrawals(
        self, account_id: str, *, chain: str | None = None
    ) -> list[Withdrawal]:
        params: dict[str, Any] = {"account_id": account_id}
        if chain is not None:
            params["chain"] = _chain(chain)
        result = await self._rpc.call("recent_withdrawals", [params], _WITHDRAWALS)
        return result.withdrawals

    async def withdrawal_estimate(self, chain: str, token: str, address: str) -> WithdrawalEstimate:
        """The fee for withdrawing ``token`` (a NEAR token id) to ``address`` on ``chain``."""
        params = {"chain": _chain(chain), "token": token, "address": address}
        return await self._rpc.call("withdrawal_estimate", [params], _ESTIMATE)
