"""A small HTTP server on loopback for fakes of remote APIs, with failures on demand."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Answer:
    status: int
    body: Any = None  # dict/list → JSON, str → plain text
    headers: dict[str, str] = field(default_factory=dict)


# A failure mode: "401", "404", "500", "429", "timeout", "drop_after_create".
Handler = Callable[[Request], Answer]


class FakeServer:
    """Routes requests to `handle`; `fail_next(*modes)` makes the next requests fail."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.failures: list[str] = []
        self.delay_seconds = 3.0  # for "timeout": longer than the client waits
        self._lock = threading.Lock()
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    {k: v[0] for k, v in parse_qs(parts.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with fake._lock:
                    fake.requests.append(request)
                    mode = fake.failures.pop(0) if fake.failures else None
                answer = fake.answer(request, mode)
                if answer is None:  # drop the connection without a word
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if mode == "timeout":
                    time.sleep(fake.delay_seconds)
                payload = b""
                content_type = "text/plain; charset=utf-8"
                if isinstance(answer.body, (dict, list)):
                    payload = json.dumps(answer.body).encode()
                    content_type = "application/json"
                elif answer.body is not None:
                    payload = str(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail_next(self, *modes: str) -> None:
        with self._lock:
            self.failures.extend(modes)

    def answer(self, request: Request, mode: str | None) -> Answer | None:
        creating = self.is_create(request)
        if mode in ("401", "404", "500", "429"):
            return self.failure(int(mode), request)
        if mode in ("drop_after_create", "timeout") and creating:
            answer = self.handle(request)
            return None if mode == "drop_after_create" else answer
        return self.handle(request)

    # Subclasses answer like the real API.
    def is_create(self, request: Request) -> bool:
        raise NotImplementedError

    def failure(self, status: int, request: Request) -> Answer:
        raise NotImplementedError

    def handle(self, request: Request) -> Answer:
        raise NotImplementedError
