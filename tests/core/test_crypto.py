from __future__ import annotations

import base64
import os

import pytest

from app.core.crypto import DecryptionError, FieldCipher, cipher_for, key_id


def new_key() -> bytes:
    return os.urandom(32)


def test_round_trip_with_a_fresh_nonce_each_time() -> None:
    cipher = FieldCipher([new_key()])
    first = cipher.encrypt("imap-p@ssw0rd")
    second = cipher.encrypt("imap-p@ssw0rd")
    assert first != second  # a fresh nonce per value
    assert "imap-p@ssw0rd" not in first
    assert cipher.decrypt(first) == cipher.decrypt(second) == "imap-p@ssw0rd"


def test_stored_value_names_its_key() -> None:
    key = new_key()
    stored = FieldCipher([key]).encrypt("secret")
    version, kid, _ = stored.split(":", 2)
    assert (version, kid) == ("v1", key_id(key))


def test_tampered_ciphertext_is_refused() -> None:
    cipher = FieldCipher([new_key()])
    stored = cipher.encrypt("secret")
    prefix, token = stored.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[-1] ^= 0x01
    tampered = f"{prefix}:{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"
    with pytest.raises(DecryptionError):
        cipher.decrypt(tampered)


def test_a_wrong_key_cannot_decrypt() -> None:
    stored = FieldCipher([new_key()]).encrypt("secret")
    with pytest.raises(DecryptionError, match="no configured key"):
        FieldCipher([new_key()]).decrypt(stored)


def test_a_wrong_key_with_a_forged_key_id_cannot_decrypt() -> None:
    real, impostor = new_key(), new_key()
    stored = FieldCipher([real]).encrypt("secret")
    forged = stored.replace(key_id(real), key_id(impostor))
    with pytest.raises(DecryptionError):
        FieldCipher([impostor]).decrypt(forged)


def test_rotation_keeps_old_values_readable() -> None:
    old, new = new_key(), new_key()
    written_before = FieldCipher([old]).encrypt("jira-token")
    rotated = FieldCipher([new, old])
    assert rotated.decrypt(written_before) == "jira-token"
    assert rotated.needs_reencryption(written_before)
    written_after = rotated.encrypt("jira-token")
    assert not rotated.needs_reencryption(written_after)
    with pytest.raises(DecryptionError):
        FieldCipher([old]).decrypt(written_after)


def test_a_value_moved_to_another_field_does_not_decrypt() -> None:
    cipher = FieldCipher([new_key()])
    stored = cipher.encrypt("secret", context="email_inboxes.imap_password")
    assert cipher.decrypt(stored, context="email_inboxes.imap_password") == "secret"
    with pytest.raises(DecryptionError):
        cipher.decrypt(stored, context="email_inboxes.smtp_password")


@pytest.mark.parametrize("garbage", ["", "plain text", "v2:abcd:xyz", "v1:abcd", "v1:00000000:!!"])
def test_malformed_values_raise_a_clear_error(garbage: str) -> None:
    with pytest.raises(DecryptionError):
        FieldCipher([new_key()]).decrypt(garbage)


def test_keys_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        FieldCipher([os.urandom(16)])


class _Keys:
    def __init__(self, *keys: bytes) -> None:
        self.keys = list(keys)

    def encryption_keys(self) -> list[bytes]:
        return self.keys


def test_the_settings_cipher_is_built_once_per_set_of_keys() -> None:
    old, new = new_key(), new_key()
    cipher = cipher_for(_Keys(new, old))
    assert cipher_for(_Keys(new, old)) is cipher
    assert cipher_for(_Keys(new)) is not cipher
    assert cipher.decrypt(FieldCipher([old]).encrypt("s", context="c"), context="c") == "s"
    assert cipher.encrypt("s").split(":")[1] == key_id(new)
