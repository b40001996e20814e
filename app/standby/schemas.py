"""Request and response models of the standby routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.ids import ObjectId


class AssignRequest(BaseModel):
    board_id: ObjectId


class StandbyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: Literal["unrouted_email", "failed_external"]
    reason: str
    payload: dict[str, Any] = Field(
        description="sender, sender_name, subject, text, message_id, attachments, "
        "candidates [{id, name}], last_error … as the item's kind has them"
    )
    retry_count: int
    status: Literal["pending", "resolved", "discarded"]
    email_inbox_id: int | None
    external_ticket_id: int | None
    ticket_id: int | None
    created_at: datetime
    resolved_at: datetime | None
