"""Request and response models of the auth and /me routes."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, EmailStr, Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError

from app.core.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from app.core.text import HashedSecret, Line, Token, reject_surrogates

Language = Literal["en", "pl"]


def valid_timezone(value: str) -> str:
    value = value.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "invalid_timezone", "not a known IANA time zone, e.g. Europe/Warsaw or UTC"
        ) from None
    return value


def valid_password(value: SecretStr) -> SecretStr:
    reject_surrogates(value.get_secret_value())  # any character but one UTF-8 cannot encode
    length = len(value.get_secret_value())
    if length < PASSWORD_MIN_LENGTH:
        raise PydanticCustomError(
            "password_too_short",
            "must be at least {min_length} characters long",
            {"min_length": PASSWORD_MIN_LENGTH},
        )
    if length > PASSWORD_MAX_LENGTH:
        raise PydanticCustomError(
            "password_too_long",
            "must be at most {max_length} characters long",
            {"max_length": PASSWORD_MAX_LENGTH},
        )
    return value


FullName = Field(min_length=1, max_length=200)
# The opaque tokens of links and refresh: any text is looked up (and not found), but a
# lone surrogate cannot even be hashed.
OpaqueToken = Field(min_length=1, max_length=200)


class RegisterRequest(BaseModel):
    email: EmailStr = Field(max_length=254)
    password: SecretStr
    full_name: Line = FullName
    language: Language | None = None
    timezone: str = "UTC"

    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "email": "anna@example.com",
                    "password": "correct horse battery",
                    "full_name": "Anna Nowak",
                    "language": "pl",
                    "timezone": "Europe/Warsaw",
                }
            ]
        },
    )

    _password = field_validator("password")(valid_password)
    _timezone = field_validator("timezone")(valid_timezone)


class TokenRequest(BaseModel):
    token: Token = OpaqueToken


class LoginRequest(BaseModel):
    email: EmailStr = Field(max_length=254)
    password: HashedSecret = Field(max_length=PASSWORD_MAX_LENGTH)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "anna@example.com", "password": "correct horse battery"}]
        }
    )


class RefreshRequest(BaseModel):
    """API clients send the token here; the web app sends no body and relies on its cookie."""

    refresh_token: HashedSecret | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Left out (or no body at all): the `refresh_token` cookie is used",
    )


class PasswordResetRequest(BaseModel):
    email: EmailStr = Field(max_length=254)


class PasswordResetConfirm(BaseModel):
    token: Token = OpaqueToken
    new_password: SecretStr

    _password = field_validator("new_password")(valid_password)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")


class ManagerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    language: Language
    timezone: str
    is_email_verified: bool


class ManagerUpdate(BaseModel):
    """Fields left out stay as they are; none of them may be set to null."""

    full_name: Line | None = Field(default=None, min_length=1, max_length=200)
    language: Language | None = None
    timezone: str | None = None

    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"language": "pl", "timezone": "Europe/Warsaw"}]},
    )

    @field_validator("full_name", "language", "timezone", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise PydanticCustomError("not_null", "may be left out, but not null")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return valid_timezone(value)
