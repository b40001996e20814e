"""Starting the application as a real process, the way an operator does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STARTUP_DEADLINE = 90.0
_INHERITED_SECRETS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "ENCRYPTION_KEY",
    "APP_ENV",
    "PUBLIC_BASE_URL",
    "SMTP_HOST",
)


def wait_until(check: Callable[[], Any], deadline: float = 30.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (and return that), or fail."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {deadline} s")


def cli_env(**overrides: str) -> dict[str, str]:
    """The test runner's environment without anything that configures the app."""
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED_SECRETS}
    env.update(overrides)
    return env


def served_env(
    *,
    database_url: str,
    data_dir: str,
    secret_key: str,
    encryption_key: str,
    smtp: tuple[str, int],
    **overrides: str,
) -> dict[str, str]:
    """`cli_env` for a server on `database_url` that sends its mail to a local SMTP
    server (no TLS) and writes links to tracker.example.com."""
    return cli_env(
        DATABASE_URL=database_url,
        DATA_DIR=data_dir,
        SECRET_KEY=secret_key,
        ENCRYPTION_KEY=encryption_key,
        SMTP_HOST=smtp[0],
        SMTP_PORT=str(smtp[1]),
        SMTP_SECURITY="none",
        SMTP_FROM="Tracker <tracker@example.com>",
        PUBLIC_BASE_URL="http://tracker.example.com",
        **overrides,
    )


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """Everything the process has written so far (it goes to a file, never a pipe
        that could fill up and stall the server)."""
        return self.log.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60) -> str:
        """Send `signum`, wait for the exit, return the whole output."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout)
        return self.output()

    def wait_until_ready(self) -> httpx.Response:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.output()}")
            try:
                response = httpx.get(f"{self.base_url}/ready", timeout=2)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("server did not become ready in time")


@contextmanager
def serve(
    port: int,
    env: dict[str, str],
    *,
    python: str = sys.executable,
    cwd: Path = PROJECT_ROOT,
) -> Iterator[Server]:
    """`python -m app serve` on a port; killed at the end if still running. `python`
    and `cwd`: another installation of the app (tests/test_image.py)."""
    with tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False) as log:
        path = Path(log.name)
        process = subprocess.Popen(
            [python, "-m", "app", "serve", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Server(f"http://127.0.0.1:{port}", process, path)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        path.unlink(missing_ok=True)
