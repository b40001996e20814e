"""Routes: /inboxes (CRUD), a connection test, and polling on demand."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.auth.deps import CurrentManager, SettingsDep
from app.core.errors import ERROR_RESPONSES, Accepted, error_responses
from app.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from app.db import SessionDep
from app.inboxes import service
from app.inboxes.models import EmailInbox
from app.inboxes.schemas import InboxCreate, InboxRead, InboxTestResult, InboxUpdate

router = APIRouter(prefix="/inboxes", tags=["inboxes"], responses=ERROR_RESPONSES)
CONFLICT = error_responses(409)


def inbox_read(inbox: EmailInbox) -> InboxRead:
    return InboxRead(
        id=inbox.id,
        name=inbox.name,
        email_address=inbox.email_address,
        imap_host=inbox.imap_host,
        imap_port=inbox.imap_port,
        imap_security=inbox.imap_security,  # type: ignore[arg-type]
        imap_username=inbox.imap_username,
        has_imap_password=inbox.imap_password_encrypted is not None,
        imap_folder=inbox.imap_folder,
        smtp_host=inbox.smtp_host,
        smtp_port=inbox.smtp_port,
        smtp_security=inbox.smtp_security,  # type: ignore[arg-type]
        smtp_username=inbox.smtp_username,
        has_smtp_password=inbox.smtp_password_encrypted is not None,
        poll_interval_seconds=inbox.poll_interval_seconds,
        is_active=inbox.is_active,
        last_polled_at=inbox.last_polled_at,
        last_error=inbox.last_error,
        last_error_at=inbox.last_error_at,
        created_at=inbox.created_at,
        updated_at=inbox.updated_at,
    )


@router.get("", response_model=Page[InboxRead], summary="Your inboxes, newest first")
async def list_inboxes(
    manager: CurrentManager,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[InboxRead]:
    inboxes, next_cursor = await service.list_inboxes(session, manager, limit=limit, cursor=cursor)
    return Page(items=[inbox_read(i) for i in inboxes], next_cursor=next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=InboxRead,
    responses=CONFLICT,
    summary="Connect a mailbox (it is polled at once)",
)
async def create_inbox(
    body: InboxCreate, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> InboxRead:
    inbox = await service.create_inbox(session, settings, manager, body)
    await session.refresh(inbox)
    return inbox_read(inbox)


@router.get("/{inbox_id}", response_model=InboxRead, summary="One of your inboxes")
async def read_inbox(inbox_id: int, manager: CurrentManager, session: SessionDep) -> InboxRead:
    return inbox_read(await service.get_inbox(session, manager, inbox_id))


@router.patch("/{inbox_id}", response_model=InboxRead, responses=CONFLICT, summary="Change it")
async def update_inbox(
    inbox_id: int,
    body: InboxUpdate,
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
) -> InboxRead:
    inbox = await service.update_inbox(session, settings, manager, inbox_id, body)
    await session.refresh(inbox)
    return inbox_read(inbox)


@router.delete(
    "/{inbox_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Disconnect it: boards are unlinked, tickets and standby items stay",
)
async def delete_inbox(inbox_id: int, manager: CurrentManager, session: SessionDep) -> Response:
    await service.delete_inbox(session, manager, inbox_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{inbox_id}/test",
    response_model=InboxTestResult,
    summary="Log in to its IMAP and SMTP servers now and say what went wrong",
)
async def test_inbox(
    inbox_id: int, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> InboxTestResult:
    return await service.check_inbox(session, settings, manager, inbox_id)


@router.post(
    "/{inbox_id}/poll",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Read the mailbox now rather than at the next interval",
)
async def poll_inbox(inbox_id: int, manager: CurrentManager, session: SessionDep) -> Accepted:
    await service.request_poll(session, manager, inbox_id)
    return Accepted(detail="The inbox will be read within seconds.")
