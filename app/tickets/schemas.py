"""Request and response models of the ticket routes, manager-side and public."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.core.text import FoldedLine, Line, Text
from app.tickets.models import DESCRIPTION_MAX, TITLE_MAX

State = Literal["new", "in_progress", "closed", "rejected"]
Source = Literal["web", "email"]


class TicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    uuid: uuid.UUID
    board_id: int
    title: str
    description: str
    reporter_email: str
    reporter_name: str | None
    source: Source
    state: State
    language: Literal["en", "pl"]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class HistoryEntry(BaseModel):
    from_state: State | None
    to_state: State
    comment: str | None
    internal_note: str | None
    changed_by: int | None = Field(description="Manager id; null when the system made the change")
    changed_at: datetime


class TicketDetail(TicketRead):
    status_url: str
    history: list[HistoryEntry]


class TransitionRequest(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "to_state": "in_progress",
                    "comment": "We are looking into it.",
                    "internal_note": "Probably the toner.",
                }
            ]
        },
    )

    to_state: State
    comment: Text | None = Field(default=None, max_length=5000, description="Shown to the reporter")
    internal_note: Text | None = Field(default=None, max_length=5000, description="Managers only")


class PublicSubmission(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "title": "The printer on floor 2 jams",
                    "description": "Every second page gets stuck since Monday.",
                    "email": "jan@example.com",
                    "name": "Jan Kowalski",
                    "language": "pl",
                }
            ]
        },
    )

    title: FoldedLine = Field(min_length=1, max_length=TITLE_MAX)
    description: Text = Field(min_length=1, max_length=DESCRIPTION_MAX)
    email: EmailStr = Field(max_length=254)
    name: Line | None = Field(default=None, max_length=200)
    language: Literal["en", "pl"] | None = None
    website: str | None = Field(
        default=None, max_length=2000, description="Leave empty: a trap for bots (honeypot)"
    )


class SubmissionAccepted(BaseModel):
    uuid: uuid.UUID
    status_url: str


class PublicBoard(BaseModel):
    name: str
    description: str


class PublicHistoryEntry(BaseModel):
    from_state: State | None
    to_state: State
    comment: str | None
    changed_at: datetime


class PublicTicket(BaseModel):
    uuid: uuid.UUID
    kind: Literal["ticket", "external"]
    title: str
    board_name: str
    state: str = Field(description="The ticket's state, or for a forwarded report its status")
    created_at: datetime
    history: list[PublicHistoryEntry]
    platform: Literal["jira", "trello"] | None = None
    status: Literal["pending", "created", "failed"] | None = None
    external_url: str | None = None
