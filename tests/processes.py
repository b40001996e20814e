"""Starting the application as a real process, the way an operator does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STARTUP_DEADLINE = 90.0
_INHERITED_SECRETS = ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEY", "APP_ENV")


def cli_env(**overrides: str) -> dict[str, str]:
    """The test runner's environment without anything that configures the app."""
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED_SECRETS}
    env.update(overrides)
    return env


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
    process: subprocess.Popen[str]

    def wait_until_ready(self) -> httpx.Response:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read() if self.process.stdout else ""
                raise AssertionError(f"server exited early:\n{output}")
            try:
                response = httpx.get(f"{self.base_url}/ready", timeout=2)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("server did not become ready in time")


@contextmanager
def serve(port: int, env: dict[str, str]) -> Iterator[Server]:
    """`python -m app serve` on a port; killed at the end if still running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield Server(f"http://127.0.0.1:{port}", process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
