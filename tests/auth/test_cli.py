"""Operator commands: create-manager, suspend, unsuspend, worker, seed-demo."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.database import DatabaseServer
from tests.processes import PROJECT_ROOT, cli_env, run_cli
from tests.smtp import SmtpServer
from tests.workers.helpers import query


@pytest.fixture
def env(db_server: DatabaseServer, tmp_path: Path) -> Iterator[dict[str, str]]:
    with db_server.fresh("cli") as url:
        yield cli_env(DATABASE_URL=url, DATA_DIR=str(tmp_path))


def test_create_manager_then_suspend_and_unsuspend(env: dict[str, str]) -> None:
    created = run_cli(
        "create-manager",
        "--email",
        "Ops@Example.com",
        "--password",
        "long enough secret",
        "--name",
        "Ops Person",
        "--verified",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    assert "<Ops@example.com>" in created.stdout or "<Ops@Example.com>" in created.stdout
    assert "(verified)" in created.stdout
    assert "long enough secret" not in created.stdout + created.stderr

    duplicate = run_cli(
        "create-manager",
        "--email",
        "ops@example.com",
        "--password",
        "long enough secret",
        "--name",
        "Again",
        env=env,
    )
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr

    assert run_cli("suspend", "OPS@example.com", env=env).returncode == 0
    assert run_cli("unsuspend", "ops@example.com", env=env).returncode == 0
    missing = run_cli("suspend", "nobody@example.com", env=env)
    assert missing.returncode == 1 and "nobody@example.com" in missing.stderr


def test_create_manager_refuses_a_short_password(env: dict[str, str]) -> None:
    result = run_cli(
        "create-manager", "--email", "a@example.com", "--password", "short", "--name", "A", env=env
    )
    assert result.returncode == 1 and "--password" in result.stderr


def test_the_worker_command_sends_mail_and_stops_on_sigterm(
    env: dict[str, str],
    smtp_server: SmtpServer,
) -> None:
    env = env | {
        "SMTP_HOST": smtp_server.host,
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_SECURITY": "none",
    }
    # Queue a password-reset mail for a CLI-made account, as the API would.
    assert (
        run_cli(
            "create-manager",
            "--email",
            "w@example.com",
            "--password",
            "long enough secret",
            "--name",
            "W",
            "--verified",
            env=env,
        ).returncode
        == 0
    )
    script = (
        "import asyncio\n"
        "from app.core.config import Settings, ensure_secrets\n"
        "import app.models  # noqa: F401\n"
        "from app.core.database import make_engine, make_sessionmaker, request_transaction\n"
        "from app.auth import service\n"
        "async def main():\n"
        "    s = ensure_secrets(Settings())\n"
        "    e = make_engine(s.DATABASE_URL, s)\n"
        "    async with make_sessionmaker(e)() as db, request_transaction(db):\n"
        "        await service.request_password_reset(db, s, email='w@example.com')\n"
        "    await e.dispose()\n"
        "asyncio.run(main())\n"
    )
    queued = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert queued.returncode == 0, queued.stderr

    worker = subprocess.Popen(
        [sys.executable, "-m", "app", "worker"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        [mail] = smtp_server.mailbox.wait_for("w@example.com", deadline=60)
        assert mail["Subject"] == "Reset your password"
        worker.send_signal(signal.SIGTERM)
        started = time.monotonic()
        output, _ = worker.communicate(timeout=30)
        assert worker.returncode == 0, output
        assert time.monotonic() - started < 30
        assert "workers stopped" in output
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_seed_demo_makes_a_place_to_look_around_once(env: dict[str, str]) -> None:
    first = run_cli("seed-demo", env=env)
    assert first.returncode == 0, first.stderr
    assert "demo data created" in first.stdout and "/b/" in first.stdout
    again = run_cli("seed-demo", env=env)
    assert again.returncode == 0 and "already there" in again.stdout
    url = env["DATABASE_URL"]
    assert query(url, "SELECT count(*) FROM managers")[0][0] == 1
    assert query(url, "SELECT count(*) FROM boards")[0][0] == 2
    states = dict(query(url, "SELECT state, count(*) FROM tickets GROUP BY state"))
    assert states == {"new": 2, "in_progress": 1, "closed": 1, "rejected": 1}
    assert query(url, "SELECT count(*) FROM outgoing_emails")[0][0] == 0  # nobody is mailed
    assert query(url, "SELECT count(*) FROM ticket_status_changes")[0][0] == 5 + 3


@pytest.mark.parametrize(
    ("email", "name", "says"),
    [
        ("not an address", "Ops", "--email 'not an address' is not a valid e-mail address"),
        ("ops@example.com", "x" * 500, "error: "),  # the database's CHECK refuses the name
    ],
    ids=["invalid address", "refused by the database"],
)
def test_create_manager_errors_are_one_line_without_secrets(
    env: dict[str, str], email: str, name: str, says: str
) -> None:
    result = run_cli(
        "create-manager",
        "--email",
        email,
        "--password",
        "long enough secret",
        "--name",
        name,
        env=env,
    )
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "$argon2" not in output
    assert "long enough secret" not in output and "INSERT" not in output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(says) and len(last) < 320, result.stderr


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from app.migrations import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head
    return head


def test_a_one_off_command_prints_its_result_and_logs_only_when_asked(
    env: dict[str, str],
) -> None:
    first = run_cli("migrate", env=env)  # also generates the development keys: warned
    assert first.returncode == 0, first.stderr
    assert "WARNING" in first.stderr and "development key" in first.stderr
    assert first.stdout.splitlines() == [
        f"database schema is up to date (revision {_head_revision()})"
    ]

    quiet = run_cli("migrate", env=env)
    assert quiet.returncode == 0
    assert quiet.stdout == first.stdout
    assert quiet.stderr == ""  # nothing to warn about: a person sees the result alone

    verbose = run_cli("migrate", "--verbose", env=env)
    assert verbose.stdout == first.stdout
    assert "INFO app.cli: database schema is up to date" in verbose.stderr
    assert not any(line.startswith("{") for line in verbose.stderr.splitlines())  # no JSON

    debug = run_cli("migrate", env={**env, "LOG_LEVEL": "DEBUG"})
    assert debug.stdout == first.stdout and "DEBUG" in debug.stderr


def test_seed_demo_says_where_its_links_lead(env: dict[str, str]) -> None:
    unset = run_cli("seed-demo", env=env)
    assert "(PUBLIC_BASE_URL is unset: the links below use http://localhost:8000)" in unset.stdout
    assert "public form of" in unset.stdout and "http://localhost:8000/b/" in unset.stdout
    public = run_cli("seed-demo", env={**env, "PUBLIC_BASE_URL": "https://help.example.com"})
    assert "unset" not in public.stdout
    assert "https://help.example.com/b/" in public.stdout


def test_a_one_off_command_logs_to_the_terminal_even_when_gelf_is_set(
    env: dict[str, str],
) -> None:
    """Graylog is for the server's log; a person running a command reads stderr."""
    gelf = {**env, "GELF_HOST": "127.0.0.1", "GELF_PORT": "9"}
    run_cli("migrate", env=gelf)  # the development keys, generated once
    verbose = run_cli("migrate", "--verbose", env=gelf)
    assert verbose.returncode == 0
    assert "INFO app.cli: database schema is up to date" in verbose.stderr
