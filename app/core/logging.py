"""Structured logging: JSON lines on stdout, or GELF (graypy) when GELF_HOST is set.

Every line written while a request is handled carries its `request_id`; workers set
their own context fields the same way (`log_context`).
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import graypy
from pythonjsonlogger.json import JsonFormatter

from app.core.config import Settings

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
_context_var: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar(
    "log_context",
    default={},  # noqa: B039 - never mutated, only replaced
)


class ContextFilter(logging.Filter):
    """Copies the request id and other context fields onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        for key, value in _context_var.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields to every log line written inside the block (e.g. inbox_id in a worker)."""
    token = _context_var.set({**_context_var.get(), **fields})
    try:
        yield
    finally:
        _context_var.reset(token)


def _json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        json_ensure_ascii=False,
    )


def configure_logging(settings: Settings) -> None:
    """Replace the root handlers; uvicorn's loggers propagate to them."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    handler: logging.Handler
    if settings.GELF_HOST:
        gelf_class = (
            graypy.GELFTCPHandler if settings.GELF_PROTOCOL == "tcp" else graypy.GELFUDPHandler
        )
        handler = gelf_class(
            settings.GELF_HOST,
            settings.GELF_PORT,
            debugging_fields=True,  # file, line, function, process
            extra_fields=True,
            facility="simple-issue-tracker",
        )
    else:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(_json_formatter())
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(settings.LOG_LEVEL.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Our middleware writes one access line per request, with its request id.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # multi-line command dumps
    # SQL parameters hold token hashes and password hashes: never log them, even at DEBUG.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("aiosmtplib").setLevel(logging.WARNING)  # DEBUG dumps whole messages
