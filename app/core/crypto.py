"""AES-256-GCM field encryption for secrets stored in the database.

A stored value reads `v1:<key id>:<base64url(nonce || ciphertext+tag)>`. The key id
(first 8 hex digits of SHA-256 of the key) says which key wrote the value, so
ENCRYPTION_KEY can rotate: the new key encrypts, old keys in ENCRYPTION_KEYS_OLD
still decrypt. An optional context (e.g. "email_inboxes.imap_password") is bound as
associated data, so a value copied into another column does not decrypt.

`cipher_for(settings)` is the one place a cipher is built from the settings; every
caller that encrypts or decrypts a stored secret takes its cipher from there.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"
_NONCE_BYTES = 12


class DecryptionError(Exception):
    """The value is malformed, was tampered with, or no configured key wrote it."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


class FieldCipher:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        for key in keys:
            if len(key) != 32:
                raise ValueError("AES-256-GCM keys are 32 bytes")
        self._current = keys[0]
        self._by_id = {key_id(k): AESGCM(k) for k in reversed(keys)}
        self._current_id = key_id(self._current)

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._by_id[self._current_id].encrypt(
            nonce, plaintext.encode(), context.encode() or None
        )
        token = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_VERSION}:{self._current_id}:{token}"

    def decrypt(self, stored: str, *, context: str = "") -> str:
        try:
            version, kid, token = stored.split(":", 2)
        except ValueError:
            raise DecryptionError("not an encrypted value") from None
        if version != _VERSION:
            raise DecryptionError(f"unknown format {version!r}")
        aead = self._by_id.get(kid)
        if aead is None:
            raise DecryptionError(f"no configured key has id {kid}")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except ValueError:
            raise DecryptionError("malformed value") from None
        if len(raw) < _NONCE_BYTES + 16:
            raise DecryptionError("malformed value")
        try:
            plain = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode() or None)
        except InvalidTag:
            raise DecryptionError("the value was altered or belongs to another context") from None
        return plain.decode()

    def needs_reencryption(self, stored: str) -> bool:
        """True when an older key wrote the value (re-encrypt it with the current one)."""
        parts = stored.split(":", 2)
        return len(parts) != 3 or parts[1] != self._current_id


class HasEncryptionKeys(Protocol):
    """What the cipher needs from the settings: the current key first, then old ones."""

    def encryption_keys(self) -> list[bytes]: ...


def cipher_for(settings: HasEncryptionKeys) -> FieldCipher:
    """The cipher for the configured keys, built once per set of keys."""
    return _cipher_for_keys(tuple(settings.encryption_keys()))


@lru_cache(maxsize=8)
def _cipher_for_keys(keys: tuple[bytes, ...]) -> FieldCipher:
    return FieldCipher(keys)
