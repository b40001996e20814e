"""Request and response models of the board routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from app.core.ids import ObjectId
from app.core.text import INVALID_CHARACTERS, Line, Text, clean_line

KEYWORD_MAX = 100
KEYWORDS_PER_BOARD = 100


def clean_keywords(values: list[str]) -> list[str]:
    """Trimmed, non-empty, at most 100 characters, unique per board ignoring case.

    Errors name the list; `index` in their params says which keyword is wrong.
    """
    if len(values) > KEYWORDS_PER_BOARD:
        raise PydanticCustomError(
            "too_many_keywords",
            "a board has at most {max_length} keywords",
            {"max_length": KEYWORDS_PER_BOARD},
        )
    cleaned: list[str] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(values):
        keyword = raw.strip()
        if not keyword:
            raise PydanticCustomError(
                "keyword_empty", "keywords may not be empty", {"index": index}
            )
        try:
            clean_line(keyword)
        except PydanticCustomError as exc:
            raise PydanticCustomError(
                INVALID_CHARACTERS, exc.message_template, {"index": index, **(exc.context or {})}
            ) from None
        if len(keyword) > KEYWORD_MAX:
            raise PydanticCustomError(
                "keyword_too_long",
                "a keyword is longer than {max_length} characters",
                {"index": index, "max_length": KEYWORD_MAX},
            )
        folded = keyword.casefold()
        if folded in seen:
            raise PydanticCustomError(
                "keyword_duplicate",
                "keyword '{keyword}' repeats '{duplicate_of}' (case is ignored)",
                {"index": index, "keyword": keyword, "duplicate_of": seen[folded]},
            )
        seen[folded] = keyword
        cleaned.append(keyword)
    return cleaned


class TicketCounts(BaseModel):
    new: int = 0
    in_progress: int = 0
    closed: int = 0
    rejected: int = 0


class BoardCreate(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "Printers",
                    "description": "Paper jams, toner, drivers.",
                    "keywords": ["printer", "drukarka", "toner"],
                }
            ]
        },
    )

    name: Line = Field(min_length=1, max_length=200)
    description: Text = Field(default="", max_length=5000)
    email_inbox_id: ObjectId | None = None
    keywords: list[str] = Field(default_factory=list)

    _keywords = field_validator("keywords")(clean_keywords)


class BoardUpdate(BaseModel):
    """Fields left out stay as they are; `email_inbox_id: null` unlinks the inbox."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: Line | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=5000)
    email_inbox_id: ObjectId | None = None
    keywords: list[str] | None = None

    @field_validator("name", "description", "keywords", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise PydanticCustomError("not_null", "may be left out, but not null")
        return value

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        return clean_keywords(value)


class KeywordsUpdate(BaseModel):
    keywords: list[str]

    _keywords = field_validator("keywords")(clean_keywords)


class BoardRead(BaseModel):
    id: int
    name: str
    description: str
    public_id: str
    public_url: str
    email_inbox_id: int | None
    keywords: list[str]
    integration: dict[str, Any] | None = Field(
        description="null, or {platform, ...settings}; secrets are never included"
    )
    is_active: bool
    ticket_counts: TicketCounts
    created_at: datetime
    updated_at: datetime


class BoardStats(BaseModel):
    id: int
    name: str
    is_active: bool
    ticket_counts: TicketCounts


class StatsRead(BaseModel):
    boards: list[BoardStats]
    standby_pending: int
