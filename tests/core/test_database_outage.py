"""The database goes away: every request answers 503 `database_unavailable` within
seconds (never a hang, never a 500), the app recovers by itself, and every report
that got a 201 is stored.

The PostgreSQL here is this module's own (initdb in a temp folder, a loopback TCP
port), so stopping it disturbs no other test.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
from fastapi import FastAPI
from pgserver._commands import POSTGRES_BIN_PATH
from pgserver.utils import ensure_prefix_permissions, ensure_user_exists
from sqlalchemy import literal_column, select, text

from app.core.config import Settings, normalize_database_url
from app.core.database import make_engine
from app.core.deps import SessionDep
from app.core.direct import compile_query
from app.main import create_app
from tests.conftest import free_port
from tests.database import DatabaseServer
from tests.processes import cli_env, run_cli, serve, wait_until
from tests.workers.helpers import query

# A request while the database is away must be answered within this (the live test
# sets the pool and connect timeouts to 2 s; a refused connection answers at once).
ANSWER_DEADLINE = 5.0
# A frozen server is given up on by the client's own timeouts only (here a 3 s command
# timeout on the pre-ping, then up to 2 s closing the connection).
FROZEN_ANSWER_DEADLINE = 8.0
# The client's own limit: past it a request counts as hanging.
CLIENT_TIMEOUT = 15.0


class Cluster:
    """A PostgreSQL server in `root`, listening on 127.0.0.1 only (no Unix socket)."""

    def __init__(self, root: Path) -> None:
        self.pgdata = root / "pgdata"
        self.log = root / "postgres.log"
        self.port = free_port()
        # initdb and postgres refuse to run as root; pgserver runs them as its own user.
        self.user = "pgserver" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        # pg_ctl's children inherit its stdout: a file, never a pipe that stays open.
        with (self.pgdata.parent / f"{program}.out").open("w+") as out:
            result = subprocess.run(
                [str(POSTGRES_BIN_PATH / program), *args],
                user=self.user,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=60,
                check=False,
            )
            out.seek(0)
            assert result.returncode == 0, f"{program} failed:\n{out.read()}\n{self._log()}"

    def _log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def init(self) -> None:
        self.pgdata.mkdir()
        self.log.touch()
        if self.user is not None:
            entry = ensure_user_exists(self.user)
            assert entry is not None
            ensure_prefix_permissions(self.pgdata)
            for path in (self.pgdata, self.log):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "--no-sync")

    def start(self) -> None:
        # fsync=off for speed: what is committed survives a crash of PostgreSQL (the
        # kernel has the WAL), only not one of the machine, which no test makes.
        options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories= -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.pgdata), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "-t", "30", "stop")

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Every process of the server stopped (SIGSTOP): connections stay open, the
        kernel still accepts new ones, nothing answers."""
        postmaster = self.postmaster()
        assert postmaster is not None
        processes = [postmaster, *postmaster.children(recursive=True)]
        for process in processes:
            process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            for process in processes:
                process.send_signal(signal.SIGCONT)

    def is_running(self) -> bool:
        return self.postmaster() is not None

    def postmaster(self) -> psutil.Process | None:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            process = psutil.Process(int(pid_file.read_text().split()[0]))
        except (FileNotFoundError, IndexError, ValueError, psutil.NoSuchProcess):
            return None
        return process if process.is_running() else None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    server = Cluster(tmp_path_factory.mktemp("outage"))
    server.init()
    server.start()
    try:
        yield server
    finally:
        if server.is_running():
            server.stop("immediate")


@pytest.fixture
def running(cluster: Cluster) -> Cluster:
    """The cluster, started again if an earlier test left it stopped."""
    if not cluster.is_running():
        cluster.start()
    return cluster


def _settings(tmp_path: Path, url: str, **overrides: object) -> Settings:
    return Settings(
        DATABASE_URL=url,
        DATA_DIR=tmp_path,
        SECRET_KEY=secrets.token_urlsafe(48),
        ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        WORKERS_ENABLED=False,
        **overrides,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: an unhandled error is the 500 a client would get.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://tracker.test") as c:
            yield c


@asynccontextmanager
async def _app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real app on its own engine (made from `settings` like in production)."""
    engine = make_engine(normalize_database_url(str(settings.DATABASE_URL)), settings)
    app = create_app(settings, engine=engine)
    try:
        async with _client(app) as client:
            yield app, client
    finally:
        await engine.dispose()


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {
        "detail": "The database does not answer.",
        "code": "database_unavailable",
    }
    assert response.headers["Retry-After"] == "5"
    assert response.headers["X-Request-ID"]  # answered inside the middleware, not past it


async def _timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    async with asyncio.timeout(CLIENT_TIMEOUT):  # a hang fails the test, soon
        response = await request
    return response, time.monotonic() - started


# --- each timeout and each kind of failure, in-process ---------------------------


async def test_a_refused_connection_is_a_503_in_one_warning_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    closed_port = free_port()  # nothing listens there
    settings = _settings(tmp_path, f"postgresql://postgres@127.0.0.1:{closed_port}/postgres")
    # A route on the session, and the status link on the direct pool.
    for path in ("/api/v1/public/boards/some-board", f"/api/v1/public/tickets/{uuid.uuid4()}"):
        caplog.clear()
        async with _app(settings) as (_, client):
            with caplog.at_level(logging.WARNING):
                response, took = await _timed(client.get(path))
        _assert_unavailable(response)
        assert took < ANSWER_DEADLINE
        [record] = [r for r in caplog.records if r.getMessage() == "database unavailable"]
        assert record.levelno == logging.WARNING and record.exc_info is None
        assert record.__dict__["error"] == "ConnectionRefusedError"
        assert not [r for r in caplog.records if r.exc_info]  # no traceback anywhere


async def test_a_server_that_never_answers_is_a_503_after_the_connect_timeout(
    tmp_path: Path,
) -> None:
    # A socket that listens but never accepts: the kernel completes the TCP handshake,
    # then nothing answers the startup message (a frozen server, a dropped network).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        settings = _settings(
            tmp_path,
            f"postgresql://postgres@127.0.0.1:{port}/postgres",
            DB_CONNECT_TIMEOUT_SECONDS=1,
        )
        async with _app(settings) as (_, client):
            response, took = await _timed(client.get("/api/v1/public/boards/some-board"))
    _assert_unavailable(response)
    assert 0.9 <= took < ANSWER_DEADLINE


async def test_a_full_pool_is_a_503_after_the_pool_timeout(
    running: Cluster, tmp_path: Path
) -> None:
    settings = _settings(
        tmp_path, running.url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0, DB_POOL_TIMEOUT_SECONDS=0.5
    )
    holding, release = asyncio.Event(), asyncio.Event()
    async with _app(settings) as (app, client):

        @app.get("/test/hold")
        async def hold(session: SessionDep) -> dict[str, int]:
            value = await session.scalar(text("SELECT 1"))  # checks out the only connection
            holding.set()
            await release.wait()
            return {"value": int(value or 0)}

        held = asyncio.create_task(client.get("/test/hold"))
        try:
            async with asyncio.timeout(30):
                await holding.wait()
            response, took = await _timed(client.get("/api/v1/public/boards/some-board"))
        finally:
            release.set()
        assert (await held).status_code == 200
        after = await client.get("/ready")
    _assert_unavailable(response)
    assert 0.4 <= took < ANSWER_DEADLINE
    assert after.status_code == 200  # the connection went back to the pool


async def test_a_full_direct_pool_is_a_503_after_the_pool_timeout(
    running: Cluster, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, running.url, DB_READ_POOL_SIZE=1, DB_POOL_TIMEOUT_SECONDS=0.5)
    async with _app(settings) as (app, client):
        status_link = f"/api/v1/public/tickets/{uuid.uuid4()}"
        async with app.state.direct.pool.acquire():  # the direct pool's only connection
            response, took = await _timed(client.get(status_link))
        # The connection went back to the pool, and the next read has it.
        after = await app.state.direct.fetch(compile_query(select(literal_column("1"))))
    _assert_unavailable(response)
    assert 0.4 <= took < ANSWER_DEADLINE
    assert [tuple(row) for row in after] == [(1,)]


async def test_a_statement_over_the_timeout_is_a_503(running: Cluster, tmp_path: Path) -> None:
    settings = _settings(tmp_path, running.url, DB_STATEMENT_TIMEOUT_SECONDS=0.5)
    async with _app(settings) as (app, client):

        @app.get("/test/slow")
        async def slow(session: SessionDep) -> None:
            await session.execute(text("SELECT pg_sleep(30)"))

        @app.get("/test/limit")
        async def limit(session: SessionDep) -> dict[str, str]:
            return {"statement_timeout": str(await session.scalar(text("SHOW statement_timeout")))}

        response, took = await _timed(client.get("/test/slow"))
        shown = await client.get("/test/limit")
    _assert_unavailable(response)
    assert took < ANSWER_DEADLINE
    assert shown.json() == {"statement_timeout": "500ms"}  # and the connection still works


async def test_a_frozen_server_is_a_503_within_seconds(running: Cluster, tmp_path: Path) -> None:
    """Nothing is refused or reset: only the client's timeouts (connect, command) end
    the wait, for requests on pooled connections and on new ones alike."""
    settings = _settings(
        tmp_path,
        running.url,
        DB_STATEMENT_TIMEOUT_SECONDS=1,
        DB_CONNECT_TIMEOUT_SECONDS=1,
        DB_POOL_TIMEOUT_SECONDS=1,
        DB_POOL_SIZE=2,
        DB_MAX_OVERFLOW=0,
    )
    async with _app(settings) as (app, client):

        @app.get("/test/ping")
        async def ping(session: SessionDep) -> dict[str, int]:
            return {"value": int(await session.scalar(text("SELECT 1")) or 0)}

        warm = await asyncio.gather(*(client.get("/test/ping") for _ in range(2)))
        assert [r.status_code for r in warm] == [200, 200]  # connections wait in the pool
        with running.frozen():
            answers = await asyncio.gather(*(_timed(client.get("/test/ping")) for _ in range(4)))
        after = await client.get("/test/ping")
    for response, took in answers:
        _assert_unavailable(response)
        assert took < FROZEN_ANSWER_DEADLINE
    assert after.status_code == 200


async def test_a_commit_that_fails_is_a_503_not_a_201(running: Cluster, tmp_path: Path) -> None:
    """The session dependency commits after the route returned, before the answer is
    sent: a commit that fails must reach the 503 handler, not be lost after a 201."""
    settings = _settings(tmp_path, running.url)
    async with _app(settings) as (app, client):

        @app.post("/test/doomed", status_code=201)
        async def doomed(session: SessionDep) -> dict[str, bool]:
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
            admin = await asyncpg.connect(running.url)
            try:  # ends this request's backend and waits (up to 10 s) until it is gone
                assert await admin.fetchval("SELECT pg_terminate_backend($1, 10000)", pid)
            finally:
                await admin.close()
            return {"created": True}

        response, _ = await _timed(client.post("/test/doomed"))
        again = await client.get("/ready")
    _assert_unavailable(response)
    assert again.status_code == 200  # the pool replaced the dead connection by itself


async def test_other_errors_stay_500(running: Cluster, tmp_path: Path) -> None:
    """Only a database that does not answer is a 503: a statement that fails, or a
    refused connection to something else than the database, is still our bug."""
    settings = _settings(tmp_path, running.url)
    async with _app(settings) as (app, client):

        @app.get("/test/failing-statement")
        async def failing_statement(session: SessionDep) -> None:
            await session.execute(text("SELECT 1/0"))

        @app.get("/test/smtp-down")
        async def smtp_down() -> None:
            raise ConnectionRefusedError(111, "Connection refused")

        for path in ("/test/failing-statement", "/test/smtp-down"):
            response = await client.get(path)
            assert response.status_code == 500, path
            assert response.json()["code"] == "internal_error"


# --- PostgreSQL restarted under load, against the real server process -----------


@dataclass
class Answer:
    started: float
    took: float
    status: int | None  # None: no answer at all (connection error, client timeout)
    code: str | None
    uuid: str | None
    retry_after: str | None


class PublicFormLoad:
    """Threads posting the public form as fast as the server answers and reading each
    stored report's status link, each answer kept."""

    def __init__(self, url: str, threads: int = 4, per_thread: int = 5000) -> None:
        self.url = url
        self.per_thread = per_thread
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._post, args=(n,), daemon=True) for n in range(threads)
        ]

    def __enter__(self) -> PublicFormLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(CLIENT_TIMEOUT + 5)
        assert not any(t.is_alive() for t in self._threads), "a client thread is stuck"

    def _post(self, n: int) -> None:
        """Submits reports; after each one stored, reads its status link (the direct pool
        goes through the restart too)."""
        status_links = self.url.split("/api/v1/")[0] + "/api/v1/public/tickets/"
        # trust_env=False: no proxy from the environment, loopback only.
        with httpx.Client(timeout=CLIENT_TIMEOUT, trust_env=False) as client:
            for i in range(self.per_thread):
                if self._stop.is_set():
                    return
                report = {
                    "title": f"Outage report {n}-{i}",
                    "description": "Sent while PostgreSQL restarts.",
                    "email": f"reporter{n}@example.org",
                }
                answer = self._send(client, "POST", self.url, json=report)
                if answer.status == 201 and answer.uuid:
                    self._send(client, "GET", status_links + answer.uuid)

    def _send(self, client: httpx.Client, method: str, url: str, **kw: object) -> Answer:
        started = time.monotonic()
        try:
            response = client.request(method, url, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            answer = Answer(started, time.monotonic() - started, None, repr(exc), None, None)
        else:
            took = time.monotonic() - started
            try:
                body = response.json()
            except ValueError:  # e.g. a plain-text 500
                body = {"code": response.text[:200]}
            answer = Answer(
                started,
                took,
                response.status_code,
                body.get("code"),
                body.get("uuid") if method == "POST" else None,
                response.headers.get("Retry-After"),
            )
        with self._lock:
            self.answers.append(answer)
        return answer

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)

    def started_after(self, moment: float) -> list[Answer]:
        return [a for a in self.snapshot() if a.started >= moment]


# fast: what a restart by the operator does (sessions ended, a checkpoint); immediate:
# a crash (no goodbye to the clients, recovery from the WAL at the next start).
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restarted_under_public_form_load(
    running: Cluster, mode: str, tmp_path: Path
) -> None:
    server_admin = DatabaseServer(running.url)
    database = server_admin.url_for(server_admin.create("live"))  # goes with the cluster
    env = cli_env(
        DATABASE_URL=database,
        DATA_DIR=str(tmp_path / "data"),
        SECRET_KEY=secrets.token_urlsafe(48),
        ENCRYPTION_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        PUBLIC_BASE_URL="http://tracker.example.com",
        PUBLIC_SUBMIT_RATE_LIMIT="100000/minute",
        WORKERS_ENABLED="true",  # as deployed: the workers lose the database too
        DB_POOL_TIMEOUT_SECONDS="2",
        DB_CONNECT_TIMEOUT_SECONDS="2",
        DB_STATEMENT_TIMEOUT_SECONDS="5",
    )
    created = run_cli(
        "create-manager",
        *("--email", "boss@example.com", "--password", "long enough secret", "--name", "Boss"),
        "--verified",
        env=env,
    )
    assert created.returncode == 0, created.stderr

    with serve(free_port(), env) as server:
        server.wait_until_ready()
        api = httpx.Client(base_url=f"{server.base_url}/api/v1", timeout=30, trust_env=False)
        token = api.post(
            "/auth/login", json={"email": "boss@example.com", "password": "long enough secret"}
        ).json()["access_token"]
        board = api.post(
            "/boards", json={"name": "Outage"}, headers={"Authorization": f"Bearer {token}"}
        ).json()
        form = f"{server.base_url}/api/v1/public/boards/{board['public_id']}/tickets"

        with PublicFormLoad(form) as load:
            wait_until(
                lambda: sum(a.status == 201 for a in load.snapshot()) >= 20,
                deadline=30,
                what="20 reports stored before the outage",
            )
            running.stop(mode)
            down = time.monotonic()
            wait_until(
                lambda: len(load.started_after(down)) >= 20,
                deadline=30,
                what="20 answers while PostgreSQL is down",
            )
            ready_down = httpx.get(f"{server.base_url}/ready", timeout=CLIENT_TIMEOUT)

            starting = time.monotonic()
            running.start()
            first_201 = wait_until(
                lambda: min(
                    (a.started + a.took for a in load.started_after(starting) if a.status == 201),
                    default=None,
                ),
                deadline=30,
                what="a 201 again after PostgreSQL is back",
            )
            wait_until(
                lambda: sum(a.status == 201 for a in load.started_after(first_201)) >= 20,
                deadline=30,
                what="20 more reports stored after the recovery",
            )
        ready_up = httpx.get(f"{server.base_url}/ready", timeout=CLIENT_TIMEOUT)
        output = server.stop()

    answers = load.snapshot()
    down_answers = [a for a in answers if down <= a.started and a.started + a.took < starting]

    # While PostgreSQL is down: 503 database_unavailable, within seconds, every time.
    assert down_answers
    for answer in down_answers:
        assert (answer.status, answer.code) == (503, "database_unavailable"), answer
        assert answer.retry_after == "5", answer
    assert all(a.took < ANSWER_DEADLINE for a in down_answers)
    # Around the restart too: nothing but 201, a status link's 200 and 503, none
    # hanging, no 500; and the status links answer again after the recovery.
    expected = ((201, None), (200, None), (503, "database_unavailable"))
    unexpected = [a for a in answers if (a.status, a.code) not in expected]
    assert not unexpected, unexpected[:5]
    assert max(a.took for a in answers) < ANSWER_DEADLINE
    assert any(a.status == 200 and a.started > first_201 for a in answers)
    assert ready_down.status_code == 503
    assert ready_down.json()["code"] == "database_unavailable"
    assert ready_up.status_code == 200

    # Every report that got a 201 is in the database.
    stored = {str(row[0]) for row in query(database, "SELECT uuid FROM tickets")}
    acknowledged = {str(a.uuid) for a in answers if a.status == 201}
    assert len(acknowledged) == sum(a.status == 201 for a in answers)
    assert acknowledged <= stored, sorted(acknowledged - stored)[:5]

    # One warning line per failed request, no traceback (the workers may log theirs).
    assert '"database unavailable"' in output
    assert "Exception in ASGI application" not in output
    assert '"unhandled error"' not in output
