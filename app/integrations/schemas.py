"""Board integration settings: Jira Cloud or Trello. Tokens are write-only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from app.core.text import Line, Secret


class JiraIntegration(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "platform": "jira",
                    "site_url": "https://your-team.atlassian.net",
                    "email": "you@example.com",
                    "api_token": "ATATT3x…",
                    "project_key": "HELP",
                    "issue_type": "Task",
                }
            ]
        },
    )

    platform: Literal["jira"]
    site_url: HttpUrl
    email: Line = Field(min_length=3, max_length=320)
    api_token: Secret = Field(min_length=1, max_length=2000)
    project_key: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_]+$")
    issue_type: Line = Field(default="Task", min_length=1, max_length=100)


class TrelloIntegration(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "platform": "trello",
                    "api_key": "0123456789abcdef0123456789abcdef",
                    "token": "ATTA…",
                    "list_id": "5f1e2d3c4b5a697887766554",
                }
            ]
        },
    )

    platform: Literal["trello"]
    api_key: Line = Field(min_length=1, max_length=200)
    token: Secret = Field(min_length=1, max_length=2000)
    list_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9]+$")


IntegrationSettings = Annotated[
    JiraIntegration | TrelloIntegration, Field(discriminator="platform")
]


class IntegrationCheck(BaseModel):
    ok: bool
    error: str | None = None


class ExternalTicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    uuid: uuid.UUID
    title: str
    platform: Literal["jira", "trello"]
    status: Literal["pending", "created", "failed"]
    external_id: str | None
    external_url: str | None
    source: Literal["web", "email"]
    created_at: datetime
