"""Command line: `python -m app serve|worker|migrate|...` (SPEC section 8)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import EmailStr, SecretStr, TypeAdapter, ValidationError
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

import app.models  # noqa: F401  (the registry: every table known before the first flush)
from app.auth.models import Manager
from app.core.config import ConfigError, Settings, ensure_secrets
from app.core.database import (
    make_engine,
    make_sessionmaker,
    request_transaction,
    resolve_database_url,
)
from app.core.embedded_postgres import stop_embedded_postgres
from app.core.errors import AppError
from app.core.logging import configure_cli_logging, configure_logging

log = logging.getLogger("app.cli")
T = TypeVar("T")


def _migrate(settings: Settings) -> str:
    from app import migrations

    url = resolve_database_url(settings)
    migrations.upgrade(url)
    log.info("database schema is up to date")
    return url


# The commands that run until stopped: their log is their output (JSON on stdout).
LONG_RUNNING = ("serve", "worker")


def _exit_cleanly_on_signals() -> None:
    """Turn SIGTERM/SIGINT into SystemExit once uvicorn has shut down.

    uvicorn re-raises the signal it caught after its graceful shutdown; with the
    default handlers that would kill the process before `finally` blocks run, and
    the embedded PostgreSQL would be left running.
    """

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app

    host = args.host or settings.HOST
    port = args.port or settings.PORT
    url = _migrate(settings)
    _exit_cleanly_on_signals()
    processes = settings.web_concurrency
    log.info("serving", extra={"host": host, "port": port, "processes": processes})
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.FORWARDED_ALLOW_IPS,
        "timeout_graceful_shutdown": 20,
    }
    # The workers run in a process of their own beside the server's (app/workers/
    # process.py); the server's processes run none. The database this process
    # resolved (the embedded one, if it started it) is handed down to every child.
    os.environ["DATABASE_URL"] = url
    worker = None
    if settings.WORKERS_ENABLED:
        from app.workers.process import WorkerProcess

        worker = WorkerProcess(os.environ)
        worker.start()
        os.environ["WORKERS_ENABLED"] = "false"
        settings = settings.model_copy(update={"WORKERS_ENABLED": False})
    try:
        if processes == 1:
            # workers=1 said outright: uvicorn would otherwise read WEB_CONCURRENCY.
            uvicorn.run(create_app(settings, freeze_startup_objects=True), workers=1, **options)
        else:
            # Each process builds its app from the environment, as this one did
            # (development keys are read from DATA_DIR as this process wrote them).
            # uvicorn's supervisor shares the socket, restarts a process that dies
            # and stops them all on SIGTERM.
            from app.core.lifeline import SERVE_PID

            os.environ[SERVE_PID] = str(os.getpid())
            uvicorn.run("app.main:app_from_environment", factory=True, workers=processes, **options)
    finally:
        if worker is not None:
            worker.stop()  # before the embedded database stops
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from app import migrations

    _migrate(settings)
    print(f"database schema is up to date (revision {migrations.head()})")
    return 0


async def _with_session(
    settings: Settings, url: str, operation: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    engine = make_engine(url, settings)
    try:
        async with make_sessionmaker(engine)() as session, request_transaction(session):
            return await operation(session)
    finally:
        await engine.dispose()


def _run_data_command(settings: Settings, operation: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Migrate (so a fresh database works), then run `operation` in one transaction."""
    url = _migrate(settings)
    return asyncio.run(_with_session(settings, url, operation))


def cmd_create_manager(settings: Settings, args: argparse.Namespace) -> int:
    from app.auth import service
    from app.auth.schemas import valid_password

    try:
        args.email = str(TypeAdapter(EmailStr).validate_python(args.email))
    except ValidationError:
        print(f"--email {args.email!r} is not a valid e-mail address", file=sys.stderr)
        return 1
    try:
        valid_password(SecretStr(args.password))
    except ValueError as exc:
        print(f"--password {exc}", file=sys.stderr)
        return 1

    async def create(session: AsyncSession) -> Manager:
        return await service.create_manager(
            session,
            email=args.email,
            password=args.password,
            full_name=args.name,
            language=args.language,
            verified=args.verified,
        )

    try:
        manager = _run_data_command(settings, create)
    except AppError as exc:
        print(exc.detail, file=sys.stderr)
        return 1
    state = "verified" if manager.is_email_verified else "not verified"
    print(f"created manager {manager.id} <{manager.email}> ({state})")
    return 0


def _set_suspended(settings: Settings, email: str, suspended: bool) -> int:
    from app.auth import service

    async def change(session: AsyncSession) -> Manager:
        return await service.set_suspended(session, email=email, suspended=suspended)

    try:
        manager = _run_data_command(settings, change)
    except AppError as exc:
        print(exc.detail, file=sys.stderr)
        return 1
    print(f"{'suspended' if suspended else 'unsuspended'} manager {manager.id} <{manager.email}>")
    return 0


def cmd_suspend(settings: Settings, args: argparse.Namespace) -> int:
    return _set_suspended(settings, args.email, True)


def cmd_unsuspend(settings: Settings, args: argparse.Namespace) -> int:
    return _set_suspended(settings, args.email, False)


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from app.demo import Demo, seed_demo

    async def seed(session: AsyncSession) -> Demo:
        return await seed_demo(session, settings, email=args.email, password=args.password)

    demo = _run_data_command(settings, seed)
    print("demo data created" if demo.created else "demo data was already there")
    print(f"sign in as {demo.manager.email} with the password given (default: demo-password)")
    if "PUBLIC_BASE_URL" not in settings.model_fields_set:
        print(f"(PUBLIC_BASE_URL is unset: the links below use {settings.PUBLIC_BASE_URL})")
    for board in demo.boards:
        print(f"public form of {board.name}: {settings.PUBLIC_BASE_URL}/b/{board.public_id}")
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """The background workers alone, until SIGTERM/SIGINT."""
    from app.core.lifeline import serve_pid, when_parent_gone
    from app.workers.process import yield_to_the_server
    from app.workers.runner import WorkerRunner

    url = _migrate(settings)
    parent = serve_pid()
    if parent:
        yield_to_the_server()  # beside the server's processes, which answer first

    def orphaned(runner: WorkerRunner) -> None:
        log.error("the server that started this worker is gone; stopping")
        runner.request_stop()

    async def run() -> None:
        # Its statements, the ingest's among them, are each made for an index.
        engine = make_engine(url, settings, index_plans=True)
        runner = WorkerRunner(settings, make_sessionmaker(engine))
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, runner.request_stop)
        runner.start()
        if parent:  # started by `serve`: stop when it is gone (killed outright)

            def gone() -> None:
                with contextlib.suppress(RuntimeError):  # the loop closed: stopped already
                    loop.call_soon_threadsafe(orphaned, runner)

            when_parent_gone(parent, gone)
        try:
            await runner.wait()
        finally:
            await runner.stop()
            await engine.dispose()

    with asyncio.Runner(loop_factory=_fast_loop()) as runner:
        runner.run(run())
    return 0


def _fast_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop, as uvicorn runs the server's processes on it (it comes
    with uvicorn[standard]); the standard one where it is missing."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - installed with uvicorn[standard]
        return None
    return uvloop.new_event_loop


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Simple Issue Tracker")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log what is done to stderr (one-off commands log only warnings and errors)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, parents=[common])

    serve = add("serve", "migrate, then serve the API, the SPA and the workers")
    serve.add_argument("--host", help="address to listen on (default: HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default: PORT)")
    serve.set_defaults(handler=cmd_serve)

    migrate = add("migrate", "bring the database schema up to date")
    migrate.set_defaults(handler=cmd_migrate)

    worker = add("worker", "run the background workers alone")
    worker.set_defaults(handler=cmd_worker)

    create = add("create-manager", "create a manager account")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--name", required=True, help="the manager's full name")
    create.add_argument("--language", choices=["en", "pl"], default="en")
    create.add_argument(
        "--verified", action="store_true", help="mark the email as verified (no mail is sent)"
    )
    create.set_defaults(handler=cmd_create_manager)

    demo = add("seed-demo", "a demo manager with boards and tickets")
    demo.add_argument("--email", default="demo@example.com")
    demo.add_argument("--password", default="demo-password")
    demo.set_defaults(handler=cmd_seed_demo)

    for name, handler, text in (
        ("suspend", cmd_suspend, "block a manager's sign-in and end every session"),
        ("unsuspend", cmd_unsuspend, "let a suspended manager sign in again"),
    ):
        command = add(name, text)
        command.add_argument("email")
        command.set_defaults(handler=handler)
    return parser


def one_line(exc: BaseException) -> str:
    """What went wrong, in a sentence an operator can act on. A database error gives
    the server's message, never the SQL statement or its parameters (they hold
    password hashes and personal data)."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, OSError) and not isinstance(exc, TimeoutError):
        return f"cannot reach the database or a server ({exc.strerror or exc})"
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        # First, so that warnings about settings are logged.
        if args.command in LONG_RUNNING:
            configure_logging(settings)
        else:
            configure_cli_logging(settings, verbose=args.verbose)
        ensure_secrets(settings)
    except (ConfigError, ValueError) as exc:  # pydantic's ValidationError names the variable
        for line in str(exc).splitlines() if isinstance(exc, ConfigError) else [str(exc)]:
            print(f"configuration error: {line}", file=sys.stderr)
        return 2
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        return handler(settings, args)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"configuration error: {line}", file=sys.stderr)
        return 2
    except Exception as exc:  # one clear line: never a traceback, never a statement's values
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        stop_embedded_postgres()


if __name__ == "__main__":
    sys.exit(main())
