"""Key material, the key file, and custody account derivation (ARCHITECTURE.md §3).

Custody keys: SLIP-10 ed25519 from the master secret at the hardened path
``m/44'/397'/1'/<index>'`` (397 is NEAR's coin type; account ``1'`` keeps custody keys apart from
any wallet key of the same seed). The account id is the implicit id (hex of the public key).

Only workers load the master secret (:class:`KeyCustody`); the API holds :class:`ApiKeys`, the
manager key and the JWT secret, and takes pre-derived custody accounts from the database.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bip_utils import Bip32Slip10Ed25519  # type: ignore[import-untyped]

from nearintents import signing
from nearintents.encoding import EncodingError, hex_decode
from nearintents.keys import Ed25519SecretKey, KeyFormatError, implicit_account_id
from nearintents.quote_signature import sign_quote
from oneclick.domain.errors import ConfigurationError
from oneclick.domain.records import CustodyAccount

KEY_FILE_VERSION = 1
CUSTODY_PATH = "m/44'/397'/1'/{index}'"
MAX_INDEX = 2**31 - 1
CUSTODY_STANDARDS = ("nep413", "raw_ed25519")


@dataclass(frozen=True)
class KeyMaterial:
    """The service's secrets. ``repr`` shows only public data."""

    master_secret: bytes = field(repr=False)
    manager_key: Ed25519SecretKey = field(repr=False)
    jwt_secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.master_secret) not in range(16, 65):
            raise ConfigurationError("the master secret must be 16 to 64 bytes")
        if len(self.jwt_secret) < 32:
            raise ConfigurationError("the JWT secret must be at least 32 bytes")

    @classmethod
    def generate(cls) -> KeyMaterial:
        return cls(secrets.token_bytes(32), Ed25519SecretKey.generate(), secrets.token_bytes(32))

    @classmethod
    def from_strings(cls, master_secret: str, manager_key: str, jwt_secret: str) -> KeyMaterial:
        """Hex master secret, NEAR-style ``ed25519:`` manager secret key, hex JWT secret."""
        try:
            return cls(
                hex_decode(master_secret.strip()),
                Ed25519SecretKey.from_near_string(manager_key.strip()),
                hex_decode(jwt_secret.strip()),
            )
        except (EncodingError, KeyFormatError) as exc:
            # No detail from the values: they are secrets.
            raise ConfigurationError("malformed key material (expected hex / ed25519:…)") from exc

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": KEY_FILE_VERSION,
                "master_secret": self.master_secret.hex(),
                "manager_key": self.manager_key.to_near_string(),
                "jwt_secret": self.jwt_secret.hex(),
                "manager_public_key": str(self.manager_key.public_key),
            },
            indent=2,
        )

    @property
    def manager_public_key(self) -> str:
        return str(self.manager_key.public_key)


def init_key_file(path: Path) -> KeyMaterial:
    """Create a new key file with mode 0600; refuse to overwrite an existing one."""
    material = KeyMaterial.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigurationError(f"key file {path} already exists; not overwriting it") from exc
    with os.fdopen(fd, "w") as handle:
        handle.write(material.to_json() + "\n")
    return material


def _read_key_file(path: Path) -> dict[str, Any]:
    try:
        mode = path.stat().st_mode & 0o777
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"no key file at {path}: run `oneclick keys init` or set ONECLICK_KEYS__* variables"
        ) from exc
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read key file {path}") from exc
    if mode & 0o077:
        raise ConfigurationError(
            f"key file {path} is readable by others (mode {mode:o}): chmod 600"
        )
    if not isinstance(data, dict) or data.get("version") != KEY_FILE_VERSION:
        raise ConfigurationError(f"key file {path} has an unknown format")
    return data


def _strings(data: dict[str, Any], path: Path, *names: str) -> list[str]:
    fields = [data.get(k) for k in names]
    if not all(isinstance(v, str) for v in fields):
        raise ConfigurationError(f"key file {path} is missing a key")
    return [str(v) for v in fields]


def load_key_file(path: Path) -> KeyMaterial:
    data = _read_key_file(path)
    return KeyMaterial.from_strings(
        *_strings(data, path, "master_secret", "manager_key", "jwt_secret")
    )


@dataclass(frozen=True)
class ApiKeys:
    """What the API holds: the manager key (quote signatures) and the JWT secret. Never the
    master secret, from which every custody key derives. ``repr`` shows only public data."""

    manager_key: Ed25519SecretKey = field(repr=False)
    jwt_secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.jwt_secret) < 32:
            raise ConfigurationError("the JWT secret must be at least 32 bytes")

    @classmethod
    def from_strings(cls, manager_key: str, jwt_secret: str) -> ApiKeys:
        try:
            return cls(
                Ed25519SecretKey.from_near_string(manager_key.strip()),
                hex_decode(jwt_secret.strip()),
            )
        except (EncodingError, KeyFormatError) as exc:
            raise ConfigurationError("malformed key material (expected hex / ed25519:…)") from exc

    @property
    def manager_public_key(self) -> str:
        return str(self.manager_key.public_key)


def load_api_key_file(path: Path) -> ApiKeys:
    """The API's keys from the key file; its master secret is neither decoded nor kept."""
    data = _read_key_file(path)
    return ApiKeys.from_strings(*_strings(data, path, "manager_key", "jwt_secret"))


class QuoteKeys:
    """The ``QuoteSigner`` port over the manager key alone (the API's custody)."""

    def __init__(self, keys: ApiKeys) -> None:
        self._manager_key = keys.manager_key

    def __repr__(self) -> str:
        return f"QuoteKeys(manager_public_key={self.manager_public_key})"

    @property
    def manager_public_key(self) -> str:
        return str(self._manager_key.public_key)

    def sign_quote(self, response: Mapping[str, object]) -> str:
        return sign_quote(response, self._manager_key.seed_bytes())


def derive_custody_key(master_secret: bytes, index: int) -> Ed25519SecretKey:
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"custody index {index} is out of the hardened range")
    node = Bip32Slip10Ed25519.FromSeed(master_secret).DerivePath(CUSTODY_PATH.format(index=index))
    return Ed25519SecretKey(bytes(node.PrivateKey().Raw().ToBytes()))


class KeyCustody:
    """The ``Custody`` port over local key material."""

    def __init__(self, material: KeyMaterial) -> None:
        self._material = material

    def __repr__(self) -> str:
        return f"KeyCustody(manager_public_key={self.manager_public_key})"

    @property
    def manager_public_key(self) -> str:
        return self._material.manager_public_key

    def signer(self, index: int) -> Ed25519SecretKey:
        """The custody account's signing key (for the swap engine)."""
        return derive_custody_key(self._material.master_secret, index)

    def account(self, index: int) -> CustodyAccount:
        key = self.signer(index)
        return CustodyAccount(index, implicit_account_id(key.public_key), str(key.public_key))

    def sign_quote(self, response: Mapping[str, object]) -> str:
        return sign_quote(response, self._material.manager_key.seed_bytes())

    def sign_intent(self, index: int, standard: str, payload: dict[str, Any]) -> dict[str, Any]:
        if standard not in CUSTODY_STANDARDS:
            raise ConfigurationError(
                f"custody accounts sign with {' or '.join(CUSTODY_STANDARDS)}, not {standard!r}"
            )
        return signing.sign(standard, payload, self.signer(index))
