"""WebAuthn (passkeys): a p256 (ES256) or ed25519 assertion whose challenge is sha256(payload)
(PROTOCOL.md §2.5). The checks follow the W3C "verifying an assertion" steps the Verifier applies.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from nearintents.encoding import EncodingError, b64url_decode, b64url_encode
from nearintents.keys import Curve, PublicKey, verify_ed25519, verify_p256
from nearintents.standards import (
    InvalidSignature,
    MalformedPayload,
    SignedPayloadError,
    defuse_payload,
    parse_json_object,
    public_key_field,
    signature_field,
    text_field,
    utf8,
)

# authenticatorData: rpIdHash (32) ‖ flags (1) ‖ signCount (4) ‖ ...
_MIN_AUTH_DATA = 37
_FLAGS_OFFSET = 32
_FLAG_UP = 0x01  # user present: required
_FLAG_BE = 0x08  # backup eligible
_FLAG_BS = 0x10  # backed up: only allowed when BE is set
# UV (user verified) is deliberately not required: U2F authenticators only ever set UP.

_B64URL_BODY = re.compile(r"[A-Za-z0-9_-]*\Z")


def b64url_bytes(text: object, what: str) -> bytes:
    """base64url, padding optional, trailing bits canonical (as serde_with's Base64 decodes)."""
    if not isinstance(text, str):
        raise MalformedPayload(f"{what} must be a base64url string")
    body = text.rstrip("=")
    padding = len(text) - len(body)
    if (
        not _B64URL_BODY.match(body)
        or len(body) % 4 == 1
        or (padding and (len(text) % 4 != 0 or padding > 2))
    ):
        raise MalformedPayload(f"{what} is not base64url")
    try:
        data = b64url_decode(body)
    except EncodingError as exc:
        raise MalformedPayload(f"{what} is not base64url") from exc
    if b64url_encode(data) != body:
        raise MalformedPayload(f"{what} is not canonical base64url")
    return data


def _aliased(mp: dict[str, Any], name: str, alias: str) -> Any:
    # The contract accepts the W3C camelCase names as aliases; both at once is a duplicate field.
    if name in mp and alias in mp:
        raise MalformedPayload(f"both {name!r} and {alias!r} given")
    return mp.get(name, mp.get(alias))


def _assertion(mp: dict[str, Any]) -> tuple[bytes, str]:
    authenticator_data = b64url_bytes(
        _aliased(mp, "authenticator_data", "authenticatorData"), "authenticator_data"
    )
    client_data_json = _aliased(mp, "client_data_json", "clientDataJSON")
    if not isinstance(client_data_json, str):
        raise MalformedPayload("client_data_json must be a string")
    return authenticator_data, client_data_json


def _check_assertion(challenge: bytes, authenticator_data: bytes, client_data_json: str) -> None:
    if len(authenticator_data) < _MIN_AUTH_DATA:
        raise InvalidSignature("authenticator_data is too short")
    flags = authenticator_data[_FLAGS_OFFSET]
    if not flags & _FLAG_UP:
        raise InvalidSignature("authenticator_data lacks the user-present flag")
    if flags & _FLAG_BS and not flags & _FLAG_BE:
        raise InvalidSignature("authenticator_data has BS without BE")
    try:
        client_data = parse_json_object(client_data_json, "client_data_json")
        kind = text_field(client_data, "type")
        text_field(client_data, "origin")
        client_challenge = b64url_bytes(client_data.get("challenge"), "challenge")
    except SignedPayloadError as exc:
        raise InvalidSignature(f"client data rejected: {exc}") from exc
    if kind != "webauthn.get":
        raise InvalidSignature("client data type must be 'webauthn.get'")
    if client_challenge != challenge:
        raise InvalidSignature("client data challenge is not sha256(payload)")


def intent_hash(mp: dict[str, Any]) -> bytes:
    return hashlib.sha256(utf8(text_field(mp, "payload"), "payload")).digest()


def verify(mp: dict[str, Any]) -> PublicKey:
    challenge = intent_hash(mp)
    authenticator_data, client_data_json = _assertion(mp)
    pk = public_key_field(mp, "public_key", Curve.P256, Curve.ED25519, Curve.SECP256K1)
    signature = signature_field(mp, "signature", Curve.P256, Curve.ED25519, Curve.SECP256K1)
    if pk.curve is not signature.curve or pk.curve is Curve.SECP256K1:
        raise InvalidSignature("webauthn needs a p256 or ed25519 key with a matching signature")
    _check_assertion(challenge, authenticator_data, client_data_json)
    # Signed message: authenticatorData ‖ sha256(clientDataJSON) (W3C step 21).
    message = authenticator_data + hashlib.sha256(utf8(client_data_json, "client data")).digest()
    if pk.curve is Curve.P256:
        valid = verify_p256(pk, hashlib.sha256(message).digest(), signature)
    else:
        valid = verify_ed25519(pk, message, signature)
    if not valid:
        raise InvalidSignature("webauthn signature does not verify")
    return pk


def payload_json(mp: dict[str, Any]) -> str:
    return text_field(mp, "payload")


def extract(mp: dict[str, Any]) -> dict[str, Any]:
    return defuse_payload(parse_json_object(payload_json(mp), "payload"))
