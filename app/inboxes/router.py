"""Routes: /inboxes (CRUD), a connection test, and polling on demand."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.auth.deps import CurrentManager
from app.core.deps import Cursor, Limit, SessionDep, SettingsDep
from app.core.errors import ERROR_RESPONSES, Accepted, error_responses
from app.core.ids import ObjectId
from app.core.pagination import DEFAULT_LIMIT, Page
from app.inboxes import service
from app.inboxes.schemas import InboxCreate, InboxRead, InboxTestResult, InboxUpdate, inbox_read

router = APIRouter(prefix="/inboxes", tags=["inboxes"], responses=ERROR_RESPONSES)
CONFLICT = error_responses(409)


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
    return inbox_read(await service.create_inbox(session, settings, manager, body))


@router.get("/{inbox_id}", response_model=InboxRead, summary="One of your inboxes")
async def read_inbox(inbox_id: ObjectId, manager: CurrentManager, session: SessionDep) -> InboxRead:
    return inbox_read(await service.get_inbox(session, manager, inbox_id))


@router.patch("/{inbox_id}", response_model=InboxRead, responses=CONFLICT, summary="Change it")
async def update_inbox(
    inbox_id: ObjectId,
    body: InboxUpdate,
    manager: CurrentManager,
    session: SessionDep,
    settings: SettingsDep,
) -> InboxRead:
    return inbox_read(await service.update_inbox(session, settings, manager, inbox_id, body))


@router.delete(
    "/{inbox_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Disconnect it: boards are unlinked, tickets and standby items stay",
)
async def delete_inbox(
    inbox_id: ObjectId, manager: CurrentManager, session: SessionDep
) -> Response:
    await service.delete_inbox(session, manager, inbox_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{inbox_id}/test",
    response_model=InboxTestResult,
    summary="Log in to its IMAP and SMTP servers now and say what went wrong",
)
async def test_inbox(
    inbox_id: ObjectId, manager: CurrentManager, session: SessionDep, settings: SettingsDep
) -> InboxTestResult:
    return await service.check_inbox(session, settings, manager, inbox_id)


@router.post(
    "/{inbox_id}/poll",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Read the mailbox now rather than at the next interval",
)
async def poll_inbox(inbox_id: ObjectId, manager: CurrentManager, session: SessionDep) -> Accepted:
    await service.request_poll(session, manager, inbox_id)
    return Accepted(detail="The inbox will be read within seconds.")
