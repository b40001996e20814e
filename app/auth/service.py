"""Manager accounts: sign-up, verification, sessions, password reset, suspension."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import tokens
from app.auth.models import Manager
from app.auth.schemas import ManagerUpdate, TokenPair
from app.core.clock import clock
from app.core.config import RateLimit, Settings
from app.core.database import violated_constraint
from app.core.direct import OnSession
from app.core.errors import (
    AccountSuspended,
    EmailAlreadyRegistered,
    EmailNotVerified,
    InvalidCredentials,
    InvalidToken,
    NotAuthenticated,
    NotFound,
    TooManyRequests,
)
from app.core.security import (
    ACCESS_TOKEN_TTL,
    create_access_token,
    hash_password,
    verify_password,
)
from app.outbox import outgoing
from app.ratelimit.service import (
    address_key,
    hit_or_refuse,
    record_hit,
    retry_after,
    undo_hit,
)

log = logging.getLogger(__name__)

# Link mails one account may trigger, so the endpoints cannot flood a mailbox.
LINK_MAIL_RATE = RateLimit(limit=3, period_seconds=3600)


async def find_by_email(session: AsyncSession, email: str) -> Manager | None:
    """Emails are compared case-insensitively everywhere (uq_managers_email_lower)."""
    return await session.scalar(
        select(Manager).where(func.lower(Manager.email) == email.strip().lower())
    )


async def create_manager(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    full_name: str,
    language: str = "en",
    timezone: str = "UTC",
    verified: bool = False,
) -> Manager:
    # Hashed before the first query, so Argon2 never runs while this request holds a
    # pooled connection or a row lock.
    password_hash = await hash_password(password)
    if await find_by_email(session, email) is not None:
        raise EmailAlreadyRegistered()
    manager = Manager(
        email=email.strip(),
        password_hash=password_hash,
        full_name=full_name,
        language=language,
        timezone=timezone,
        is_email_verified=verified,
    )
    try:
        async with session.begin_nested():
            session.add(manager)
            await session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won
        if violated_constraint(exc) == "uq_managers_email_lower":
            raise EmailAlreadyRegistered() from None
        raise
    return manager


async def register(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    full_name: str,
    language: str,
    timezone: str,
    client_ip: str,
) -> Manager:
    """Create an unverified account and send the verification mail.

    Sign-ups are limited per client address and per e-mail address
    (REGISTER_RATE_LIMIT): each sends a mail, so the form is no relay for mail to
    addresses of an attacker's choosing.
    """
    rate = settings.register_rate
    for key in (f"register:ip:{address_key(client_ip)}", f"register:email:{email.strip().lower()}"):
        wait = await hit_or_refuse(OnSession(session), key=key, rate=rate)
        if wait is not None:
            log.warning("sign-up throttled", extra={"client_ip": client_ip})
            raise TooManyRequests(
                f"Too many sign-ups. Try again in {wait} seconds.", retry_after=wait
            )
    await session.commit()  # the attempt stays counted; the connection goes back to the pool
    manager = await create_manager(
        session,
        email=email,
        password=password,
        full_name=full_name,
        language=language,
        timezone=timezone,
    )
    await _send_verification(session, settings, manager)
    log.info("manager registered", extra={"manager_id": manager.id})
    return manager


async def _send_link_mail(
    session: AsyncSession,
    settings: Settings,
    manager: Manager,
    *,
    token_type: str,
    ttl: timedelta,
    kind: str,
    path: str,
) -> None:
    """Issue a one-time token and queue the mail whose link carries it."""
    token = await tokens.issue(session, manager_id=manager.id, token_type=token_type, ttl=ttl)
    await outgoing.enqueue(
        session,
        settings,
        kind=kind,
        to=manager.email,
        language=manager.language,
        values={
            "full_name": manager.full_name,
            "link": f"{settings.PUBLIC_BASE_URL}{path}?token={token}",
            "hours": int(ttl.total_seconds() // 3600),
            "minutes": int(ttl.total_seconds() // 60),
        },
        sensitive=True,
        manager_id=manager.id,
    )


async def _send_verification(session: AsyncSession, settings: Settings, manager: Manager) -> None:
    await _send_link_mail(
        session,
        settings,
        manager,
        token_type="email_verification",
        ttl=tokens.EMAIL_VERIFICATION_TTL,
        kind="verify_email",
        path="/verify-email",
    )


async def resend_verification(session: AsyncSession, settings: Settings, *, email: str) -> None:
    """Send a new verification link to an unverified account; silent otherwise."""
    manager = await find_by_email(session, email)
    if manager is None or manager.is_email_verified or manager.is_suspended:
        return
    if await hit_or_refuse(
        OnSession(session), key=f"verify-mail:{manager.id}", rate=LINK_MAIL_RATE
    ):
        log.info("verification mail held back by its rate limit", extra={"manager_id": manager.id})
        return
    await _send_verification(session, settings, manager)


async def verify_email(session: AsyncSession, *, token: str) -> Manager:
    row = await tokens.find(session, token=token, token_type="email_verification")
    if row is None or not tokens.is_usable(row):
        raise InvalidToken()
    row.used_at = clock.now()
    manager = await session.get_one(Manager, row.manager_id)
    manager.is_email_verified = True
    log.info("email verified", extra={"manager_id": manager.id})
    return manager


async def _start_session(session: AsyncSession, settings: Settings, manager: Manager) -> TokenPair:
    return await _issue_pair(session, settings, manager, family_id=uuid.uuid4())


async def _issue_pair(
    session: AsyncSession, settings: Settings, manager: Manager, *, family_id: uuid.UUID
) -> TokenPair:
    refresh_token = await tokens.issue(
        session,
        manager_id=manager.id,
        token_type="refresh",
        ttl=tokens.REFRESH_TOKEN_TTL,
        family_id=family_id,
    )
    access_token = create_access_token(
        manager_id=manager.id,
        family_id=family_id,
        secret_key=settings.secret_key(),
        now=clock.now(),
    )
    return TokenPair(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
    )


async def login(
    session: AsyncSession, settings: Settings, *, email: str, password: str, client_ip: str
) -> TokenPair:
    """Check the password under the login throttle and start a new session.

    Failed attempts are counted per account-and-IP and per IP, so hammering an
    account from one place never locks its owner out from another.
    """
    address = address_key(client_ip)
    limits = [
        (f"login:account-ip:{email.strip().lower()}|{address}", settings.login_rate),
        (f"login:ip:{address}", settings.login_rate_per_ip),
    ]
    # Count the attempt before checking the password: the upsert returns the window's
    # count atomically, so parallel guesses each see their own number instead of all
    # reading "no failures yet".
    for key, rate in limits:
        if await record_hit(OnSession(session), key=key, rate=rate) > rate.limit:
            wait = retry_after(rate)
            log.warning("login throttled", extra={"client_ip": client_ip})
            raise TooManyRequests(  # rolled back: the refused attempt itself is not counted
                f"Too many failed sign-in attempts. Try again in {wait} seconds.",
                retry_after=wait,
            )
    manager = await find_by_email(session, email)
    stored_hash = manager.password_hash if manager else None
    # Commit the counted attempt and hand the connection back to the pool: Argon2 takes
    # tens of milliseconds, and parallel guesses must not hold every connection.
    await session.commit()
    matches, new_hash = await verify_password(password, stored_hash)
    if manager is None or not matches:
        log.info("login failed", extra={"client_ip": client_ip})
        raise InvalidCredentials(keep_changes=True)  # the failure stays counted
    for key, rate in limits:  # only failures count
        await undo_hit(session, key=key, rate=rate)
    if new_hash:
        manager.password_hash = new_hash
    if manager.is_suspended:
        raise AccountSuspended()
    if not manager.is_email_verified:
        raise EmailNotVerified()
    manager.last_login_at = clock.now()
    log.info("login", extra={"manager_id": manager.id})
    return await _start_session(session, settings, manager)


async def refresh(
    session: AsyncSession, settings: Settings, *, refresh_token: str | None
) -> TokenPair:
    """Rotate: the presented token is used up and a new one of its family issued.

    A token presented again after its rotation means it leaked: the whole family
    is revoked, ending every session that descends from it. No token at all (no
    body and no cookie) is simply not authenticated.
    """
    if not refresh_token:
        raise NotAuthenticated("No refresh token was presented.")
    row = await tokens.find(session, token=refresh_token, token_type="refresh")
    if row is None or row.family_id is None:
        raise NotAuthenticated("The refresh token is not valid.")
    if row.used_at is not None:
        await tokens.revoke_family(session, row.family_id)
        log.warning(
            "refresh token reused; its family is revoked", extra={"manager_id": row.manager_id}
        )
        raise NotAuthenticated("The refresh token was already used.", keep_changes=True)
    if not tokens.is_usable(row):
        raise NotAuthenticated("The refresh token has expired or was revoked.")
    manager = await session.get_one(Manager, row.manager_id)
    if manager.is_suspended:
        raise AccountSuspended()
    row.used_at = clock.now()
    return await _issue_pair(session, settings, manager, family_id=row.family_id)


async def logout(session: AsyncSession, *, refresh_tokens: Iterable[str | None]) -> None:
    """End the sessions the presented tokens belong to; missing or unknown ones are ignored.

    The web app may present two (the body's and its cookie's): both end, since the
    cookie is cleared either way and its session would otherwise live on unseen.
    """
    for refresh_token in dict.fromkeys(t for t in refresh_tokens if t):
        row = await tokens.find(session, token=refresh_token, token_type="refresh")
        if row is not None and row.family_id is not None:
            await tokens.revoke_family(session, row.family_id)


async def request_password_reset(session: AsyncSession, settings: Settings, *, email: str) -> None:
    """Mail a reset link when the account exists; the caller learns nothing either way."""
    manager = await find_by_email(session, email)
    if manager is None or manager.is_suspended:
        return
    if await hit_or_refuse(OnSession(session), key=f"reset-mail:{manager.id}", rate=LINK_MAIL_RATE):
        log.info("reset mail held back by its rate limit", extra={"manager_id": manager.id})
        return
    await _send_link_mail(
        session,
        settings,
        manager,
        token_type="password_reset",
        ttl=tokens.PASSWORD_RESET_TTL,
        kind="password_reset",
        path="/reset-password",
    )
    log.info("password reset requested", extra={"manager_id": manager.id})


async def confirm_password_reset(session: AsyncSession, *, token: str, new_password: str) -> None:
    """Set the new password and end every session of the account."""
    row = await tokens.find(session, token=token, token_type="password_reset")
    if row is None or not tokens.is_usable(row):
        raise InvalidToken()
    # Hash with no connection or row lock held, then take the token again: a reset
    # that ran meanwhile has used it.
    await session.rollback()
    password_hash = await hash_password(new_password)
    row = await tokens.find(session, token=token, token_type="password_reset")
    if row is None or not tokens.is_usable(row):
        raise InvalidToken()
    manager = await session.get_one(Manager, row.manager_id)
    row.used_at = clock.now()
    manager.password_hash = password_hash
    manager.is_email_verified = True  # the link proved the address
    await tokens.revoke_all(session, manager_id=manager.id, token_type="password_reset")
    await tokens.revoke_all(session, manager_id=manager.id, token_type="refresh")
    log.info("password reset", extra={"manager_id": manager.id})


async def update_profile(
    session: AsyncSession, manager: Manager, changes: ManagerUpdate
) -> Manager:
    for field, value in changes.model_dump(exclude_unset=True).items():
        setattr(manager, field, value)
    await session.flush()
    return manager


async def set_suspended(session: AsyncSession, *, email: str, suspended: bool) -> Manager:
    """Suspend (ending every session at once) or unsuspend an account."""
    manager = await find_by_email(session, email)
    if manager is None:
        raise NotFound(f"No manager has the email address {email}.")
    manager.is_suspended = suspended
    manager.suspended_at = clock.now() if suspended else None
    if suspended:
        await tokens.revoke_all(session, manager_id=manager.id, token_type="refresh")
    log.info(
        "manager suspended" if suspended else "manager unsuspended",
        extra={"manager_id": manager.id},
    )
    return manager
