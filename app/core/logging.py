"""Structured logging: JSON lines on stdout, or GELF (graypy) when GELF_HOST is set.

GELF lines are sent from a thread of their own through a bounded queue, so a slow or
unreachable Graylog never blocks the event loop (lines past the queue's size are
dropped, never waited for).

Every line written while a request is handled carries its `request_id`; workers set
their own context fields the same way (`log_context`).
"""

from __future__ import annotations

import atexit
import contextvars
import copy
import json
import logging
import logging.handlers
import queue
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import graypy
from pythonjsonlogger.json import JsonFormatter

from app.core.config import Settings
from app.core.redaction import redact_uuids

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


class RedactionFilter(logging.Filter):
    """Report UUIDs out of the message and the traceback of every line: log calls name
    rows by id, but an exception's text may quote a UUID (a failed query's parameters,
    a platform's answer), and `log.exception` prints it as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_uuids(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact_uuids(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_uuids(record.stack_info)
        return True


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields to every log line written inside the block (e.g. inbox_id in a worker)."""
    token = _context_var.set({**_context_var.get(), **fields})
    try:
        yield
    finally:
        _context_var.reset(token)


# Lines waiting for a slow or unreachable Graylog; past this many, new ones are dropped
# (and counted) rather than held in memory or waited for.
GELF_QUEUE_SIZE = 10_000


class _NonBlockingQueueHandler(logging.handlers.QueueHandler):
    """Hands records to the GELF thread; never waits, whatever the network does."""

    def __init__(self, records: queue.Queue[logging.LogRecord]) -> None:
        super().__init__(records)
        self.dropped = 0

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The message is formatted here (its arguments may not survive the thread hop);
        # the extra fields stay on the record for GELF. A traceback is text already:
        # RedactionFilter, on this handler, formatted it.
        record = copy.copy(record)
        record.msg, record.args = record.getMessage(), None
        return record


_listener: logging.handlers.QueueListener | None = None


def _stop_listener() -> None:
    """Send what is queued and stop the GELF thread (at exit, or when reconfigured)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        for handler in _listener.handlers:
            handler.close()
        _listener = None


atexit.register(_stop_listener)


_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def _json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt=_TIME_FORMAT,
        json_ensure_ascii=False,
    )


class _JsonLines(logging.StreamHandler):  # type: ignore[type-arg]
    """The JSON lines on stdout that `configure_logging` sets up for the server and
    the worker; `info_line` writes its lines to the same stream."""


_root = logging.getLogger()
# Written as the JSON formatter writes (json.dumps, non-ASCII kept as it is).
_encode = json.JSONEncoder(ensure_ascii=False).encode
_json_lines: _JsonLines | None = None
_second = (0, "")  # the last whole second and its text


def _time_text(now: float) -> str:
    global _second
    whole = int(now)
    if whole != _second[0]:
        _second = (whole, time.strftime(_TIME_FORMAT, time.localtime(whole)))
    return _second[1]


def info_line(logger: logging.Logger, message: str, fields: dict[str, Any]) -> None:
    """`logger.info(message, extra=fields)` for the lines every request writes (the
    access line, a report's). Through the logging module a line cost 42 µs of a
    status read's 230, more than the read (docs/performance.md). So while the JSON
    lines on stdout are the only output, the line is written to their stream
    directly: the same keys in the same order as their formatter writes, with what
    their filters add (the request id, the log context, UUIDs out of the message).
    Any other setup (GELF, a test capturing the log, a logger with handlers of its
    own) gets a log record, as every other line does."""
    handler = _json_lines
    handlers = _root.handlers
    if (
        handler is None
        or len(handlers) != 1
        or handlers[0] is not handler
        or logger.handlers
        or not logger.propagate
    ):
        logger.info(message, extra=fields)
        return
    if not logger.isEnabledFor(logging.INFO):
        return
    line: dict[str, Any] = {
        "time": _time_text(time.time()),
        "level": "INFO",
        "logger": logger.name,
        "message": redact_uuids(message),
        **fields,
    }
    request_id = request_id_var.get()
    if request_id is not None:
        line.setdefault("request_id", request_id)
    for key, value in _context_var.get().items():
        line.setdefault(key, value)
    text = _encode(line) + "\n"
    handler.acquire()
    try:
        handler.stream.write(text)
        handler.flush()
    except Exception:  # as a handler's emit: reported on stderr, never raised
        handler.handleError(logging.makeLogRecord({"name": logger.name, "msg": message}))
    finally:
        handler.release()


class _PlainFormatter(logging.Formatter):
    """One readable line for a person at a terminal: `WARNING app.x: message (k=v)`."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        extra = {
            k: v
            for k, v in vars(record).items()
            if k not in self._STANDARD and k not in ("message", "asctime")
        }
        if extra:
            line += " (" + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")"
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


def configure_cli_logging(settings: Settings, *, verbose: bool) -> None:
    """A one-off command speaks to a person: its results on stdout, its log on stderr
    as plain lines, only warnings and errors unless `--verbose` or LOG_LEVEL=DEBUG."""
    # Never GELF: a person at the terminal reads this, not Graylog.
    local = settings.model_copy(update={"GELF_HOST": None})
    configure_logging(local, stream=sys.stderr, formatter=_PlainFormatter())
    configured = logging.getLevelName(settings.LOG_LEVEL.upper())
    if configured != logging.DEBUG:
        quiet = logging.INFO if verbose else logging.WARNING
        root = logging.getLogger()
        root.setLevel(max(quiet, configured) if isinstance(configured, int) else quiet)


def configure_logging(
    settings: Settings,
    *,
    stream: Any = None,
    formatter: logging.Formatter | None = None,
) -> None:
    """Replace the root handlers; uvicorn's loggers propagate to them. The server and
    the worker log JSON lines to stdout (or GELF); `configure_cli_logging` for the
    one-off commands."""
    global _json_lines
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    _stop_listener()
    _json_lines = None
    handler: logging.Handler
    if settings.GELF_HOST:
        gelf_class = (
            graypy.GELFTCPHandler if settings.GELF_PROTOCOL == "tcp" else graypy.GELFUDPHandler
        )
        gelf = gelf_class(
            settings.GELF_HOST,
            settings.GELF_PORT,
            debugging_fields=True,  # file, line, function, process
            extra_fields=True,
            facility="simple-issue-tracker",
        )
        # A Graylog outage (a TCP connect waits up to a second per line) must never hold
        # the event loop: the network write happens in a thread of its own.
        records: queue.Queue[logging.LogRecord] = queue.Queue(GELF_QUEUE_SIZE)
        handler = _NonBlockingQueueHandler(records)
        global _listener
        _listener = logging.handlers.QueueListener(records, gelf)
        _listener.start()
    else:
        lines = _JsonLines(stream or sys.stdout)
        lines.setFormatter(formatter or _json_formatter())
        if formatter is None:
            _json_lines = lines
        handler = lines
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactionFilter())
    root.addHandler(handler)
    root.setLevel(settings.LOG_LEVEL.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Our middleware writes one access line per request, with its request id.
    logging.getLogger("uvicorn.access").disabled = True
    # Their lines name each request; the OAuth2 token calls go through httpx2 (authlib).
    for name in ("httpx", "httpx2", "httpcore2"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # multi-line command dumps
    # SQL parameters hold token hashes and password hashes: never log them, even at DEBUG.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("aiosmtplib").setLevel(logging.WARNING)  # DEBUG dumps whole messages
