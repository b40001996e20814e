"""JSON lines on stdout by default; GELF over UDP when GELF_HOST is set."""

from __future__ import annotations

import json
import logging
import socket
import zlib
from collections.abc import Iterator

import pytest

from app.core.config import Settings
from app.core.logging import configure_logging, info_line, log_context, request_id_var


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_lines_on_stdout(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings())
    token = request_id_var.set("req-abcdef12")
    try:
        with log_context(inbox_id=7):
            logging.getLogger("app.test").info("polled", extra={"fetched": 3})
    finally:
        request_id_var.reset(token)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "polled"
    assert record["level"] == "INFO"
    assert record["logger"] == "app.test"
    assert record["request_id"] == "req-abcdef12"
    assert record["inbox_id"] == 7
    assert record["fetched"] == 3
    assert "time" in record


def test_a_hot_line_is_written_as_the_formatter_writes_it(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`info_line` skips the logging module while the JSON lines are the only output;
    what it writes is what a log record through the handler would have written."""
    configure_logging(Settings())
    logger = logging.getLogger("app.test")
    token = request_id_var.set("req-abcdef12")
    try:
        with log_context(inbox_id=7):
            fields = {"board_id": 3, "path": "/api/v1/public/tickets/…", "title": "Drukarka żółta"}
            info_line(logger, "ticket created", fields)
            logger.info("ticket created", extra=fields)
    finally:
        request_id_var.reset(token)
    fast, slow = capsys.readouterr().out.strip().splitlines()[-2:]
    fast_line, slow_line = json.loads(fast), json.loads(slow)
    assert list(fast_line) == list(slow_line)  # the same keys in the same order
    assert {**fast_line, "time": None} == {**slow_line, "time": None}
    assert fast_line["request_id"] == "req-abcdef12" and fast_line["inbox_id"] == 7
    assert "Drukarka żółta" in fast  # as the formatter writes it, non-ASCII unescaped


def test_a_hot_line_leaves_uuids_out_and_keeps_the_level(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings())
    logger = logging.getLogger("app.test")
    info_line(logger, "report 3f0c2a8e-1111-4222-8333-444455556666 seen", {})
    logger.setLevel(logging.WARNING)
    try:
        info_line(logger, "not written", {})
    finally:
        logger.setLevel(logging.NOTSET)
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [line["message"] for line in lines] == ["report … seen"]


def test_a_hot_line_is_a_log_record_for_any_other_output(restore_logging: None) -> None:
    """With another handler beside the JSON lines (a test's capture, say), the line
    is a record every handler sees."""
    configure_logging(Settings())
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logging.getLogger().addHandler(Keep())
    info_line(logging.getLogger("app.test"), "ticket created", {"board_id": 3})
    assert [(r.name, r.getMessage(), getattr(r, "board_id", None)) for r in seen] == [
        ("app.test", "ticket created", 3)
    ]


def test_gelf_over_udp(restore_logging: None) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5)
        port = listener.getsockname()[1]
        configure_logging(Settings(GELF_HOST="127.0.0.1", GELF_PORT=port, GELF_PROTOCOL="udp"))
        token = request_id_var.set("req-gelf0001")
        try:
            logging.getLogger("app.test").warning("push failed", extra={"board_id": 12})
            info_line(logging.getLogger("app.test"), "ticket created", {"board_id": 13})
        finally:
            request_id_var.reset(token)
        datagram, _ = listener.recvfrom(65535)
        hot, _ = listener.recvfrom(65535)
    message = json.loads(zlib.decompress(datagram))
    assert message["version"].startswith("1.")  # graypy speaks GELF 1.x
    assert message["short_message"] == "push failed"
    assert message["level"] == 4  # syslog warning
    assert message["_request_id"] == "req-gelf0001"
    assert message["_board_id"] == 12
    assert message["_logger"] == "app.test"
    hot_line = json.loads(zlib.decompress(hot))  # a hot path's line goes to Graylog too
    assert (hot_line["short_message"], hot_line["_board_id"]) == ("ticket created", 13)


def test_a_graylog_outage_never_blocks_the_caller(
    restore_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import graypy

    outage = threading.Event()
    sent: list[tuple[str, str]] = []

    def emit(self: object, record: logging.LogRecord) -> None:
        caller = threading.current_thread() is threading.main_thread()
        if not caller:
            outage.wait(timeout=30)  # a TCP connect that hangs while Graylog is down
        sent.append((threading.current_thread().name, record.getMessage()))

    monkeypatch.setattr(graypy.GELFTCPHandler, "emit", emit)
    configure_logging(Settings(GELF_HOST="127.0.0.1", GELF_PORT=9, GELF_PROTOCOL="tcp"))
    logger = logging.getLogger("app.test")
    for number in range(50):  # each would wait on the outage if written in this thread
        logger.warning("line %d", number, extra={"board_id": number})
    assert sent == []  # nothing was written (or waited for) by the caller

    outage.set()  # Graylog is back: the queued lines go out, in order, from their thread
    configure_logging(Settings())  # reconfiguring drains and stops the GELF thread
    assert [message for _, message in sent] == [f"line {n}" for n in range(50)]
    assert threading.current_thread().name not in {name for name, _ in sent}
