"""The solver relay's JSON-RPC (PROTOCOL.md §3.1-3.3): message models and ``HttpSolverRelay``.

Signed payloads (MultiPayload) are carried as plain JSON objects; building and checking them is
the business of :mod:`nearintents.payload` and the signing standards, not of the wire client.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    model_validator,
)

from nearintents.rpc.errors import RpcMalformedResponse
from nearintents.rpc.jsonrpc import (
    U128,
    CryptoHash,
    JsonRpcClient,
    NonEmptyStr,
    TokenId,
)

DEFAULT_MIN_DEADLINE_MS = 60_000
# The relay collects solver answers for up to ~3 s when no wait is given (PROTOCOL.md §3.1).
DEFAULT_QUOTE_WINDOW_MS = 3_000

_WIRE = ConfigDict(frozen=True, extra="ignore")
_OURS = ConfigDict(frozen=True, extra="forbid")

PositiveMs = Annotated[StrictInt, Field(gt=0)]


class QuoteRequest(BaseModel):
    """``quote`` params. Exactly one of ``exact_amount_in`` / ``exact_amount_out`` is set."""

    model_config = _OURS

    defuse_asset_identifier_in: TokenId
    defuse_asset_identifier_out: TokenId
    exact_amount_in: U128 | None = None
    exact_amount_out: U128 | None = None
    min_deadline_ms: PositiveMs = DEFAULT_MIN_DEADLINE_MS
    wait_ms: PositiveMs | None = None
    min_wait_ms: PositiveMs | None = None
    max_wait_ms: PositiveMs | None = None
    trusted_metadata: JsonValue | None = None

    @model_validator(mode="after")
    def _exactly_one_amount(self) -> Self:
        if (self.exact_amount_in is None) == (self.exact_amount_out is None):
            raise ValueError("exactly one of exact_amount_in and exact_amount_out must be set")
        if 0 in (self.exact_amount_in, self.exact_amount_out):
            raise ValueError("the exact amount must be positive")
        return self

    @property
    def collection_window_s(self) -> float:
        """How long the relay may wait for solvers before answering."""
        waits = [w for w in (self.wait_ms, self.max_wait_ms) if w is not None]
        return max(waits, default=DEFAULT_QUOTE_WINDOW_MS) / 1000

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class Quote(BaseModel):
    """One solver offer. ``quote_hash`` is what ``publish_intent`` refers to."""

    model_config = _WIRE

    quote_hash: NonEmptyStr
    defuse_asset_identifier_in: TokenId
    defuse_asset_identifier_out: TokenId
    amount_in: U128
    amount_out: U128
    # ISO-8601 (an old tutorial showed unix seconds; pydantic accepts both). Must carry a zone.
    expiration_time: AwareDatetime

    def matches(self, request: QuoteRequest) -> bool:
        """Whether the offer is for the assets and the fixed amount asked for.

        Solvers are untrusted: a quote that fails this must be dropped (PROTOCOL.md §3.1).
        """
        if (
            self.defuse_asset_identifier_in != request.defuse_asset_identifier_in
            or self.defuse_asset_identifier_out != request.defuse_asset_identifier_out
        ):
            return False
        if request.exact_amount_in is not None:
            return self.amount_in == request.exact_amount_in
        return self.amount_out == request.exact_amount_out


class QuoteFailureType(StrEnum):
    INSUFFICIENT_AMOUNT = "INSUFFICIENT_AMOUNT"


class QuoteFailure(BaseModel):
    """A solver could not quote: the amount is below ``min_amount``."""

    model_config = _WIRE

    type: Literal[QuoteFailureType.INSUFFICIENT_AMOUNT]
    min_amount: U128


def _quote_entry_kind(value: Any) -> str:
    if isinstance(value, QuoteFailure) or (isinstance(value, dict) and "type" in value):
        return "failure"
    return "quote"


QuoteEntry = Annotated[
    Annotated[Quote, Tag("quote")] | Annotated[QuoteFailure, Tag("failure")],
    Discriminator(_quote_entry_kind),
]


class PublishIntentRequest(BaseModel):
    """``publish_intent`` params; empty ``quote_hashes`` publishes a standalone intent."""

    model_config = _OURS

    quote_hashes: list[NonEmptyStr] = Field(default_factory=list)
    signed_data: dict[str, Any]


class PublishIntentsRequest(BaseModel):
    """``publish_intents`` params: several signed payloads published atomically."""

    model_config = _OURS

    quote_hashes: list[NonEmptyStr] = Field(default_factory=list)
    signed_datas: list[dict[str, Any]] = Field(min_length=1)


class PublishStatus(StrEnum):
    OK = "OK"
    FAILED = "FAILED"


class PublishResult(BaseModel):
    """What the relay said about a publish. The wire's ``intent_hash`` (singular call) and
    ``intent_hashes`` (plural call) both land in ``intent_hashes``.

    ``reason`` on failure is free text (``expired``, ``internal``, or contract error text such as
    ``nonce was already used``; PROTOCOL.md §3.2).
    """

    model_config = _WIRE

    status: PublishStatus
    reason: StrictStr | None = None
    intent_hashes: tuple[CryptoHash, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _singular_hash(cls, data: Any) -> Any:
        if isinstance(data, dict) and "intent_hash" in data:
            if "intent_hashes" in data:
                raise ValueError("both intent_hash and intent_hashes")
            data = dict(data)
            single = data.pop("intent_hash")
            data["intent_hashes"] = [] if single is None else [single]
        return data

    @model_validator(mode="after")
    def _ok_has_hashes(self) -> Self:
        if self.status is PublishStatus.OK and not self.intent_hashes:
            raise ValueError("status OK without an intent hash")
        return self

    @property
    def ok(self) -> bool:
        return self.status is PublishStatus.OK

    @property
    def intent_hash(self) -> str | None:
        """The hash of a single published intent (``publish_intent``)."""
        return self.intent_hashes[0] if len(self.intent_hashes) == 1 else None


class IntentStatus(StrEnum):
    """``get_status`` statuses (PROTOCOL.md §3.3)."""

    PENDING = "PENDING"
    TX_BROADCASTED = "TX_BROADCASTED"
    SETTLED = "SETTLED"
    NOT_FOUND_OR_NOT_VALID = "NOT_FOUND_OR_NOT_VALID"


class StatusData(BaseModel):
    model_config = _WIRE

    hash: CryptoHash


class StatusResult(BaseModel):
    """An intent's status; ``data.hash`` is the NEAR transaction of ``execute_intents``.

    ``NOT_FOUND_OR_NOT_VALID`` with ``status_details == "FAILED"`` and a hash means it failed
    on-chain; without them the relay does not know it (unknown, expired or rejected).
    """

    model_config = _WIRE

    intent_hash: CryptoHash
    status: IntentStatus
    data: StatusData | None = None
    status_details: StrictStr | None = None

    @model_validator(mode="after")
    def _broadcast_has_tx(self) -> Self:
        if self.status in (IntentStatus.TX_BROADCASTED, IntentStatus.SETTLED) and not self.data:
            raise ValueError(f"status {self.status} without data.hash")
        return self

    @property
    def tx_hash(self) -> str | None:
        return self.data.hash if self.data else None

    @property
    def failed_on_chain(self) -> bool:
        return (
            self.status is IntentStatus.NOT_FOUND_OR_NOT_VALID
            and self.status_details == "FAILED"
            and self.data is not None
        )


_QUOTES = TypeAdapter(list[QuoteEntry] | None)
_PUBLISH = TypeAdapter(PublishResult)
_STATUS = TypeAdapter(StatusResult)


class HttpSolverRelay(JsonRpcClient):
    """Async client of the solver relay's JSON-RPC endpoint (``.../rpc``).

    ``base_url`` is the full endpoint URL. With an ``api_key`` both ``Authorization: Bearer`` and
    ``X-API-Key`` are sent. An injected ``client`` is shared and left open on close.
    """

    async def quote(self, request: QuoteRequest) -> list[Quote | QuoteFailure]:
        """Ask solvers for offers; ``null`` (nobody answered) becomes ``[]``.

        The relay holds the request open while it collects answers, so the HTTP timeout is the
        collection window plus the client's usual timeout as a margin (as the SDK does).
        """
        result = await self._rpc.call(
            "quote",
            [request.wire()],
            _QUOTES,
            time_limit=request.collection_window_s + self._rpc.timeout,
        )
        return list(result or [])

    async def publish_intent(
        self, signed_data: dict[str, Any], quote_hashes: Sequence[str] = ()
    ) -> PublishResult:
        """Publish one signed payload, matched with solver quotes (none for a standalone one)."""
        params = PublishIntentRequest(quote_hashes=list(quote_hashes), signed_data=signed_data)
        result = await self._rpc.call("publish_intent", [params.model_dump(mode="json")], _PUBLISH)
        if len(result.intent_hashes) > 1:
            raise RpcMalformedResponse(
                "several intent hashes for one intent", method="publish_intent"
            )
        return result

    async def publish_intents(
        self, signed_datas: Sequence[dict[str, Any]], quote_hashes: Sequence[str] = ()
    ) -> PublishResult:
        """Publish several signed payloads atomically."""
        params = PublishIntentsRequest(
            quote_hashes=list(quote_hashes), signed_datas=list(signed_datas)
        )
        result = await self._rpc.call("publish_intents", [params.model_dump(mode="json")], _PUBLISH)
        if result.ok and len(result.intent_hashes) != len(params.signed_datas):
            raise RpcMalformedResponse(
                f"{len(result.intent_hashes)} intent hashes for {len(params.signed_datas)} "
                "payloads",
                method="publish_intents",
            )
        return result

    async def get_status(self, intent_hash: str) -> StatusResult:
        """Where a published intent is (PENDING → TX_BROADCASTED → SETTLED)."""
        result = await self._rpc.call("get_status", [{"intent_hash": intent_hash}], _STATUS)
        if result.intent_hash != intent_hash:
            raise RpcMalformedResponse(
                f"status for {result.intent_hash}, asked for {intent_hash}", method="get_status"
            )
        return result
