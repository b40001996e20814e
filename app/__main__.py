"""Command line: `python -m app serve|worker|migrate|...` (SPEC section 8)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence

from app.config import ConfigError, Settings, ensure_secrets
from app.core.logging import configure_logging
from app.db import resolve_database_url, stop_embedded_postgres

log = logging.getLogger("app.cli")


def _migrate(settings: Settings) -> str:
    from app import migrations

    url = resolve_database_url(settings)
    migrations.upgrade(url)
    log.info("database schema is up to date")
    return url


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
    _migrate(settings)
    _exit_cleanly_on_signals()
    log.info("serving", extra={"host": host, "port": port})
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        timeout_graceful_shutdown=20,
    )
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    _migrate(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Simple Issue Tracker")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="migrate, then serve the API, the SPA and the workers")
    serve.add_argument("--host", help="address to listen on (default: HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default: PORT)")
    serve.set_defaults(handler=cmd_serve)

    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(handler=cmd_migrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        configure_logging(settings)  # first, so that warnings about settings are logged
        ensure_secrets(settings)
    except (ConfigError, ValueError) as exc:  # pydantic's ValidationError names the variable
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        return handler(settings, args)
    except ConfigError as exc:
        log.error("configuration error", extra={"error": str(exc)})
        return 2
    finally:
        stop_embedded_postgres()


if __name__ == "__main__":
    sys.exit(main())
