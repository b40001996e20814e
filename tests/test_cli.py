"""The CLI as an operator runs it: `python -m app serve|migrate`, in real processes."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.workers.process import NICENESS
from tests.conftest import free_port
from tests.database import DatabaseServer
from tests.processes import Server, cli_env, run_cli, serve, wait_until
from tests.test_migrations import TEN_TABLES


def process_gone(pid: int, deadline: float = 30.0) -> bool:
    """True once the process is gone (a zombie awaiting its reaper counts as gone)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    data_dir = tmp_path / "data"
    with serve(free_port(), cli_env(DATA_DIR=str(data_dir), HOST="127.0.0.1")) as server:
        yield server, data_dir


def test_serve_with_no_settings_runs_on_an_embedded_database(
    served: tuple[Server, Path],
) -> None:
    server, data_dir = served
    process = server.process
    assert server.wait_until_ready().json() == {"status": "ready"}
    assert httpx.get(f"{server.base_url}/health").json() == {"status": "ok"}
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    assert pid_file.exists()
    postgres_pid = int(pid_file.read_text().splitlines()[0])

    output = server.stop(signal.SIGTERM)
    assert process.returncode == 0, output
    # The embedded PostgreSQL stopped with it, and the dev keys were generated once.
    assert not pid_file.exists()
    assert process_gone(postgres_pid)
    assert (data_dir / "dev-keys" / "secret_key").exists()
    assert "generated a development key" in output
    assert '"message": "request"' in output  # JSON access lines


def test_web_concurrency_serves_from_several_processes_on_one_embedded_database(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    env = cli_env(DATA_DIR=str(data_dir), HOST="127.0.0.1", WEB_CONCURRENCY="2")
    with serve(free_port(), env) as server:
        server.wait_until_ready()
        wait_until(lambda: len(serving_processes(server)) == 2, what="two server processes")
        with httpx.Client(base_url=server.base_url) as client:
            for _ in range(20):
                assert client.get("/ready").json() == {"status": "ready"}
        postgres_pid = int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
        children = serving_processes(server)
        output = server.stop(signal.SIGTERM)
    assert server.process.returncode == 0, output
    assert all(process_gone(child.pid) for child in children)  # gone, or zombies
    assert process_gone(postgres_pid)
    # The workers run once, in their own process, not in each server process.
    assert output.count('"message": "workers started"') == 1, output
    assert '"message": "request"' in output  # each process logs as the first did


def serving_processes(server: Server) -> list[psutil.Process]:
    """The server processes `serve` started for WEB_CONCURRENCY > 1."""
    supervisor = psutil.Process(server.process.pid)
    return [p for p in supervisor.children() if "spawn_main" in " ".join(p.cmdline())]


def worker_processes(server: Server) -> list[psutil.Process]:
    """The `python -m app worker` children of a server."""
    parent = psutil.Process(server.process.pid)
    found = []
    for child in parent.children():
        try:
            if child.cmdline()[-2:] == ["app", "worker"]:
                found.append(child)
        except (psutil.ZombieProcess, psutil.NoSuchProcess):
            continue  # a killed worker not reaped yet
    return found


@contextmanager
def serving_with_workers(
    db_server: DatabaseServer, tmp_path: Path, name: str
) -> Iterator[tuple[Server, psutil.Process]]:
    """`serve` on a fresh database, ready, with its worker process started."""
    with (
        db_server.fresh(name) as url,
        serve(free_port(), cli_env(DATABASE_URL=url, DATA_DIR=str(tmp_path))) as server,
    ):
        server.wait_until_ready()
        [worker] = wait_until(lambda: worker_processes(server), what="a worker process")
        wait_until(lambda: '"message": "workers started"' in server.output(), what="workers")
        yield server, worker


def test_the_workers_run_in_a_process_of_their_own_started_again_if_it_dies(
    db_server: DatabaseServer, tmp_path: Path
) -> None:
    with serving_with_workers(db_server, tmp_path, "workers") as (server, worker):
        worker.kill()
        [again] = wait_until(
            lambda: [p for p in worker_processes(server) if p.pid != worker.pid],
            what="a new worker process",
        )
        wait_until(
            lambda: server.output().count('"message": "workers started"') == 2,
            what="the workers started again",
        )
        assert server.wait_until_ready().status_code == 200  # the server went on serving
        output = server.stop(signal.SIGTERM)
        assert server.process.returncode == 0, output
        assert process_gone(again.pid)  # stopped with the server
    assert '"message": "worker process exited; starting it again"' in output


def test_the_worker_process_yields_the_cpu_to_the_server(
    db_server: DatabaseServer, tmp_path: Path
) -> None:
    with serving_with_workers(db_server, tmp_path, "niceness") as (server, worker):
        assert worker.nice() == NICENESS
        assert psutil.Process(server.process.pid).nice() == 0
        # Its session's scheduling group too, where the kernel groups sessions.
        grouped = Path("/proc/sys/kernel/sched_autogroup_enabled")
        if grouped.exists() and grouped.read_text().strip() == "1":
            autogroup = Path(f"/proc/{worker.pid}/autogroup").read_text()
            assert autogroup.split()[-1] == str(NICENESS), autogroup


def test_a_worker_whose_server_was_killed_stops(db_server: DatabaseServer, tmp_path: Path) -> None:
    with serving_with_workers(db_server, tmp_path, "orphan") as (server, worker):
        server.process.kill()  # no chance to stop its child
        server.process.wait(30)
        assert process_gone(worker.pid)
        assert '"the server that started this worker is gone; stopping"' in server.output()


@pytest.mark.parametrize("killed", ["while serving", "while they start"])
def test_server_processes_whose_serve_was_killed_stop(
    db_server: DatabaseServer, tmp_path: Path, killed: str
) -> None:
    env = cli_env(DATA_DIR=str(tmp_path), HOST="127.0.0.1", WEB_CONCURRENCY="2")
    with (
        db_server.fresh("orphaned_servers") as url,
        serve(free_port(), {**env, "DATABASE_URL": url}) as server,
    ):
        if killed == "while serving":
            server.wait_until_ready()
        # else as soon as both exist: still importing the app, their parent soon another
        serving = wait_until(
            lambda: found if len(found := serving_processes(server)) == 2 else [],
            what="two server processes",
        )
        server.process.kill()  # no chance to stop its children
        server.process.wait(30)
        assert all(process_gone(child.pid) for child in serving)
        output = server.output()
    assert output.count('"the server that started this process is gone; stopping"') == 2, output


def _tables_and_indexes(url: str) -> tuple[set[str], set[str]]:
    async def query() -> tuple[set[str], set[str]]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as c:
                tables = set(
                    (
                        await c.execute(
                            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                        )
                    ).scalars()
                )
                indexes = set(
                    (
                        await c.execute(
                            text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
                        )
                    ).scalars()
                )
                return tables, indexes
        finally:
            await engine.dispose()

    return asyncio.run(query())


def test_migrate_uses_database_url(db_server: DatabaseServer, tmp_path: Path) -> None:
    with db_server.fresh("cli") as url:
        # Given as a hosting provider would: plain postgresql:// without the driver.
        plain = url.replace("postgresql+asyncpg://", "postgresql://")
        result = run_cli("migrate", env=cli_env(DATABASE_URL=plain, DATA_DIR=str(tmp_path)))
        assert result.returncode == 0, result.stdout + result.stderr
        tables, indexes = _tables_and_indexes(url)
        assert TEN_TABLES <= tables
        assert {
            "uq_managers_email_lower",
            "ix_tickets_search_vector",
            "ix_standby_queue_items_pending",
        } <= indexes
        # A second run finds nothing to do and succeeds.
        assert (
            run_cli("migrate", env=cli_env(DATABASE_URL=plain, DATA_DIR=str(tmp_path))).returncode
            == 0
        )
    assert not (tmp_path / "pgdata").exists()  # no embedded server was started


def test_production_refuses_to_start_with_one_line_per_problem(tmp_path: Path) -> None:
    """Nothing set but APP_ENV: every problem said at once, each naming its variable,
    and no embedded PostgreSQL started inside the container."""
    result = run_cli("migrate", env=cli_env(APP_ENV="production", DATA_DIR=str(tmp_path)))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    named = [line.removeprefix("configuration error: ").split()[0] for line in lines]
    assert named == ["DATABASE_URL", "PUBLIC_BASE_URL", "SMTP_HOST", "SECRET_KEY", "ENCRYPTION_KEY"]
    assert not (tmp_path / "pgdata").exists()


def test_a_bad_setting_is_named(tmp_path: Path) -> None:
    result = run_cli("migrate", env=cli_env(PORT="not-a-port", DATA_DIR=str(tmp_path)))
    assert result.returncode == 2
    assert "PORT" in result.stderr


REPLICAS = 4


def test_replicas_starting_together_migrate_once(db_server: DatabaseServer, tmp_path: Path) -> None:
    """Four `migrate`s at once on an empty database: one takes the advisory lock and
    migrates, the others wait and find nothing to do; all succeed. (Without the lock
    they create the same tables at once and all but one fail.)"""
    import subprocess
    import sys

    from tests.processes import PROJECT_ROOT

    with db_server.fresh("replicas") as url:
        env = cli_env(DATABASE_URL=url, DATA_DIR=str(tmp_path))
        started = [
            subprocess.Popen(
                [sys.executable, "-m", "app", "migrate"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(REPLICAS)
        ]
        outputs = [process.communicate(timeout=180) for process in started]
        assert [p.returncode for p in started] == [0] * REPLICAS, outputs
        tables, _ = _tables_and_indexes(url)
        assert TEN_TABLES <= tables

        async def versions() -> list[str]:
            engine = create_async_engine(url, poolclass=NullPool)
            try:
                async with engine.connect() as connection:
                    rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
                    return [row[0] for row in rows]
            finally:
                await engine.dispose()

        assert len(asyncio.run(versions())) == 1
