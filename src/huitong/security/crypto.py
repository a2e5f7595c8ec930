"""Field-level encryption (AES-256-GCM) and blind indexes (HMAC-SHA256) for identifying fields.

Resident ID numbers, phone numbers and addresses are stored as ``enc:v1:<key-id>:<base64(nonce‖ciphertext)>``.
The key id travels with the ciphertext, so keys rotate without downtime: add a new key, make it active (new
values use it, old values still decrypt with theirs), re-encrypt at leisure with :meth:`FieldCipher.rotate`,
then retire the old key. The field name is bound in as associated data, so a ciphertext cannot be moved
from one field to another.

A blind index is a keyed hash of the *normalised* value (``HMAC(key, field ‖ value)``); equal values give
equal indexes, so exact search and EMPI blocking work without decrypting. The index key is separate from
the encryption keys and is not rotated casually (every index would have to be rebuilt).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from huitong.settings import SecuritySettings

PREFIX = "enc:v1:"
#: The fields encrypted at rest.
PROTECTED_FIELDS = ("resident_id", "phone", "address", "totp_secret")


class CryptoError(Exception):
    """A value cannot be decrypted (unknown key id, wrong field, or altered ciphertext)."""


def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for ``purpose`` derived from a master secret (development and tests only)."""
    return hmac.new(secret.encode(), f"huitong:{purpose}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class FieldCipher:
    """Encrypts and decrypts protected fields and computes their blind indexes."""

    keys: Mapping[str, bytes]
    active: str
    index_key: bytes
    _aead: dict[str, AESGCM] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise CryptoError(f"the active key {self.active!r} is not among the field keys")
        for kid, key in self.keys.items():
            if len(key) != 32:
                raise CryptoError(f"field key {kid!r} must be 32 bytes (AES-256), got {len(key)}")
            if ":" in kid:
                raise CryptoError(f"field key id {kid!r} must not contain ':'")
            self._aead[kid] = AESGCM(key)  # built once: constructing it costs more than one decryption

    @classmethod
    def from_settings(cls, settings: SecuritySettings) -> FieldCipher:
        """The cipher configured by ``HUITONG_SECURITY__FIELD_KEYS`` (or keys derived from the secret key)."""
        secret = settings.secret_key.get_secret_value()
        if settings.field_keys:
            keys = {k: base64.b64decode(v.get_secret_value()) for k, v in settings.field_keys.items()}
            active = settings.field_key_active or sorted(keys)[-1]
        else:
            keys, active = {"derived": derive_key(secret, "field-key")}, "derived"
        index = settings.blind_index_key.get_secret_value()
        index_key = index.encode() if index else derive_key(secret, "blind-index")
        return cls(keys, active, index_key)

    def encrypt(self, field: str, plaintext: str) -> str:
        """``plaintext`` encrypted under the active key, bound to ``field``."""
        nonce = os.urandom(12)
        sealed = self._aead[self.active].encrypt(nonce, plaintext.encode(), field.encode())
        return f"{PREFIX}{self.active}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, field: str, token: str) -> str:
        """The plaintext of ``token``; raises :class:`CryptoError` if it cannot be trusted."""
        if not token.startswith(PREFIX):
            raise CryptoError("not an encrypted value")
        kid, _, body = token[len(PREFIX) :].partition(":")
        aead = self._aead.get(kid)
        if aead is None:
            raise CryptoError(f"unknown field key {kid!r} (retired before its values were re-encrypted?)")
        try:
            raw = base64.b64decode(body, validate=True)
            return aead.decrypt(raw[:12], raw[12:], field.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise CryptoError(f"the {field} value was altered or belongs to another field") from exc

    @staticmethod
    def key_id(token: str) -> str | None:
        """The key id inside an encrypted value (``None`` if it is not one)."""
        if not token.startswith(PREFIX):
            return None
        return token[len(PREFIX) :].partition(":")[0]

    def rotate(self, field: str, token: str) -> str:
        """``token`` re-encrypted under the active key (unchanged if it already is)."""
        if self.key_id(token) == self.active:
            return token
        return self.encrypt(field, self.decrypt(field, token))

    def blind_index(self, field: str, normalised_value: str) -> str:
        """The keyed hash used to find ``normalised_value`` of ``field`` without decrypting (hex, 32 chars)."""
        mac = hmac.new(self.index_key, f"{field}\x1f{normalised_value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]
