"""Passwords and access tokens on their own."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import bcrypt
import jwt
import pytest

from app.core.clock import utcnow
from app.core.security import (
    InvalidAccessToken,
    create_access_token,
    decode_access_token,
    hash_password,
    hash_token,
    verify_password,
)

KEY = "k" * 48


def _token(**overrides: object) -> str:
    now = utcnow()
    claims: dict[str, object] = {
        "sub": "7",
        "fam": str(uuid.uuid4()),
        "typ": "access",
        "iss": "simple-issue-tracker",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=15)).timestamp()),
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, KEY, algorithm="HS256")


def test_a_fresh_access_token_decodes() -> None:
    family = uuid.uuid4()
    token = create_access_token(manager_id=7, family_id=family, secret_key=KEY, now=utcnow())
    claims = decode_access_token(token, secret_key=KEY)
    assert (claims.manager_id, claims.family_id) == (7, family)


def test_alg_none_is_rejected() -> None:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = _token().split(".")[1]
    unsigned = f"{header.decode().rstrip('=')}.{body}."
    with pytest.raises(InvalidAccessToken):
        decode_access_token(unsigned, secret_key=KEY)


def test_a_wrong_signature_is_rejected() -> None:
    forged = jwt.encode(jwt.decode(_token(), KEY, algorithms=["HS256"]), "other" * 10, "HS256")
    with pytest.raises(InvalidAccessToken):
        decode_access_token(forged, secret_key=KEY)


def test_an_expired_token_is_rejected() -> None:
    past = utcnow() - timedelta(hours=1)
    with pytest.raises(InvalidAccessToken):
        decode_access_token(_token(exp=int(past.timestamp())), secret_key=KEY)


@pytest.mark.parametrize("claim", ["sub", "fam", "typ", "exp", "iss"])
def test_a_token_missing_a_claim_is_rejected(claim: str) -> None:
    with pytest.raises(InvalidAccessToken):
        decode_access_token(_token(**{claim: None}), secret_key=KEY)


def test_a_token_of_another_kind_is_rejected() -> None:
    with pytest.raises(InvalidAccessToken):
        decode_access_token(_token(typ="refresh"), secret_key=KEY)


async def test_passwords_hash_with_argon2id_and_verify() -> None:
    hashed = await hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert await verify_password("correct horse battery", hashed) == (True, None)
    assert (await verify_password("wrong horse battery", hashed))[0] is False


async def test_bcrypt_hashes_verify_and_are_upgraded() -> None:
    legacy = bcrypt.hashpw(b"old password 1", bcrypt.gensalt(rounds=4)).decode()
    matches, upgraded = await verify_password("old password 1", legacy)
    assert matches and upgraded and upgraded.startswith("$argon2id$")


async def test_unknown_accounts_and_broken_hashes_never_match() -> None:
    assert await verify_password("anything at all", None) == (False, None)
    assert await verify_password("anything at all", "not-a-hash") == (False, None)


def test_token_hashes_are_sha256_hex() -> None:
    digest = hash_token("abc")
    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
