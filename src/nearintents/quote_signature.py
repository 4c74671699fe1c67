"""The 1Click quote signature (PROTOCOL.md §5.13; TS1C ``src/quote-signature.ts``): which fields
of a QuoteResponse are signed, their json-stable-stringify form, the base58 SHA-256 hash, and the
ed25519 signature over the ASCII bytes of that hash.

JavaScript semantics are reproduced on purpose: JS truthiness decides which optional fields are
kept, a key whose value is ``undefined`` is omitted but still overrides a same-named key in the
object spread, and numbers print as ``JSON.stringify`` prints them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Final

import nacl.exceptions
import nacl.signing

from nearintents.encoding import EncodingError, b58decode, b58encode

ED25519_PREFIX: Final = "ed25519:"
PRODUCTION_PUBLIC_KEY: Final = "ed25519:reYaWhvwu8Jzo3WUM3zhn6VrhuMEF4eADL17qtRVifc"
STAGING_PUBLIC_KEY: Final = "ed25519:5J5tkaxyPoR3Q9S8LXfo5bWnXK5Z2bctJ4mB9gENh7co"

# Request fields copied as they are (a missing key is `undefined` in JS and so omitted).
REQUEST_KEYS: Final = (
    "dry",
    "swapType",
    "slippageTolerance",
    "originAsset",
    "depositType",
    "destinationAsset",
    "amount",
    "refundTo",
    "refundType",
    "recipient",
    "recipientType",
    "deadline",
)
# Request fields kept only when JS-truthy (`x ? x : undefined`).
REQUEST_TRUTHY_KEYS: Final = (
    "quoteWaitingTimeMs",
    "referral",
    "virtualChainRecipient",
    "virtualChainRefundRecipient",
    "customRecipientMsg",
)
# Quote fields signed for every quote.
QUOTE_AMOUNT_KEYS: Final = (
    "amountIn",
    "amountInFormatted",
    "amountInUsd",
    "minAmountIn",
    "amountOut",
    "amountOutFormatted",
    "amountOutUsd",
    "minAmountOut",
)
# Quote fields of a non-dry quote: `x || undefined`, so always present as keys (see _UNDEFINED).
QUOTE_TRUTHY_KEYS: Final = (
    "depositAddress",
    "depositMemo",
    "deadline",
    "timeWhenInactive",
    "timeEstimate",
    "virtualChainRecipient",
    "virtualChainRefundRecipient",
    "customRecipientMsg",
    "refundFee",
    "withdrawFee",
)

# JS numbers are doubles: integers beyond this are not exact once the SDK has parsed them.
_MAX_SAFE_INTEGER = 2**53 - 1


class QuoteSignatureError(ValueError):
    """A quote response cannot be hashed (wrong shape), or a signing key is malformed."""


class _Undefined:
    """JavaScript ``undefined``: a key that counts in a spread but is omitted when stringified."""

    def __repr__(self) -> str:
        return "undefined"


_UNDEFINED: Final = _Undefined()


def _js_truthy(value: object) -> bool:
    """JS truthiness of a JSON value: ``[]`` and ``{}`` are truthy, unlike in Python."""
    if value is None or value is _UNDEFINED:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def _object(response: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = response.get(key)
    if not isinstance(value, Mapping):
        # JS would throw a TypeError for null/undefined; for other non-objects it would read
        # `undefined` properties. We refuse anything that is not an object.
        raise QuoteSignatureError(f"quote response field {key!r} must be an object")
    return value


def signed_fields(response: Mapping[str, object]) -> dict[str, object]:
    """``{...request, ...quote, timestamp}`` as the SDK builds it, ``undefined`` erasure applied.

    Non-dry quotes carry the ten optional quote keys even when falsy (as ``undefined``), so they
    erase a request value of the same name: a non-dry quote without ``quote.deadline`` signs no
    ``deadline`` at all. Dry quotes carry only the amount keys.
    """
    if not isinstance(response, Mapping):
        raise QuoteSignatureError("quote response must be an object")
    request = _object(response, "quoteRequest")
    quote = _object(response, "quote")

    merged: dict[str, object] = {}
    for key in REQUEST_KEYS:
        merged[key] = request.get(key, _UNDEFINED)
    for key in REQUEST_TRUTHY_KEYS:
        value = request.get(key, _UNDEFINED)
        merged[key] = value if _js_truthy(value) else _UNDEFINED

    signed_quote: dict[str, object] = {key: quote.get(key, _UNDEFINED) for key in QUOTE_AMOUNT_KEYS}
    if not _js_truthy(request.get("dry", _UNDEFINED)):
        for key in QUOTE_TRUTHY_KEYS:
            value = quote.get(key, _UNDEFINED)
            signed_quote[key] = value if _js_truthy(value) else _UNDEFINED
    merged.update(signed_quote)
    merged["timestamp"] = response.get("timestamp", _UNDEFINED)
    return {key: value for key, value in merged.items() if value is not _UNDEFINED}


def _js_string(text: str) -> str:
    """``JSON.stringify`` of a string: minimal escapes, lowercase ``\\u00xx``, non-ASCII raw, and
    lone surrogates escaped (well-formed JSON.stringify, ES2019)."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif code < 0x20:
            out.append(
                {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}.get(
                    char, f"\\u{code:04x}"
                )
            )
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _js_float(value: float) -> str:
    """``JSON.stringify`` of a double (ECMAScript Number::toString, radix 10).

    Floats are serialised the JS way rather than rejected, because the request echo may carry
    fractional numbers (``slippageTolerance`` is a JSON number). Only formatting is done here: the
    shortest round-trip digits come from ``repr`` (the same digits JS picks), then they are laid
    out by the ECMAScript rules; no arithmetic is done on the float.
    """
    if not math.isfinite(value):
        return "null"  # JSON.stringify(NaN) and JSON.stringify(Infinity)
    if value == 0:
        return "0"  # also -0
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    significant = all_digits.lstrip("0")
    # value = 0.<digits> * 10^n, ECMAScript's n
    n = len(whole) + (int(exp_text) if exp_text else 0) - (len(all_digits) - len(significant))
    digits = significant.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        e_text = f"e+{e}" if e >= 0 else f"e-{-e}"
        body = (digits if k == 1 else digits[0] + "." + digits[1:]) + e_text
    return sign + body


def _js_int(value: int) -> str:
    if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
        return str(value)  # ints stay ints
    # A JS client holds the nearest double; print what JSON.stringify would print for it.
    try:
        return _js_float(float(value))
    except OverflowError:
        return "null"  # beyond the double range JS reads Infinity


def _key_order(key: str) -> bytes:
    # Array.prototype.sort compares UTF-16 code units, not code points.
    return key.encode("utf-16-be", "surrogatepass")


def _stringify(value: object) -> str:
    """json-stable-stringify: sorted keys, no whitespace, JSON.stringify for primitives."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _js_int(value)
    if isinstance(value, float):
        return _js_float(value)
    if isinstance(value, str):
        return _js_string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_stringify(item) for item in value) + "]"
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise QuoteSignatureError("object keys must be strings")
        parts = []
        for key in sorted(value, key=_key_order):
            parts.append(_js_string(key) + ":" + _stringify(value[key]))
        return "{" + ",".join(parts) + "}"
    raise QuoteSignatureError(f"cannot serialise a {type(value).__name__} like JSON.stringify")


def canonical_string(response: Mapping[str, object]) -> str:
    """The exact text that is hashed (PROTOCOL.md §5.13 steps 1-4)."""
    return _stringify(signed_fields(response))


def quote_hash(response: Mapping[str, object]) -> str:
    """``base58(sha256(utf8(canonical_string)))``."""
    return b58encode(hashlib.sha256(canonical_string(response).encode("utf-8")).digest())


def _strip_prefix(value: str) -> str:
    return value[len(ED25519_PREFIX) :] if value.startswith(ED25519_PREFIX) else value


def sign_quote(response: Mapping[str, object], secret_key: bytes) -> str:
    """Sign a quote response with a 32-byte ed25519 seed; returns ``ed25519:<base58 sig>``.

    The message is the ASCII text of :func:`quote_hash`, not the raw digest.
    """
    if not isinstance(secret_key, bytes | bytearray) or len(secret_key) != 32:
        raise QuoteSignatureError("secret_key must be a 32-byte ed25519 seed")
    message = quote_hash(response).encode("ascii")
    signature = nacl.signing.SigningKey(bytes(secret_key)).sign(message).signature
    return ED25519_PREFIX + b58encode(signature)


def public_key_of(secret_key: bytes) -> str:
    """``ed25519:<base58>`` public key for a 32-byte seed (what clients pass to verify)."""
    if not isinstance(secret_key, bytes | bytearray) or len(secret_key) != 32:
        raise QuoteSignatureError("secret_key must be a 32-byte ed25519 seed")
    verify_key = nacl.signing.SigningKey(bytes(secret_key)).verify_key
    return ED25519_PREFIX + b58encode(bytes(verify_key))


def verify_quote_signature(response: Mapping[str, object], public_key: str) -> bool:
    """Check ``response["signature"]`` against ``public_key``; False on any malformed input.

    Like the SDK, the ``ed25519:`` prefix is optional on both the signature and the key.
    """
    try:
        signature = response["signature"]
        if not isinstance(signature, str) or not isinstance(public_key, str):
            return False
        signature_bytes = b58decode(_strip_prefix(signature), length=64)
        key_bytes = b58decode(_strip_prefix(public_key), length=32)
        message = quote_hash(response).encode("ascii")
        nacl.signing.VerifyKey(key_bytes).verify(message, signature_bytes)
    except (
        KeyError,
        TypeError,
        QuoteSignatureError,
        EncodingError,
        nacl.exceptions.BadSignatureError,
        nacl.exceptions.CryptoError,
        nacl.exceptions.ValueError,
        nacl.exceptions.TypeError,
    ):
        return False
    return True
