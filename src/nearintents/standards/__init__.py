"""The seven signing standards of the Verifier (PROTOCOL.md §2.5), one module each, plus what they
share: the error classes (re-exported by :mod:`nearintents.signing`, which draws the tree), the
``Standard`` tag and strict readers for MultiPayload fields.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, NoReturn

from nearintents.encoding import EncodingError, b64decode, b64encode
from nearintents.keys import Curve, KeyFormatError, PublicKey, Signature


class SignedPayloadError(ValueError):
    """Base class: a MultiPayload we cannot accept. The sender must act; retrying won't help."""


# The three names below are the interface other modules code against, hence no "Error" suffix.
class UnsupportedStandard(SignedPayloadError):  # noqa: N818
    """Not a JSON object, or its ``standard`` tag is missing or not one we know."""


class MalformedPayload(SignedPayloadError):  # noqa: N818
    """Structurally bad: a field missing or mistyped, a bad public key, bad JSON in the payload."""


class InvalidSignature(SignedPayloadError):  # noqa: N818
    """The signature is unparseable, malleable (high s, bad v) or does not verify."""


class Standard(StrEnum):
    """The ``standard`` tag of a MultiPayload (PROTOCOL.md §2.5, §5.10)."""

    NEP413 = "nep413"
    ERC191 = "erc191"
    TIP191 = "tip191"
    RAW_ED25519 = "raw_ed25519"
    SEP53 = "sep53"
    WEBAUTHN = "webauthn"
    TON_CONNECT = "ton_connect"


def field(obj: dict[str, Any], name: str, kind: type[Any]) -> Any:
    """``obj[name]``, which must exist and be a ``kind`` (bool never counts as int)."""
    value = obj.get(name)
    if value is None:
        raise MalformedPayload(f"missing field {name!r}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedPayload(f"field {name!r} must be a {kind.__name__}")
    return value


def text_field(obj: dict[str, Any], name: str) -> str:
    value: str = field(obj, name, str)
    return value


def utf8(text: str, what: str) -> bytes:
    """UTF-8 bytes of a wire string; lone surrogates (valid in Python, not in JSON) are refused."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedPayload(f"{what} is not valid UTF-8 text") from exc


def public_key_field(obj: dict[str, Any], name: str, *curves: Curve) -> PublicKey:
    try:
        pk = PublicKey.parse(text_field(obj, name))
    except KeyFormatError as exc:
        raise MalformedPayload(f"bad {name!r}: {exc}") from exc
    if pk.curve not in curves:
        raise MalformedPayload(f"{name!r} must be a {' or '.join(curves)} key")
    return pk


def signature_field(obj: dict[str, Any], name: str, *curves: Curve) -> Signature:
    value = obj.get(name)
    if not isinstance(value, str):
        raise MalformedPayload(f"field {name!r} must be a string")
    try:
        sig = Signature.parse(value)
    except KeyFormatError as exc:
        raise InvalidSignature(f"bad {name!r}: {exc}") from exc
    if sig.curve not in curves:
        raise InvalidSignature(f"{name!r} must be a {' or '.join(curves)} signature")
    return sig


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # The contract's serde structs refuse duplicate fields; refusing duplicates everywhere means
    # no reader of these bytes can see a different value than the one we checked.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key in JSON object")
    return result


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """Parse signed JSON text strictly: an object, no duplicate keys, no NaN/Infinity."""
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what} must be a JSON object")
    # json accepts escaped lone surrogates ("\\ud800"); JSON text that is valid UTF-8 cannot.
    utf8(json.dumps(value, ensure_ascii=False), what)
    return value


def nonce_bytes(text: object, what: str = "nonce") -> bytes:
    """The 32 nonce bytes from base64; padding optional (serde_with's Base64 is indifferent)."""
    if not isinstance(text, str):
        raise MalformedPayload(f"{what} must be a base64 string")
    padded = text if "=" in text else text + "=" * (-len(text) % 4)
    try:
        return b64decode(padded, length=32)
    except EncodingError as exc:
        raise MalformedPayload(f"bad {what}: {exc}") from exc


def defuse_payload(
    obj: dict[str, Any], *, verifying_contract: object = None, nonce: object = None
) -> dict[str, Any]:
    """The DefusePayload fields of a parsed payload object, extra keys dropped (§2.4).

    nep413 carries ``verifying_contract`` and ``nonce`` outside the message; it passes them in.
    """
    fields = dict(obj)
    if verifying_contract is not None:
        fields["verifying_contract"] = verifying_contract
    if nonce is not None:
        fields["nonce"] = nonce
    intents = fields.get("intents", [])
    if not isinstance(intents, list):
        raise MalformedPayload("'intents' must be a list")
    return {
        "signer_id": text_field(fields, "signer_id"),
        "verifying_contract": text_field(fields, "verifying_contract"),
        # Only the RFC 3339 string form parses in the current contract (§2.4).
        "deadline": text_field(fields, "deadline"),
        "nonce": b64encode(nonce_bytes(fields.get("nonce"))),
        "intents": intents,
    }
